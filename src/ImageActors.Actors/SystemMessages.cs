namespace ImageActors.Actors;

/// <summary>Kernel messages; they overtake user messages in the mailbox.</summary>
internal abstract class SystemMessage;

internal sealed class CreateActor : SystemMessage
{
    public static readonly CreateActor Instance = new();
}

internal sealed class RecreateActor(Exception cause) : SystemMessage
{
    public Exception Cause { get; } = cause;
}

internal sealed class ResumeActor : SystemMessage
{
    public static readonly ResumeActor Instance = new();
}

internal sealed class TerminateActor : SystemMessage
{
    public static readonly TerminateActor Instance = new();
}

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
