namespace ImageActors.Actors.Scheduling;

/// <summary>An actor's keyed timers.</summary>
public interface ITimerScheduler
{
    /// <summary>Sends <paramref name="message"/> to the actor itself once after <paramref name="delay"/>; replaces a timer with the same key.</summary>
    void StartSingleTimer(object key, object message, TimeSpan delay);

    /// <summary>Sends <paramref name="message"/> to the actor every <paramref name="interval"/>; replaces a timer with the same key.</summary>
    void StartPeriodicTimer(object key, object message, TimeSpan interval);

    /// <summary>Sends <paramref name="message"/> after <paramref name="initialDelay"/>, then every <paramref name="interval"/>.</summary>
    void StartPeriodicTimer(object key, object message, TimeSpan initialDelay, TimeSpan interval);

    /// <summary>Whether a timer with <paramref name="key"/> is active.</summary>
    bool IsTimerActive(object key);

    /// <summary>Cancels the timer with <paramref name="key"/>; a message it already sent is not delivered.</summary>
    void Cancel(object key);

    /// <summary>Cancels every timer.</summary>
    void CancelAll();
}

/// <summary>
/// Timers of one actor. Each start gets a fresh entry; a fired entry is delivered only if it is
/// still the current one for its key, so a cancelled or replaced timer never delivers late.
/// </summary>
internal sealed class TimerScheduler : ITimerScheduler
{
    private readonly ActorCell _owner;
    private readonly Lock _gate = new();
    private readonly Dictionary<object, TimerEntry> _timers = [];

    public TimerScheduler(ActorCell owner) => _owner = owner;

    public void StartSingleTimer(object key, object message, TimeSpan delay) => Start(key, message, delay, Timeout.InfiniteTimeSpan);

    public void StartPeriodicTimer(object key, object message, TimeSpan interval) => StartPeriodicTimer(key, message, interval, interval);

    public void StartPeriodicTimer(object key, object message, TimeSpan initialDelay, TimeSpan interval)
    {
        ArgumentOutOfRangeException.ThrowIfLessThanOrEqual(interval, TimeSpan.Zero);
        Start(key, message, initialDelay, interval);
    }

    private void Start(object key, object message, TimeSpan delay, TimeSpan period)
    {
        ArgumentNullException.ThrowIfNull(key);
        ArgumentNullException.ThrowIfNull(message);
        var entry = new TimerEntry(this, key, message, period != Timeout.InfiniteTimeSpan);
        lock (_gate)
        {
            if (_timers.Remove(key, out var previous))
            {
                previous.Timer?.Dispose();
            }

            _timers[key] = entry;
        }

        entry.Timer = _owner.System.Settings.Clock.CreateTimer(static s => ((TimerEntry)s!).Fire(), entry, delay < TimeSpan.Zero ? TimeSpan.Zero : delay, period);
    }

    public bool IsTimerActive(object key)
    {
        lock (_gate)
        {
            return _timers.ContainsKey(key);
        }
    }

    public void Cancel(object key)
    {
        lock (_gate)
        {
            if (_timers.Remove(key, out var entry))
            {
                entry.Timer?.Dispose();
            }
        }
    }

    public void CancelAll()
    {
        lock (_gate)
        {
            foreach (var entry in _timers.Values)
            {
                entry.Timer?.Dispose();
            }

            _timers.Clear();
        }
    }

    /// <summary>Called inside the actor: true when the fired entry is still current (a single timer is then removed).</summary>
    internal bool Accept(TimerEntry entry)
    {
        lock (_gate)
        {
            if (!_timers.TryGetValue(entry.Key, out var current) || !ReferenceEquals(current, entry))
            {
                return false;
            }

            if (!entry.Repeating)
            {
                _timers.Remove(entry.Key);
                entry.Timer?.Dispose();
            }

            return true;
        }
    }

    /// <summary>One started timer; it is itself the message put in the mailbox when it fires.</summary>
    internal sealed class TimerEntry(TimerScheduler owner, object key, object message, bool repeating)
    {
        public object Key { get; } = key;

        public object Message { get; } = message;

        public bool Repeating { get; } = repeating;

        public ITimer? Timer { get; set; }

        public void Fire() => owner._owner.Tell(this);
    }
}
