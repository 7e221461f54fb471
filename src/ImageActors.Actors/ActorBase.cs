using ImageActors.Actors.Scheduling;
using ImageActors.Actors.Supervision;

namespace ImageActors.Actors;

/// <summary>
/// The base of every actor. An actor handles one message at a time; its fields are only touched
/// from its own handlers, so they need no locks.
/// </summary>
public abstract class ActorBase
{
    [ThreadStatic]
    private static ActorCell? t_constructing;

    private readonly ActorCell _cell;

    /// <summary>Actors are created by the kernel from <see cref="Props"/>, never with <c>new</c> outside a props factory.</summary>
    protected ActorBase()
    {
        _cell = t_constructing ?? throw new InvalidOperationException(
            $"{GetType().Name} must be created by the actor system (Props.Create), not with 'new' directly.");
        if (this is IWithStash withStash)
        {
            withStash.Stash = _cell.StashStore;
        }
    }

    internal ActorCell Cell => _cell;

    /// <summary>The actor's context: children, watch, timers, behaviour.</summary>
    protected IActorContext Context => _cell;

    /// <summary>The actor's own reference.</summary>
    protected IActorRef Self => _cell;

    /// <summary>The sender of the current message (dead letters when none).</summary>
    protected IActorRef Sender => _cell.Sender;

    /// <summary>The actor's keyed timers.</summary>
    protected ITimerScheduler Timers => _cell.Timers;

    internal static ActorBase Construct(ActorCell cell, Props props)
    {
        var previous = t_constructing;
        t_constructing = cell;
        try
        {
            return props.Factory();
        }
        finally
        {
            t_constructing = previous;
        }
    }

    /// <summary>Called before the first message of the first incarnation.</summary>
    protected internal virtual void PreStart() { }

    /// <summary>Called after the actor stopped (its children have stopped before).</summary>
    protected internal virtual void PostStop() { }

    /// <summary>Called on the failed instance before a restart; by default stops the children and calls <see cref="PostStop"/>.</summary>
    /// <param name="reason">The failure.</param>
    /// <param name="message">The message being handled when it failed (dropped), if any.</param>
    protected internal virtual void PreRestart(Exception reason, object? message)
    {
        foreach (var child in Context.Children)
        {
            Context.Stop(child);
        }

        PostStop();
    }

    /// <summary>Called on the new instance after a restart; by default calls <see cref="PreStart"/>.</summary>
    protected internal virtual void PostRestart(Exception reason) => PreStart();

    /// <summary>
    /// How this actor supervises its children. Null (the default) uses the props' strategy, or
    /// one-for-one restarting on any exception.
    /// </summary>
    protected internal virtual SupervisorStrategy? SupervisorStrategy() => null;

    /// <summary>Called with a message no handler accepted; publishes <see cref="UnhandledMessage"/>.</summary>
    protected virtual void Unhandled(object message) =>
        _cell.System.EventStream.Publish(new UnhandledMessage(message, _cell.CurrentSender, _cell));

    internal void InvokeUnhandled(object message) => Unhandled(message);

    /// <summary>Handles one message; a returned unfinished task suspends the mailbox until it finishes.</summary>
    internal abstract Task? InvokeReceive(object message);

    /// <summary>Work to finish before the first message (persistent actors recover here).</summary>
    internal virtual Task? AfterStart() => null;

    /// <summary>Clears state the kernel keeps for this instance when it is replaced.</summary>
    internal virtual void OnIncarnationEnd() { }
}

/// <summary>An actor with one method receiving every message.</summary>
public abstract class UntypedActor : ActorBase
{
    /// <summary>Handles a message; call <see cref="ActorBase.Unhandled"/> for messages you do not expect.</summary>
    protected abstract void OnReceive(object message);

    internal sealed override Task? InvokeReceive(object message)
    {
        OnReceive(message);
        return null;
    }
}
