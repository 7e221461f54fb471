using ImageActors.Actors.Events;
using ImageActors.Actors.Persistence;
using ImageActors.Actors.Scheduling;

namespace ImageActors.Actors;

/// <summary>
/// A hierarchy of actors with shared settings, scheduler and event stream. User actors live under
/// <c>/user</c>, kernel actors under <c>/system</c>.
/// </summary>
public sealed class ActorSystem : IAsyncDisposable
{
    private readonly ActorCell _root;
    private readonly ActorCell _userGuardian;
    private readonly ActorCell _systemGuardian;
    private readonly Lazy<PersistenceExtension> _persistence;
    private int _terminating;
    private Task? _termination;

    private ActorSystem(string name, ActorSystemSettings settings)
    {
        Name = name;
        Settings = settings;
        EventStream = new EventStream();
        Scheduler = new Scheduler(settings.Clock);
        DeadLetters = new DeadLettersRef(this);
        _persistence = new Lazy<PersistenceExtension>(() => new PersistenceExtension(settings.Persistence));
        _root = new ActorCell(this, null, ActorPath.Root, Props.Create(static () => new Guardian()));
        _root.Start();
        _userGuardian = (ActorCell)_root.ActorOf(Props.Create(static () => new Guardian()), "user");
        _systemGuardian = (ActorCell)_root.ActorOf(Props.Create(static () => new Guardian()), "system");
    }

    /// <summary>The system's name.</summary>
    public string Name { get; }

    /// <summary>Its settings.</summary>
    public ActorSystemSettings Settings { get; }

    /// <summary>The publish/subscribe bus (dead letters, unhandled messages, errors are published here).</summary>
    public EventStream EventStream { get; }

    /// <summary>Delivers messages later.</summary>
    public Scheduler Scheduler { get; }

    /// <summary>Where undeliverable messages go; they are published as <see cref="DeadLetter"/>.</summary>
    public IActorRef DeadLetters { get; }

    /// <summary>The journal, snapshot store and recovery limiter of persistent actors.</summary>
    public PersistenceExtension Persistence => _persistence.Value;

    /// <summary>Completes when <see cref="Terminate"/> finished.</summary>
    public Task WhenTerminated => _root.WhenTerminated;

    /// <summary>Creates and starts a system.</summary>
    public static ActorSystem Create(string name, ActorSystemSettings? settings = null)
    {
        ActorPath.ValidateName(name);
        settings ??= ActorSystemSettings.Default;
        ArgumentNullException.ThrowIfNull(settings.Clock);
        ArgumentOutOfRangeException.ThrowIfLessThan(settings.Throughput, 1, nameof(settings));
        return new ActorSystem(name, settings);
    }

    /// <summary>Creates a top-level actor under <c>/user</c>.</summary>
    public IActorRef ActorOf(Props props, string? name = null) => _userGuardian.ActorOf(props, name);

    /// <summary>Creates a kernel actor under <c>/system</c>.</summary>
    internal IActorRef SystemActorOf(Props props, string? name = null) => _systemGuardian.ActorOf(props, name);

    /// <summary>
    /// Messages waiting in the mailbox of <paramref name="actor"/> (and, with <paramref name="includeDescendants"/>,
    /// in those of every actor below it, e.g. the entities of an <see cref="Sharding.EntityRegion"/> or a pool's
    /// workers). Meant for metrics: it reads each channel's count when asked and costs the message paths nothing.
    /// </summary>
    /// <returns>The number of queued messages; 0 for a reference that is not a local actor.</returns>
    public static long MailboxDepth(IActorRef actor, bool includeDescendants = true)
    {
        ArgumentNullException.ThrowIfNull(actor);
        if (actor is not ActorCell cell)
        {
            return 0;
        }

        return includeDescendants ? cell.MailboxCountWithDescendants() : cell.MailboxCount;
    }

    /// <summary>Stops <paramref name="actor"/> (after its current message); its children stop first.</summary>
    public void Stop(IActorRef actor)
    {
        ArgumentNullException.ThrowIfNull(actor);
        if (actor is ActorCell cell && cell.ParentCell is { } parent)
        {
            parent.Stop(cell);
        }
        else if (actor is IInternalActorRef other)
        {
            other.SendSystem(new TerminateActor());
        }
    }

    /// <summary>
    /// Stops every actor: user actors first, then kernel actors; in each subtree children stop
    /// (and run PostStop) before their parents.
    /// </summary>
    public Task Terminate()
    {
        if (Interlocked.Exchange(ref _terminating, 1) == 0)
        {
            _termination = TerminateInOrderAsync();
        }

        return _termination ?? WhenTerminated;
    }

    private async Task TerminateInOrderAsync()
    {
        _root.Stop(_userGuardian);
        await _userGuardian.WhenTerminated.ConfigureAwait(false);
        _root.Stop(_systemGuardian);
        await _systemGuardian.WhenTerminated.ConfigureAwait(false);
        _root.SendSystem(new TerminateActor());
        await _root.WhenTerminated.ConfigureAwait(false);
    }

    /// <inheritdoc />
    public async ValueTask DisposeAsync() => await Terminate().ConfigureAwait(false);

    internal void PublishDeadLetter(object message, IActorRef? sender, IActorRef recipient)
    {
        // A dead letter about a dead letter would loop when a subscriber is gone.
        if (message is DeadLetter)
        {
            return;
        }

        EventStream.Publish(new DeadLetter(message, sender, recipient));
    }

    /// <inheritdoc />
    public override string ToString() => Name;

    /// <summary>The root and the /user and /system guardians: they only supervise.</summary>
    private sealed class Guardian : UntypedActor
    {
        protected override void OnReceive(object message) => Unhandled(message);
    }

    private sealed class DeadLettersRef(ActorSystem system) : IInternalActorRef
    {
        public ActorPath Path { get; } = ActorPath.Root / "deadLetters";

        public ActorSystem System { get; } = system;

        public void Tell(object message, IActorRef? sender = null) => System.PublishDeadLetter(message, sender, this);

        public void SendSystem(SystemMessage message)
        {
            if (message is WatchActor watch)
            {
                watch.Watcher.SendSystem(new DeathWatchNotification(this));
            }
        }

        public override string ToString() => Path.ToString();
    }
}
