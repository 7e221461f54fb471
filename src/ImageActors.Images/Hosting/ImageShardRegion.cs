namespace ImageActors.Images.Hosting;

/// <summary>
/// The shard region of the image entities, in the actor system's <c>ActorRegistry</c> once the store started:
/// <c>IRequiredActor&lt;ImageShardRegion&gt;</c> in a host's own actors, or <c>registry.Get&lt;ImageShardRegion&gt;()</c>.
/// </summary>
public sealed class ImageShardRegion
{
    private ImageShardRegion()
    {
    }
}
