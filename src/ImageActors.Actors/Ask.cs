using System.Runtime.ExceptionServices;

namespace ImageActors.Actors;

/// <summary>Request/response and stopping helpers on references.</summary>
public static class ActorRefExtensions
{
    private static long s_tempCounter;

    /// <summary>
    /// Sends <paramref name="message"/> and waits for the reply. Throws <see cref="AskTimeoutException"/>
    /// when no reply arrives within <paramref name="timeout"/> (measured with the system clock), and
    /// rethrows the cause of a <see cref="Status.Failure"/> reply.
    /// </summary>
    public static async Task<T> Ask<T>(this IActorRef target, object message, TimeSpan timeout, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(target);
        ArgumentNullException.ThrowIfNull(message);
        var clock = (target as IInternalActorRef)?.System.Settings.Clock ?? TimeProvider.System;
        var promise = new PromiseActorRef(target as IInternalActorRef);
        target.Tell(message, promise);
        object reply;
        try
        {
            reply = await promise.Task.WaitAsync(timeout, clock, cancellationToken).ConfigureAwait(false);
        }
        catch (TimeoutException)
        {
            throw new AskTimeoutException(target.Path, timeout, message.GetType());
        }

        if (reply is Status.Failure failure)
        {
            ExceptionDispatchInfo.Capture(failure.Cause).Throw();
        }

        return reply is T typed
            ? typed
            : throw new InvalidCastException($"Ask of {target.Path} expected {typeof(T).Name} but got {reply.GetType().Name}.");
    }

    /// <summary>Sends <see cref="PoisonPill"/> and completes with true when the actor stopped within <paramref name="timeout"/>, false otherwise.</summary>
    public static async Task<bool> GracefulStop(this IActorRef target, TimeSpan timeout, object? stopMessage = null)
    {
        ArgumentNullException.ThrowIfNull(target);
        if (target is not IInternalActorRef internalRef)
        {
            throw new ArgumentException("Only references created by an actor system can be stopped gracefully.", nameof(target));
        }

        var watcher = new PromiseActorRef(internalRef);
        internalRef.SendSystem(new WatchActor(internalRef, watcher));
        target.Tell(stopMessage ?? PoisonPill.Instance);
        try
        {
            await watcher.Task.WaitAsync(timeout, internalRef.System.Settings.Clock).ConfigureAwait(false);
            return true;
        }
        catch (TimeoutException)
        {
            return false;
        }
    }

    /// <summary>A one-shot reference whose first message (or the target's death) completes a task.</summary>
    private sealed class PromiseActorRef(IInternalActorRef? target) : IInternalActorRef
    {
        private readonly TaskCompletionSource<object> _reply = new(TaskCreationOptions.RunContinuationsAsynchronously);

        public Task<object> Task => _reply.Task;

        private ActorPath? _path;

        // Built only when someone looks (dead letters, logs): most asks never need it.
        public ActorPath Path => _path ??= ActorPath.Root / "temp" / ("$" + Interlocked.Increment(ref s_tempCounter).ToString(global::System.Globalization.CultureInfo.InvariantCulture));

        public ActorSystem System => target?.System ?? throw new InvalidOperationException("No actor system.");

        public void Tell(object message, IActorRef? sender = null)
        {
            if (!_reply.TrySetResult(message) && target is not null)
            {
                target.System.PublishDeadLetter(message, sender, this);
            }
        }

        public void SendSystem(SystemMessage message)
        {
            if (message is DeathWatchNotification death)
            {
                _reply.TrySetResult(new Terminated(death.Actor));
            }
        }

        public override string ToString() => Path.ToString();
    }
}
