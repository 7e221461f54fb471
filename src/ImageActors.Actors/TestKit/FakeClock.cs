namespace ImageActors.Actors.TestKit;

/// <summary>
/// A clock that only moves when told to. Timers created from it (actor timers, the scheduler,
/// <c>Ask</c> timeouts, passivation) fire during <see cref="Advance"/>, in due order, on the
/// calling thread, so tests are deterministic.
/// </summary>
public sealed class FakeClock : TimeProvider
{
    private readonly Lock _gate = new();
    private readonly List<FakeTimer> _timers = [];
    private readonly List<(int Count, TaskCompletionSource Signal)> _timerWaiters = [];
    private DateTimeOffset _now;
    private long _elapsedTicks;
    private long _sequence;

    /// <summary>A clock starting at <paramref name="start"/> (default 2026-01-01 UTC).</summary>
    public FakeClock(DateTimeOffset? start = null) => _now = start ?? new DateTimeOffset(2026, 1, 1, 0, 0, 0, TimeSpan.Zero);

    /// <inheritdoc />
    public override DateTimeOffset GetUtcNow()
    {
        lock (_gate)
        {
            return _now;
        }
    }

    /// <inheritdoc />
    public override long GetTimestamp() => Interlocked.Read(ref _elapsedTicks);

    /// <inheritdoc />
    public override long TimestampFrequency => TimeSpan.TicksPerSecond;

    /// <inheritdoc />
    public override TimeZoneInfo LocalTimeZone => TimeZoneInfo.Utc;

    /// <summary>Timers currently waiting to fire.</summary>
    public int PendingTimers
    {
        get
        {
            lock (_gate)
            {
                return _timers.Count;
            }
        }
    }

    /// <summary>Completes when at least <paramref name="count"/> timers are waiting: the wait point before an <see cref="Advance"/> that must fire them.</summary>
    public Task WhenPendingTimersAtLeast(int count)
    {
        lock (_gate)
        {
            if (_timers.Count >= count)
            {
                return Task.CompletedTask;
            }

            var signal = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
            _timerWaiters.Add((count, signal));
            return signal.Task;
        }
    }

    /// <inheritdoc />
    public override ITimer CreateTimer(TimerCallback callback, object? state, TimeSpan dueTime, TimeSpan period)
    {
        ArgumentNullException.ThrowIfNull(callback);
        var timer = new FakeTimer(this, callback, state);
        timer.Change(dueTime, period);
        return timer;
    }

    /// <summary>Moves time forward by <paramref name="delta"/>, firing every timer that falls due, in order.</summary>
    public void Advance(TimeSpan delta)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(delta, TimeSpan.Zero);
        long target;
        lock (_gate)
        {
            target = _elapsedTicks + delta.Ticks;
        }

        while (true)
        {
            FakeTimer? next = null;
            lock (_gate)
            {
                foreach (var t in _timers)
                {
                    if (t.DueTicks <= target && (next is null || t.DueTicks < next.DueTicks || (t.DueTicks == next.DueTicks && t.Order < next.Order)))
                    {
                        next = t;
                    }
                }

                if (next is null)
                {
                    _now += TimeSpan.FromTicks(target - _elapsedTicks);
                    Interlocked.Exchange(ref _elapsedTicks, target);
                    return;
                }

                if (next.DueTicks > _elapsedTicks)
                {
                    _now += TimeSpan.FromTicks(next.DueTicks - _elapsedTicks);
                    Interlocked.Exchange(ref _elapsedTicks, next.DueTicks);
                }

                if (next.PeriodTicks > 0)
                {
                    next.DueTicks += next.PeriodTicks;
                    next.Order = ++_sequence;
                }
                else
                {
                    _timers.Remove(next);
                }
            }

            next.Fire();
        }
    }

    private void Schedule(FakeTimer timer, TimeSpan dueTime, TimeSpan period)
    {
        var fireNow = false;
        lock (_gate)
        {
            _timers.Remove(timer);
            if (dueTime == Timeout.InfiniteTimeSpan)
            {
                return;
            }

            timer.PeriodTicks = period == Timeout.InfiniteTimeSpan || period <= TimeSpan.Zero ? 0 : period.Ticks;
            if (dueTime <= TimeSpan.Zero)
            {
                // Like a real timer, a zero due time fires at once (then repeats on the fake clock).
                fireNow = true;
                if (timer.PeriodTicks > 0)
                {
                    timer.DueTicks = _elapsedTicks + timer.PeriodTicks;
                    timer.Order = ++_sequence;
                    _timers.Add(timer);
                }
            }
            else
            {
                timer.DueTicks = _elapsedTicks + dueTime.Ticks;
                timer.Order = ++_sequence;
                _timers.Add(timer);
            }

            for (var i = _timerWaiters.Count - 1; i >= 0; i--)
            {
                if (_timers.Count >= _timerWaiters[i].Count)
                {
                    _timerWaiters[i].Signal.TrySetResult();
                    _timerWaiters.RemoveAt(i);
                }
            }
        }

        if (fireNow)
        {
            ThreadPool.QueueUserWorkItem(static t => t.Fire(), timer, preferLocal: false);
        }
    }

    private void Remove(FakeTimer timer)
    {
        lock (_gate)
        {
            _timers.Remove(timer);
        }
    }

    private sealed class FakeTimer(FakeClock clock, TimerCallback callback, object? state) : ITimer
    {
        private volatile bool _disposed;

        public long DueTicks { get; set; }

        public long PeriodTicks { get; set; }

        public long Order { get; set; }

        public void Fire()
        {
            if (!_disposed)
            {
                callback(state);
            }
        }

        public bool Change(TimeSpan dueTime, TimeSpan period)
        {
            if (_disposed)
            {
                return false;
            }

            clock.Schedule(this, dueTime, period);
            return true;
        }

        public void Dispose()
        {
            _disposed = true;
            clock.Remove(this);
        }

        public ValueTask DisposeAsync()
        {
            Dispose();
            return ValueTask.CompletedTask;
        }
    }
}
