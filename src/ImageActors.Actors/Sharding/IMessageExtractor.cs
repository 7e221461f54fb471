namespace ImageActors.Actors.Sharding;

/// <summary>Tells an <see cref="EntityRegion"/> which entity a message is for, and what to deliver to it.</summary>
public interface IMessageExtractor
{
    /// <summary>The entity id, or null when the message is not for an entity (it is then unhandled).</summary>
    string? EntityId(object message);

    /// <summary>The message the entity receives (often the message itself, or the payload of an envelope).</summary>
    object EntityMessage(object message);
}

/// <summary>A message addressed to one entity.</summary>
/// <param name="EntityId">The entity.</param>
/// <param name="Message">What it receives.</param>
public sealed record EntityEnvelope(string EntityId, object Message);

/// <summary>Extracts <see cref="EntityEnvelope"/>s, and messages implementing <see cref="IEntityMessage"/>.</summary>
public sealed class EnvelopeMessageExtractor : IMessageExtractor
{
    /// <summary>The one instance.</summary>
    public static EnvelopeMessageExtractor Instance { get; } = new();

    /// <inheritdoc />
    public string? EntityId(object message) => message switch
    {
        EntityEnvelope e => e.EntityId,
        IEntityMessage m => m.EntityId,
        _ => null,
    };

    /// <inheritdoc />
    public object EntityMessage(object message) => message is EntityEnvelope e ? e.Message : message;
}

/// <summary>A message that names its entity itself.</summary>
public interface IEntityMessage
{
    /// <summary>The entity it is for.</summary>
    string EntityId { get; }
}

/// <summary>Sent by an entity to its region to stop idle-style: the region buffers new messages until it stopped.</summary>
/// <param name="StopMessage">The message the region sends the entity to make it stop (e.g. <see cref="PoisonPill"/>).</param>
public sealed record Passivate(object StopMessage);
