using Akka.Actor;
using Akka.Cluster.Sharding;
using Akka.Persistence;
using Akka.Persistence.Journal;
using ImageActors.Images.Domain;
using ImageActors.Images.Events;
using ImageActors.Streaming;
using static ImageActors.Images.Actors.AliasProtocol;

namespace ImageActors.Images.Actors;

/// <summary>Messages an <see cref="AliasActor"/> understands. All are plain data: they go through the shard region.</summary>
internal static class AliasProtocol
{
    /// <summary>Create the alias; reply: the alias (also when it already points at the same target).</summary>
    public sealed record Create(Fingerprint Target, string Description) : IEntityRequest;

    /// <summary>Point the alias elsewhere (and/or change its description); reply: the alias.</summary>
    public sealed record Retarget(Fingerprint Target, string? Description) : IEntityRequest;

    /// <summary>Rename the alias; reply: the alias under its new name.</summary>
    public sealed record Rename(AliasName NewName) : IEntityRequest;

    /// <summary>Sent by a renamed alias to its new name; reply: the alias.</summary>
    public sealed record TakeOver(Fingerprint Target, string Description) : IEntityRequest;

    /// <summary>Delete the alias; reply <see cref="Done"/>.</summary>
    public sealed record Delete : IEntityRequest;

    /// <summary>Delete the alias if it points at <paramref name="Target"/> (its image was deleted).</summary>
    public sealed record DeleteIfTargets(Fingerprint Target);

    /// <summary>Reply: the alias, or <see cref="AliasNotFoundException"/>.</summary>
    public sealed record Get : IEntityRequest;

    /// <summary>Acknowledges a delete.</summary>
    public sealed record Done;
}

/// <summary>
/// One alias in one project (persistence id = project + alias name). Before it points at an
/// image it asks that image's actor to confirm it exists (and to remember the alias), so an
/// image delete, which runs in the image's actor, always finds and removes its aliases.
/// </summary>
/// <remarks>Its async handlers await without <c>ConfigureAwait(false)</c>: the continuation must run as the actor.</remarks>
internal sealed class AliasActor : ReceivePersistentActor, IWithTimers
{
    private readonly ProjectName _project;
    private readonly AliasName _name;
    private readonly ImageStoreContext _context;
    private AliasState _state = AliasState.Empty;
    private int _eventsSinceSnapshot;
    private long _sequenceAtLastCheck = -1;
    private readonly Queue<IActorRef> _writesFor = new();

    public AliasActor(ProjectName project, AliasName name, ImageStoreContext context)
    {
        _project = project;
        _name = name;
        _context = context;

        // As for images: events replayed after the snapshot count towards the next one.
        Recover<SnapshotOffer>(offer =>
        {
            _state = (AliasState)offer.Snapshot;
            _eventsSinceSnapshot = 0;
        });
        Recover<IAliasEvent>(e =>
        {
            _state = _state.Apply(e);
            _eventsSinceSnapshot++;
        });

        CommandAsync<Create>(OnCreate);
        CommandAsync<TakeOver>(t => OnCreate(new Create(t.Target, t.Description)));
        CommandAsync<Retarget>(OnRetarget);
        CommandAsync<Rename>(OnRename);
        Command<Delete>(_ => OnDelete());
        Command<DeleteIfTargets>(d =>
        {
            var sender = Sender;
            if (_state.Targets(d.Target))
            {
                Apply(new AliasDeleted(_project, _name), _ => sender.Tell(new Done()));
            }
            else
            {
                sender.Tell(new Done());
            }
        });
        Command<Get>(_ =>
        {
            if (_state.Alias is { } alias)
            {
                Sender.Tell(alias);
            }
            else
            {
                Sender.Tell(new Status.Failure(new AliasNotFoundException(_name.Value)));
            }
        });
        Command<IdleCheck>(_ =>
        {
            if (LastSequenceNr == _sequenceAtLastCheck)
            {
                Context.Parent.Tell(new Passivate(PoisonPill.Instance));
            }

            _sequenceAtLastCheck = LastSequenceNr;
        });
        Command<SaveSnapshotSuccess>(OnSnapshotSaved);
        Command<SaveSnapshotFailure>(_ => { });
        Command<DeleteSnapshotsSuccess>(_ => { });
        Command<DeleteSnapshotsFailure>(_ => { });
    }

    public override string PersistenceId => ImageJournal.AliasPersistenceId(_project, _name);

    /// <inheritdoc />
    public ITimerScheduler Timers { get; set; } = null!;

    public static Props Props(ProjectName project, AliasName name, ImageStoreContext context) =>
        Akka.Actor.Props.Create(() => new AliasActor(project, name, context));

    protected override void PreStart()
    {
        base.PreStart();
        if (_context.PassivateIdleAfter is { } idle)
        {
            Timers.StartPeriodicTimer(IdleCheck.Instance, IdleCheck.Instance, idle);
        }
    }

    /// <summary>
    /// The journal could not be read: the entity stops (as Akka does) and the requests it had stashed become dead
    /// letters, which <see cref="UnansweredRequests"/> answers with this cause instead of leaving their senders waiting.
    /// </summary>
    protected override void OnRecoveryFailure(Exception reason, object? message = null)
    {
        base.OnRecoveryFailure(reason, message);
        Context.System.EventStream.Publish(new EntityFailed(Self.Path, $"alias {_name} in project {_project}", reason, WhileLoading: true));
    }

    /// <summary>The journal refused a write: the requesters hear it now instead of waiting out their ask (the actor stops).</summary>
    protected override void OnPersistFailure(Exception cause, object @event, long sequenceNr)
    {
        base.OnPersistFailure(cause, @event, sequenceNr);
        Context.System.EventStream.Publish(new EntityFailed(Self.Path, $"alias {_name} in project {_project}", cause, WhileLoading: false));
        var change = (@event is Tagged tagged ? tagged.Payload : @event).GetType().Name;
        var failure = new Status.Failure(new JournalWriteFailedException($"alias {_name} in project {_project}", change, cause));
        foreach (var requester in _writesFor.Where(w => !w.IsNobody() && !w.Equals(Self)).Distinct())
        {
            requester.Tell(failure);
        }

        _writesFor.Clear();
    }

    /// <summary>The journal refused one write and keeps running (the actor does too): its requester hears it now.</summary>
    protected override void OnPersistRejected(Exception cause, object @event, long sequenceNr)
    {
        base.OnPersistRejected(cause, @event, sequenceNr);
        var change = (@event is Tagged tagged ? tagged.Payload : @event).GetType().Name;
        var requester = _writesFor.Count > 0 ? _writesFor.Dequeue() : ActorRefs.Nobody;
        if (!requester.IsNobody() && !requester.Equals(Self))
        {
            requester.Tell(new Status.Failure(new JournalWriteRejectedException($"alias {_name} in project {_project}", change, cause)));
        }
    }

    private async Task OnCreate(Create create)
    {
        var sender = Sender;
        if (_state.Alias is { } existing)
        {
            sender.Tell(existing.Target == create.Target ? existing : new Status.Failure(new AliasExistsException(_name.Value)));
            return;
        }

        var image = await Confirm(create.Target, sender);
        if (image is not null)
        {
            Apply(new AliasCreated(_project, _name, create.Target, create.Description, image.Type), _ => sender.Tell(_state.Alias!));
        }
    }

    private async Task OnRetarget(Retarget retarget)
    {
        var sender = Sender;
        if (_state.Alias is not { } current)
        {
            sender.Tell(new Status.Failure(new AliasNotFoundException(_name.Value)));
            return;
        }

        var image = await Confirm(retarget.Target, sender);
        if (image is not null)
        {
            var previous = current.Target;
            Apply(new AliasRetargeted(_project, _name, retarget.Target, retarget.Description ?? current.Description, image.Type), _ =>
            {
                if (previous != retarget.Target)
                {
                    _context.TellImage(_project, previous, new ImageProtocol.DetachAlias(_name));
                }

                sender.Tell(_state.Alias!);
            });
        }
    }

    private async Task OnRename(Rename rename)
    {
        var sender = Sender;
        if (_state.Alias is not { } current)
        {
            sender.Tell(new Status.Failure(new AliasNotFoundException(_name.Value)));
            return;
        }

        if (rename.NewName == _name)
        {
            sender.Tell(current);
            return;
        }

        AliasRecord renamed;
        try
        {
            renamed = await _context.AskAlias<AliasRecord>(_project, rename.NewName, new TakeOver(current.Target, current.Description));
        }
        catch (Exception e)
        {
            sender.Tell(new Status.Failure(e));
            return;
        }

        if (renamed.Target != current.Target)
        {
            // The new name already existed with another target.
            sender.Tell(new Status.Failure(new AliasExistsException(rename.NewName.Value)));
            return;
        }

        Apply(new AliasRenamed(_project, _name, rename.NewName, current.Target, current.Description, current.Type), _ =>
        {
            _context.TellImage(_project, current.Target, new ImageProtocol.DetachAlias(_name));
            sender.Tell(renamed);
        });
    }

    private void OnDelete()
    {
        var sender = Sender;
        if (_state.Alias is not { } current)
        {
            sender.Tell(new Status.Failure(new AliasNotFoundException(_name.Value)));
            return;
        }

        Apply(new AliasDeleted(_project, _name), _ =>
        {
            _context.TellImage(_project, current.Target, new ImageProtocol.DetachAlias(_name));
            sender.Tell(new Done());
        });
    }

    private async Task<ImageRecord?> Confirm(Fingerprint target, IActorRef requester)
    {
        try
        {
            return await _context.AskImage<ImageRecord>(_project, target, new ImageProtocol.AttachAlias(_name));
        }
        catch (Exception e)
        {
            requester.Tell(new Status.Failure(e));
            return null;
        }
    }

    // Older snapshots go at once; the events this one covers go once a catalog snapshot includes them too.
    private void OnSnapshotSaved(SaveSnapshotSuccess saved)
    {
        DeleteSnapshots(new SnapshotSelectionCriteria(saved.Metadata.SequenceNr - 1));
        _context.Feed.Tell(new CatalogFeedActor.EntitySnapshotSaved(PersistenceId, saved.Metadata.SequenceNr));
    }

    private void Apply<TEvent>(TEvent @event, Action<TEvent> after)
        where TEvent : IAliasEvent
    {
        _writesFor.Enqueue(Sender);
        Persist(new Tagged(@event, ImageJournal.CatalogTags), tagged =>
        {
            _writesFor.TryDequeue(out _);
            var e = (TEvent)tagged.Payload;
            _state = _state.Apply(e);
            after(e);
            _context.Feed.Tell(CatalogFeedActor.Poke.Instance);
            if (++_eventsSinceSnapshot >= _context.SnapshotEvery)
            {
                _eventsSinceSnapshot = 0;
                SaveSnapshot(_state);
            }
        });
    }
}
