namespace ImageActors.Actors;

/// <summary>Stops the actor after the messages enqueued before it were processed.</summary>
public sealed class PoisonPill
{
    private PoisonPill() { }

    /// <summary>The one instance.</summary>
    public static PoisonPill Instance { get; } = new();
}

/// <summary>Makes the actor fail with <see cref="ActorKilledException"/> (its supervisor decides what follows; by default it stops).</summary>
public sealed class Kill
{
    private Kill() { }

    /// <summary>The one instance.</summary>
    public static Kill Instance { get; } = new();
}

/// <summary>Delivered to a watcher when a watched actor stopped.</summary>
/// <param name="ActorRef">The actor that stopped.</param>
public sealed record Terminated(IActorRef ActorRef);

/// <summary>A message that could not be delivered, published on the event stream.</summary>
/// <param name="Message">The message.</param>
/// <param name="Sender">Its sender, if any.</param>
/// <param name="Recipient">The actor it was for.</param>
public sealed record DeadLetter(object Message, IActorRef? Sender, IActorRef Recipient);

/// <summary>A message no handler of its recipient accepted, published on the event stream.</summary>
/// <param name="Message">The message.</param>
/// <param name="Sender">Its sender, if any.</param>
/// <param name="Recipient">The actor that did not handle it.</param>
public sealed record UnhandledMessage(object Message, IActorRef? Sender, IActorRef Recipient);

/// <summary>An error the kernel caught outside normal supervision (e.g. a throwing PostStop), published on the event stream.</summary>
/// <param name="Source">The actor concerned.</param>
/// <param name="Cause">The exception.</param>
/// <param name="Message">What was happening.</param>
public sealed record ActorError(ActorPath Source, Exception Cause, string Message);

/// <summary>Replies that carry success or failure; an <c>Ask</c> answered with <see cref="Failure"/> throws its cause.</summary>
public static class Status
{
    /// <summary>The request succeeded.</summary>
    /// <param name="Value">An optional result.</param>
    public sealed record Success(object? Value);

    /// <summary>The request failed.</summary>
    /// <param name="Cause">Why.</param>
    public sealed record Failure(Exception Cause);
}

/// <summary>The signature of a behaviour installed with <see cref="IActorContext.Become"/>: returns false when the message was not handled.</summary>
public delegate bool Receive(object message);
