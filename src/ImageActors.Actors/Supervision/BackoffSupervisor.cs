namespace ImageActors.Actors.Supervision;

/// <summary>When the backoff supervisor restarts its child.</summary>
public enum BackoffMode
{
    /// <summary>When the child stopped (e.g. a persistent actor after a failed write); its failures use the child's normal strategy.</summary>
    OnStop,

    /// <summary>When the child failed: the failure stops it, then it is started again after the delay.</summary>
    OnFailure,
}

/// <summary>Options of a <see cref="BackoffSupervisor"/>.</summary>
/// <param name="ChildProps">The child to keep alive.</param>
/// <param name="ChildName">Its name (the same for every incarnation).</param>
/// <param name="MinBackoff">The first delay.</param>
/// <param name="MaxBackoff">The largest delay before the random factor.</param>
/// <param name="RandomFactor">Jitter: the delay is multiplied by 1 + random·factor (0 for none).</param>
public sealed record BackoffOptions(Props ChildProps, string ChildName, TimeSpan MinBackoff, TimeSpan MaxBackoff, double RandomFactor)
{
    /// <summary>OnStop or OnFailure.</summary>
    public BackoffMode Mode { get; init; } = BackoffMode.OnStop;

    /// <summary>After the child ran this long without stopping, the next delay starts from <see cref="MinBackoff"/> again; null means <see cref="MinBackoff"/>·2, at least.</summary>
    public TimeSpan? ResetBackoffAfter { get; init; }

    /// <summary>The child's supervision in <see cref="BackoffMode.OnStop"/> mode; null for the default.</summary>
    public SupervisorStrategy? ChildStrategy { get; init; }
}

/// <summary>
/// Keeps one child alive, restarting it after a growing delay
/// <c>min(max, min·2^n)·(1 + random·randomFactor)</c>, where n counts the restarts since the child
/// last ran long enough to reset it. Messages sent to the supervisor go to the child (or to dead
/// letters while it is down).
/// </summary>
public sealed class BackoffSupervisor : UntypedActor
{
    private readonly BackoffOptions _options;
    private IActorRef? _child;
    private int _restartCount;
    private int _incarnation;

    private BackoffSupervisor(BackoffOptions options) => _options = options;

    /// <summary>Props of a backoff supervisor.</summary>
    public static Props Props(BackoffOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        ActorPath.ValidateName(options.ChildName);
        ArgumentOutOfRangeException.ThrowIfLessThan(options.MinBackoff, TimeSpan.Zero);
        ArgumentOutOfRangeException.ThrowIfLessThan(options.MaxBackoff, options.MinBackoff);
        ArgumentOutOfRangeException.ThrowIfNegative(options.RandomFactor);
        return Actors.Props.Create(() => new BackoffSupervisor(options));
    }

    /// <summary>The delay before restart number <paramref name="restartCount"/> (0-based); <paramref name="random"/> is in [0, 1).</summary>
    public static TimeSpan CalculateDelay(int restartCount, TimeSpan minBackoff, TimeSpan maxBackoff, double randomFactor, double random)
    {
        var jitter = 1.0 + (random * randomFactor);
        if (restartCount >= 30)
        {
            return maxBackoff * jitter;
        }

        var grown = minBackoff.Ticks * Math.Pow(2, restartCount);
        var capped = Math.Min(maxBackoff.Ticks, grown);
        return TimeSpan.FromTicks((long)(capped * jitter));
    }

    /// <summary>Asks for the current child; the reply is <see cref="CurrentChild"/>.</summary>
    public sealed class GetCurrentChild
    {
        private GetCurrentChild() { }

        /// <summary>The one instance.</summary>
        public static GetCurrentChild Instance { get; } = new();
    }

    /// <summary>The reply to <see cref="GetCurrentChild"/>.</summary>
    /// <param name="Ref">The running child, or null while it is down.</param>
    public sealed record CurrentChild(IActorRef? Ref);

    /// <summary>Asks for the restart count; the reply is <see cref="RestartCount"/>.</summary>
    public sealed class GetRestartCount
    {
        private GetRestartCount() { }

        /// <summary>The one instance.</summary>
        public static GetRestartCount Instance { get; } = new();
    }

    /// <summary>The reply to <see cref="GetRestartCount"/>.</summary>
    /// <param name="Count">Restarts since the last reset.</param>
    /// <param name="NextDelay">The delay the next restart will wait (without jitter).</param>
    public sealed record RestartCount(int Count, TimeSpan NextDelay);

    private sealed record StartChild(int Incarnation);

    private sealed record ResetBackoff(int Incarnation);

    /// <inheritdoc />
    protected internal override SupervisorStrategy? SupervisorStrategy() =>
        _options.Mode == BackoffMode.OnFailure ? Supervision.SupervisorStrategy.Stopping : _options.ChildStrategy;

    /// <inheritdoc />
    protected internal override void PreStart() => Start();

    /// <inheritdoc />
    protected internal override void PostRestart(Exception reason) => Start();

    private void Start()
    {
        _incarnation++;
        _child = Context.Watch(Context.ActorOf(_options.ChildProps, _options.ChildName));
        var reset = _options.ResetBackoffAfter ?? (_options.MinBackoff * 2 > TimeSpan.Zero ? _options.MinBackoff * 2 : TimeSpan.FromSeconds(1));
        Timers.StartSingleTimer("reset", new ResetBackoff(_incarnation), reset);
    }

    /// <inheritdoc />
    protected override void OnReceive(object message)
    {
        switch (message)
        {
            case Terminated t when ReferenceEquals(t.ActorRef, _child):
                _child = null;
                Timers.Cancel("reset");
                var delay = CalculateDelay(_restartCount, _options.MinBackoff, _options.MaxBackoff, _options.RandomFactor, Random.Shared.NextDouble());
                _restartCount++;
                Timers.StartSingleTimer("restart", new StartChild(_incarnation), delay);
                break;
            case StartChild start when start.Incarnation == _incarnation && _child is null:
                Start();
                break;
            case ResetBackoff reset when reset.Incarnation == _incarnation && _child is not null:
                _restartCount = 0;
                break;
            case StartChild or ResetBackoff:
                break;
            case GetCurrentChild:
                Sender.Tell(new CurrentChild(_child), Self);
                break;
            case GetRestartCount:
                Sender.Tell(new RestartCount(_restartCount, CalculateDelay(_restartCount, _options.MinBackoff, _options.MaxBackoff, 0, 0)), Self);
                break;
            default:
                if (_child is not null)
                {
                    _child.Tell(message, Sender);
                }
                else
                {
                    Context.System.DeadLetters.Tell(message, Sender);
                }

                break;
        }
    }
}
