namespace ImageActors.Images.Hosting;

/// <summary>The shard region of the image files (one entity per fingerprint), in the actor system's <c>ActorRegistry</c> once the store started.</summary>
public sealed class ImageFilesShardRegion
{
    private ImageFilesShardRegion()
    {
    }
}
