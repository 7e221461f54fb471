namespace ImageActors.Images.Hosting;

/// <summary>The shard region of the alias entities, in the actor system's <c>ActorRegistry</c> once the store started.</summary>
public sealed class AliasShardRegion
{
    private AliasShardRegion()
    {
    }
}
