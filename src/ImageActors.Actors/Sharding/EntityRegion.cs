namespace ImageActors.Actors.Sharding;

/// <summary>Settings of an <see cref="EntityRegion"/>.</summary>
public sealed record EntityRegionSettings
{
    /// <summary>Stop entities that received no message for this long; null never passivates.</summary>
    public TimeSpan? PassivateIdleAfter { get; init; }

    /// <summary>How often idle entities are looked for; null means a quarter of <see cref="PassivateIdleAfter"/>.</summary>
    public TimeSpan? PassivationCheckInterval { get; init; }

    /// <summary>The message sent to an entity to stop it on passivation.</summary>
    public object StopMessage { get; init; } = PoisonPill.Instance;
}

/// <summary>
/// Gets or creates child entities by id and routes messages to them. Idle entities are passivated
/// (stopped) after <see cref="EntityRegionSettings.PassivateIdleAfter"/>, measured with the system
/// clock; messages that arrive while an entity stops are buffered and delivered, in order, to its
/// next incarnation.
/// </summary>
public sealed class EntityRegion : UntypedActor
{
    private readonly Func<string, Props> _entityProps;
    private readonly IMessageExtractor _extractor;
    private readonly EntityRegionSettings _settings;
    private readonly TimeProvider _clock;
    private readonly Dictionary<string, Entity> _entities = new(StringComparer.Ordinal);
    private readonly Dictionary<IActorRef, Entity> _byRef = new(ReferenceEqualityComparer.Instance);

    private EntityRegion(Func<string, Props> entityProps, IMessageExtractor extractor, EntityRegionSettings settings)
    {
        _entityProps = entityProps;
        _extractor = extractor;
        _settings = settings;
        _clock = Context.System.Settings.Clock;
    }

    /// <summary>Props of a region whose entity <c>id</c> is created from <paramref name="entityProps"/>(id).</summary>
    public static Props Props(Func<string, Props> entityProps, IMessageExtractor extractor, EntityRegionSettings? settings = null)
    {
        ArgumentNullException.ThrowIfNull(entityProps);
        ArgumentNullException.ThrowIfNull(extractor);
        return Actors.Props.Create(() => new EntityRegion(entityProps, extractor, settings ?? new EntityRegionSettings()));
    }

    /// <summary>Asks for counts; the reply is <see cref="RegionStats"/>.</summary>
    public sealed class GetStats
    {
        private GetStats() { }

        /// <summary>The one instance.</summary>
        public static GetStats Instance { get; } = new();
    }

    /// <summary>The reply to <see cref="GetStats"/>.</summary>
    /// <param name="Running">Entities running.</param>
    /// <param name="Stopping">Entities being passivated.</param>
    public sealed record RegionStats(int Running, int Stopping);

    private sealed class PassivationTick
    {
        public static readonly PassivationTick Instance = new();
    }

    private sealed class Entity(string id)
    {
        public string Id { get; } = id;

        public IActorRef? Ref { get; set; }

        public long LastActive { get; set; }

        public bool Stopping { get; set; }

        public List<(object Message, IActorRef? Sender)>? Buffer { get; set; }
    }

    /// <inheritdoc />
    protected internal override void PreStart()
    {
        if (_settings.PassivateIdleAfter is { } idle)
        {
            var interval = _settings.PassivationCheckInterval ?? TimeSpan.FromTicks(Math.Max(idle.Ticks / 4, TimeSpan.TicksPerMillisecond));
            Timers.StartPeriodicTimer(PassivationTick.Instance, PassivationTick.Instance, interval);
        }
    }

    /// <inheritdoc />
    protected override void OnReceive(object message)
    {
        switch (message)
        {
            case Terminated terminated:
                OnEntityTerminated(terminated.ActorRef);
                return;
            case Passivate passivate:
                if (_byRef.TryGetValue(Sender, out var requester))
                {
                    BeginPassivation(requester, passivate.StopMessage);
                }

                return;
            case PassivationTick:
                PassivateIdle();
                return;
            case GetStats:
                ReplyStats();
                return;
        }

        var id = _extractor.EntityId(message);
        if (id is null)
        {
            Unhandled(message);
            return;
        }

        Deliver(id, _extractor.EntityMessage(message), Context.Sender);
    }

    private void Deliver(string id, object message, IActorRef? sender)
    {
        if (!_entities.TryGetValue(id, out var entity))
        {
            entity = new Entity(id);
            _entities.Add(id, entity);
        }

        if (entity.Stopping)
        {
            (entity.Buffer ??= []).Add((message, sender));
            return;
        }

        entity.Ref ??= Start(entity);
        entity.LastActive = _clock.GetTimestamp();
        entity.Ref.Tell(message, sender);
    }

    private IActorRef Start(Entity entity)
    {
        var child = Context.ActorOf(_entityProps(entity.Id), Uri.EscapeDataString(entity.Id));
        Context.Watch(child);
        _byRef[child] = entity;
        return child;
    }

    private void BeginPassivation(Entity entity, object stopMessage)
    {
        if (entity.Stopping || entity.Ref is null)
        {
            return;
        }

        entity.Stopping = true;
        entity.Ref.Tell(stopMessage, Self);
    }

    private void PassivateIdle()
    {
        var idle = _settings.PassivateIdleAfter!.Value;
        var now = _clock.GetTimestamp();
        List<Entity>? idleEntities = null;
        foreach (var entity in _entities.Values)
        {
            if (!entity.Stopping && entity.Ref is not null && _clock.GetElapsedTime(entity.LastActive, now) >= idle)
            {
                (idleEntities ??= []).Add(entity);
            }
        }

        if (idleEntities is null)
        {
            return;
        }

        foreach (var entity in idleEntities)
        {
            BeginPassivation(entity, _settings.StopMessage);
        }
    }

    private void OnEntityTerminated(IActorRef actor)
    {
        if (!_byRef.Remove(actor, out var entity) || !ReferenceEquals(entity.Ref, actor))
        {
            return;
        }

        entity.Ref = null;
        entity.Stopping = false;
        var buffered = entity.Buffer;
        entity.Buffer = null;
        if (buffered is null || buffered.Count == 0)
        {
            _entities.Remove(entity.Id);
            return;
        }

        // The next incarnation gets what arrived while the previous one was stopping, in order.
        foreach (var (message, sender) in buffered)
        {
            Deliver(entity.Id, message, sender);
        }
    }

    private void ReplyStats()
    {
        var stopping = 0;
        foreach (var entity in _entities.Values)
        {
            if (entity.Stopping)
            {
                stopping++;
            }
        }

        Sender.Tell(new RegionStats(_entities.Count - stopping, stopping), Self);
    }
}
