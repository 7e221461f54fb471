using System.Threading.Channels;

namespace ImageActors.Actors.TestKit;

/// <summary>An expectation of a test probe was not met.</summary>
public sealed class ExpectationFailedException : Exception
{
    public ExpectationFailedException(string message) : base(message) { }
}

/// <summary>
/// A reference that records what it receives, for tests: send it as the sender (or hand it to an
/// actor) and assert on what arrives with deadlines. Waits use real time, never the fake clock.
/// </summary>
public sealed class TestProbe : IInternalActorRef
{
    private static long s_counter;
    private readonly Channel<Envelope> _received = Channel.CreateUnbounded<Envelope>();

    /// <summary>A probe in <paramref name="system"/>.</summary>
    public TestProbe(ActorSystem system, string? name = null)
    {
        System = system ?? throw new ArgumentNullException(nameof(system));
        Path = ActorPath.Root / "probes" / (name ?? "probe-" + Interlocked.Increment(ref s_counter).ToString(global::System.Globalization.CultureInfo.InvariantCulture));
    }

    /// <summary>How long expectations wait by default.</summary>
    public TimeSpan DefaultTimeout { get; set; } = TimeSpan.FromSeconds(10);

    /// <inheritdoc />
    public ActorPath Path { get; }

    /// <summary>The system the probe belongs to.</summary>
    public ActorSystem System { get; }

    /// <summary>The probe as a reference.</summary>
    public IActorRef Ref => this;

    /// <summary>The sender of the last message received by an expectation.</summary>
    public IActorRef? LastSender { get; private set; }

    /// <inheritdoc />
    public void Tell(object message, IActorRef? sender = null) => _received.Writer.TryWrite(new Envelope(message, sender));

    void IInternalActorRef.SendSystem(SystemMessage message)
    {
        if (message is DeathWatchNotification death)
        {
            _received.Writer.TryWrite(new Envelope(new Terminated(death.Actor), death.Actor));
        }
    }

    /// <summary>Delivers <see cref="Terminated"/> to the probe when <paramref name="actor"/> stops.</summary>
    public IActorRef Watch(IActorRef actor)
    {
        if (actor is IInternalActorRef target)
        {
            target.SendSystem(new WatchActor(target, this));
        }

        return actor;
    }

    /// <summary>Stops watching <paramref name="actor"/>.</summary>
    public void Unwatch(IActorRef actor)
    {
        if (actor is IInternalActorRef target)
        {
            target.SendSystem(new UnwatchActor(target, this));
        }
    }

    /// <summary>Sends <paramref name="message"/> to <paramref name="target"/> with the probe as sender.</summary>
    public void Send(IActorRef target, object message)
    {
        ArgumentNullException.ThrowIfNull(target);
        target.Tell(message, this);
    }

    /// <summary>Replies to the sender of the last received message.</summary>
    public void Reply(object message) =>
        (LastSender ?? throw new InvalidOperationException("No message received yet.")).Tell(message, this);

    /// <summary>Waits for the next message, or null after <paramref name="timeout"/>.</summary>
    public async Task<object?> ReceiveOneAsync(TimeSpan? timeout = null)
    {
        using var cts = new CancellationTokenSource(timeout ?? DefaultTimeout);
        try
        {
            var envelope = await _received.Reader.ReadAsync(cts.Token).ConfigureAwait(false);
            LastSender = envelope.Sender;
            return envelope.Message;
        }
        catch (OperationCanceledException)
        {
            return null;
        }
    }

    /// <summary>Expects the next message to be a <typeparamref name="T"/>.</summary>
    public async Task<T> ExpectMsgAsync<T>(TimeSpan? timeout = null)
    {
        var wait = timeout ?? DefaultTimeout;
        var message = await ReceiveOneAsync(wait).ConfigureAwait(false)
            ?? throw new ExpectationFailedException($"{Path}: expected a {typeof(T).Name} within {wait}, got nothing.");
        return message is T typed
            ? typed
            : throw new ExpectationFailedException($"{Path}: expected a {typeof(T).Name}, got {message.GetType().Name}: {message}.");
    }

    /// <summary>Expects the next message to be a <typeparamref name="T"/> satisfying <paramref name="predicate"/>.</summary>
    public async Task<T> ExpectMsgAsync<T>(Func<T, bool> predicate, TimeSpan? timeout = null)
    {
        ArgumentNullException.ThrowIfNull(predicate);
        var message = await ExpectMsgAsync<T>(timeout).ConfigureAwait(false);
        return predicate(message)
            ? message
            : throw new ExpectationFailedException($"{Path}: {typeof(T).Name} {message} does not satisfy the expectation.");
    }

    /// <summary>Expects the next message to equal <paramref name="expected"/>.</summary>
    public Task<T> ExpectMsgAsync<T>(T expected, TimeSpan? timeout = null) where T : notnull =>
        ExpectMsgAsync<T>(m => EqualityComparer<T>.Default.Equals(m, expected), timeout);

    /// <summary>Expects no message during <paramref name="duration"/>.</summary>
    public async Task ExpectNoMsgAsync(TimeSpan duration)
    {
        var message = await ReceiveOneAsync(duration).ConfigureAwait(false);
        if (message is not null)
        {
            throw new ExpectationFailedException($"{Path}: expected no message for {duration}, got {message.GetType().Name}: {message}.");
        }
    }

    /// <summary>Expects <see cref="Terminated"/> for <paramref name="actor"/> (call <see cref="Watch"/> first).</summary>
    public Task<Terminated> ExpectTerminatedAsync(IActorRef actor, TimeSpan? timeout = null) =>
        ExpectMsgAsync<Terminated>(t => ReferenceEquals(t.ActorRef, actor) || t.ActorRef.Path.Equals(actor.Path), timeout);

    /// <summary>Skips messages until one satisfies <paramref name="isTarget"/>, which it returns.</summary>
    public async Task<object> FishForMessageAsync(Func<object, bool> isTarget, TimeSpan? timeout = null)
    {
        ArgumentNullException.ThrowIfNull(isTarget);
        var wait = timeout ?? DefaultTimeout;
        var deadline = DateTime.UtcNow + wait;
        while (true)
        {
            var left = deadline - DateTime.UtcNow;
            var message = left > TimeSpan.Zero ? await ReceiveOneAsync(left).ConfigureAwait(false) : null;
            if (message is null)
            {
                throw new ExpectationFailedException($"{Path}: no matching message within {wait}.");
            }

            if (isTarget(message))
            {
                return message;
            }
        }
    }

    /// <summary>Synchronous <see cref="ExpectMsgAsync{T}(TimeSpan?)"/>.</summary>
    public T ExpectMsg<T>(TimeSpan? timeout = null) => ExpectMsgAsync<T>(timeout).GetAwaiter().GetResult();

    /// <summary>Synchronous <see cref="ExpectMsgAsync{T}(Func{T, bool}, TimeSpan?)"/>.</summary>
    public T ExpectMsg<T>(Func<T, bool> predicate, TimeSpan? timeout = null) => ExpectMsgAsync(predicate, timeout).GetAwaiter().GetResult();

    /// <summary>Synchronous <see cref="ExpectNoMsgAsync"/>.</summary>
    public void ExpectNoMsg(TimeSpan duration) => ExpectNoMsgAsync(duration).GetAwaiter().GetResult();

    /// <summary>Synchronous <see cref="ExpectTerminatedAsync"/>.</summary>
    public Terminated ExpectTerminated(IActorRef actor, TimeSpan? timeout = null) => ExpectTerminatedAsync(actor, timeout).GetAwaiter().GetResult();

    /// <summary>Synchronous <see cref="FishForMessageAsync"/>.</summary>
    public object FishForMessage(Func<object, bool> isTarget, TimeSpan? timeout = null) => FishForMessageAsync(isTarget, timeout).GetAwaiter().GetResult();

    /// <inheritdoc />
    public override string ToString() => Path.ToString();
}
