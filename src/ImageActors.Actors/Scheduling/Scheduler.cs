namespace ImageActors.Actors.Scheduling;

/// <summary>
/// The system scheduler: delivers messages later, once or repeatedly. Time comes from the
/// system's <see cref="TimeProvider"/>, so a fake clock drives it in tests.
/// </summary>
public sealed class Scheduler
{
    private readonly TimeProvider _clock;

    internal Scheduler(TimeProvider clock) => _clock = clock;

    /// <summary>Sends <paramref name="message"/> to <paramref name="receiver"/> after <paramref name="delay"/>.</summary>
    public ICancelable ScheduleTellOnce(TimeSpan delay, IActorRef receiver, object message, IActorRef? sender = null)
    {
        ArgumentNullException.ThrowIfNull(receiver);
        ArgumentNullException.ThrowIfNull(message);
        return new ScheduledTell(_clock, delay, Timeout.InfiniteTimeSpan, receiver, message, sender);
    }

    /// <summary>Sends <paramref name="message"/> after <paramref name="initialDelay"/>, then every <paramref name="interval"/>.</summary>
    public ICancelable ScheduleTellRepeatedly(TimeSpan initialDelay, TimeSpan interval, IActorRef receiver, object message, IActorRef? sender = null)
    {
        ArgumentNullException.ThrowIfNull(receiver);
        ArgumentNullException.ThrowIfNull(message);
        ArgumentOutOfRangeException.ThrowIfLessThanOrEqual(interval, TimeSpan.Zero);
        return new ScheduledTell(_clock, initialDelay, interval, receiver, message, sender);
    }

    /// <summary>Runs <paramref name="action"/> on a pool thread after <paramref name="delay"/> (not inside any actor).</summary>
    public ICancelable ScheduleOnce(TimeSpan delay, Action action)
    {
        ArgumentNullException.ThrowIfNull(action);
        return new ScheduledAction(_clock, delay, action);
    }

    private sealed class ScheduledTell : ICancelable
    {
        private readonly ITimer _timer;
        private readonly IActorRef _receiver;
        private readonly object _message;
        private readonly IActorRef? _sender;
        private readonly bool _once;
        private volatile bool _cancelled;

        public ScheduledTell(TimeProvider clock, TimeSpan due, TimeSpan period, IActorRef receiver, object message, IActorRef? sender)
        {
            _receiver = receiver;
            _message = message;
            _sender = sender;
            _once = period == Timeout.InfiniteTimeSpan;
            _timer = clock.CreateTimer(static s => ((ScheduledTell)s!).Fire(), this, due < TimeSpan.Zero ? TimeSpan.Zero : due, period);
        }

        public bool IsCancellationRequested => _cancelled;

        private void Fire()
        {
            if (_cancelled)
            {
                return;
            }

            if (_once)
            {
                _cancelled = true;
                _timer.Dispose();
            }

            _receiver.Tell(_message, _sender);
        }

        public void Cancel()
        {
            _cancelled = true;
            _timer.Dispose();
        }
    }

    private sealed class ScheduledAction : ICancelable
    {
        private readonly ITimer _timer;
        private readonly Action _action;
        private int _state;

        public ScheduledAction(TimeProvider clock, TimeSpan due, Action action)
        {
            _action = action;
            _timer = clock.CreateTimer(static s => ((ScheduledAction)s!).Fire(), this, due < TimeSpan.Zero ? TimeSpan.Zero : due, Timeout.InfiniteTimeSpan);
        }

        public bool IsCancellationRequested => Volatile.Read(ref _state) == 2;

        private void Fire()
        {
            if (Interlocked.CompareExchange(ref _state, 1, 0) == 0)
            {
                _timer.Dispose();
                _action();
            }
        }

        public void Cancel()
        {
            if (Interlocked.CompareExchange(ref _state, 2, 0) == 0)
            {
                _timer.Dispose();
            }
        }
    }
}
