namespace ImageActors.Actors;

/// <summary>
/// Kernel messages; they overtake user messages in the mailbox. Each instance is sent to one cell
/// only: it is its own node in that cell's lock-free inbox (<see cref="Next"/>).
/// </summary>
internal abstract class SystemMessage
{
    public SystemMessage? Next { get; set; }
}

internal sealed class CreateActor : SystemMessage;

internal sealed class RecreateActor(Exception cause) : SystemMessage
{
    public Exception Cause { get; } = cause;
}

internal sealed class ResumeActor : SystemMessage;

internal sealed class TerminateActor : SystemMessage;

internal sealed class WatchActor(IInternalActorRef watchee, IInternalActorRef watcher) : SystemMessage
{
    public IInternalActorRef Watchee { get; } = watchee;

    public IInternalActorRef Watcher { get; } = watcher;
}

internal sealed class UnwatchActor(IInternalActorRef watchee, IInternalActorRef watcher) : SystemMessage
{
    public IInternalActorRef Watchee { get; } = watchee;

    public IInternalActorRef Watcher { get; } = watcher;
}

/// <summary>Sent by a stopped actor to its parent and its watchers.</summary>
internal sealed class DeathWatchNotification(IInternalActorRef actor) : SystemMessage
{
    public IInternalActorRef Actor { get; } = actor;
}

/// <summary>Sent by a failed child to its parent, which applies its supervisor strategy.</summary>
internal sealed class ChildFailed(ActorCell child, Exception cause) : SystemMessage
{
    public ActorCell Child { get; } = child;

    public Exception Cause { get; } = cause;
}
