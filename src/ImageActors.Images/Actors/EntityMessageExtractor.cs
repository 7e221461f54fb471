using Akka.Cluster.Sharding;

namespace ImageActors.Images.Actors;

/// <summary>
/// Routes the store's messages to entities: every message to an entity travels in a <see cref="ShardingEnvelope"/>
/// (which sharding unwraps itself), and the entity id's hash picks one of a fixed number of shards.
/// </summary>
internal sealed class EntityMessageExtractor : HashCodeMessageExtractor
{
    /// <summary>Shards per entity type: ten times the largest cluster we plan for, as Akka.NET advises.</summary>
    public const int Shards = 100;

    public EntityMessageExtractor()
        : base(Shards)
    {
    }

    public override string? EntityId(object message) => null;
}
