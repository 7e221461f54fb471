namespace ImageActors.Actors;

/// <summary>
/// A handle to an actor. The only way to talk to an actor is to send it messages through its
/// reference; the reference stays valid (and sends to dead letters) after the actor stopped.
/// </summary>
public interface IActorRef
{
    /// <summary>The actor's hierarchical path.</summary>
    ActorPath Path { get; }

    /// <summary>
    /// Sends <paramref name="message"/> without waiting. On a full bounded mailbox the message goes
    /// to dead letters; use <see cref="TellAsync"/> to wait for room instead.
    /// </summary>
    void Tell(object message, IActorRef? sender = null);

    /// <summary>
    /// Sends <paramref name="message"/>, waiting for room when the recipient has a full bounded
    /// mailbox (back-pressure). Completes at once for unbounded mailboxes.
    /// </summary>
    ValueTask TellAsync(object message, IActorRef? sender = null, CancellationToken cancellationToken = default)
    {
        Tell(message, sender);
        return ValueTask.CompletedTask;
    }
}

/// <summary>The kernel's side of a reference: system messages and the owning system.</summary>
internal interface IInternalActorRef : IActorRef
{
    ActorSystem System { get; }

    void SendSystem(SystemMessage message);
}

/// <summary>A message together with who sent it. A struct, so the mailbox does not allocate per message.</summary>
internal readonly struct Envelope
{
    public Envelope(object message, IActorRef? sender)
    {
        Message = message;
        Sender = sender;
    }

    public object Message { get; }

    public IActorRef? Sender { get; }
}
