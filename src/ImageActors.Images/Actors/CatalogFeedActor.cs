using Akka.Actor;
using Akka.Event;
using Akka.Persistence;
using Akka.Persistence.Query;
using Akka.Streams;
using ImageActors.Images.ReadModel;

namespace ImageActors.Images.Actors;

/// <summary>
/// Keeps this node's <see cref="ImageCatalog"/> up with the journal: entities poke it after each write, and it
/// applies the tagged events since its ordering (pokes that arrive meanwhile collapse into one catch-up). Callers
/// that need to read their own write ask <see cref="WaitForJournal"/>. It saves a catalog snapshot every
/// <c>snapshotEvery</c> events, so a restart replays little.
/// </summary>
/// <remarks>
/// Journal hygiene: an entity that saved a snapshot reports it (<see cref="EntitySnapshotSaved"/>), and once a
/// catalog snapshot includes the events that entity snapshot covers, this actor deletes them from the journal. An
/// entity cannot delete them itself when its snapshot is saved: a restart rebuilds the catalog from its last
/// snapshot and the tagged events after it, so an event the catalog snapshot does not yet include must stay.
/// The journal thus holds, per entity, the events since its last snapshot, plus at most the events since the last
/// catalog snapshot.
/// <para>The read model is per node: its protocol never crosses one (<see cref="INoSerializationVerificationNeeded"/>).</para>
/// </remarks>
internal sealed class CatalogFeedActor : ReceiveActor
{
    private readonly ImageCatalog _catalog;
    private readonly ICurrentEventsByTagQuery _queries;
    private readonly IActorRef _snapshots;
    private readonly IActorRef _journal;
    private readonly IMaterializer _materializer;
    private readonly long _snapshotEvery;
    private readonly TimeProvider _clock;
    private readonly TimeSpan _timeout;
    private readonly ILoggingAdapter _log = Context.GetLogger();

    // Entity snapshots reported since the last catch-up started, and those a finished catch-up included: persistence
    // id -> the sequence number its snapshot covers.
    private readonly Dictionary<string, long> _reported = new(StringComparer.Ordinal);
    private readonly Dictionary<string, long> _applied = new(StringComparer.Ordinal);
    private readonly List<IActorRef> _waiting = [];
    private bool _scheduled;
    private bool _waitersScheduled;
    private long _snapshotOrdering;

    public CatalogFeedActor(ImageCatalog catalog, ICurrentEventsByTagQuery queries, IActorRef snapshots, IActorRef journal, IMaterializer materializer, long snapshotEvery, TimeProvider clock, TimeSpan timeout)
    {
        _catalog = catalog;
        _queries = queries;
        _snapshots = snapshots;
        _journal = journal;
        _materializer = materializer;
        _snapshotEvery = snapshotEvery;
        _clock = clock;
        _timeout = timeout;
        // The events replayed at start onto the last snapshot count towards the next one, so that a store that runs
        // for a few changes at a time (a command per process) still saves one every snapshotEvery events.
        _snapshotOrdering = catalog.SnapshotOrdering;

        Receive<Poke>(_ =>
        {
            if (!_scheduled)
            {
                _scheduled = true;
                Self.Tell(CatchUp.Instance);
            }
        });
        ReceiveAsync<CatchUp>(async _ =>
        {
            _scheduled = false;
            await CatchUpAsync();
        });
        Receive<WaitForJournal>(_ =>
        {
            // Waiters that queued up meanwhile share one catch-up: it starts after each of them asked, so it reads
            // every write they saw acknowledged. One catch-up per waiter made N concurrent writers wait N queries.
            _waiting.Add(Sender);
            if (!_waitersScheduled)
            {
                _waitersScheduled = true;
                Self.Tell(CatchUpForWaiters.Instance);
            }
        });
        ReceiveAsync<CatchUpForWaiters>(async _ =>
        {
            _waitersScheduled = false;
            var waiting = _waiting.ToList();
            _waiting.Clear();
            try
            {
                await CatchUpAsync();
                var caughtUp = new CaughtUp(_catalog.Ordering);
                waiting.ForEach(w => w.Tell(caughtUp));
            }
            catch (Exception e)
            {
                waiting.ForEach(w => w.Tell(new Status.Failure(e)));
            }
        });
        ReceiveAsync<SaveSnapshot>(async _ =>
        {
            var sender = Sender;
            try
            {
                await CatchUpAsync(saveSnapshot: true);
                sender.Tell(new CaughtUp(_snapshotOrdering));
            }
            catch (Exception e)
            {
                sender.Tell(new Status.Failure(e));
            }
        });
        Receive<EntitySnapshotSaved>(saved =>
            _reported[saved.PersistenceId] = Math.Max(saved.SequenceNr, _reported.GetValueOrDefault(saved.PersistenceId)));
    }

    public static Props Props(ImageCatalog catalog, ICurrentEventsByTagQuery queries, IActorRef snapshots, IActorRef journal, IMaterializer materializer, long snapshotEvery, TimeProvider clock, TimeSpan timeout) =>
        Akka.Actor.Props.Create(() => new CatalogFeedActor(catalog, queries, snapshots, journal, materializer, snapshotEvery, clock, timeout));

    /// <summary>New events were written.</summary>
    public sealed class Poke : INoSerializationVerificationNeeded
    {
        private Poke() { }

        public static Poke Instance { get; } = new();
    }

    /// <summary>Reply <see cref="CaughtUp"/> once every event written so far is applied.</summary>
    public sealed record WaitForJournal : INoSerializationVerificationNeeded;

    /// <summary>Save a catalog snapshot now; reply <see cref="CaughtUp"/>.</summary>
    public sealed record SaveSnapshot : INoSerializationVerificationNeeded;

    /// <summary>
    /// An entity saved a snapshot covering its events up to <paramref name="SequenceNr"/>: they may go from the journal
    /// once a catalog snapshot includes them.
    /// </summary>
    public sealed record EntitySnapshotSaved(string PersistenceId, long SequenceNr) : INoSerializationVerificationNeeded;

    /// <summary>The catalog includes the journal up to <paramref name="Ordering"/>.</summary>
    public sealed record CaughtUp(long Ordering) : INoSerializationVerificationNeeded;

    private sealed class CatchUp : INoSerializationVerificationNeeded
    {
        public static readonly CatchUp Instance = new();
    }

    private sealed class CatchUpForWaiters : INoSerializationVerificationNeeded
    {
        public static readonly CatchUpForWaiters Instance = new();
    }

    private async Task CatchUpAsync(bool saveSnapshot = false)
    {
        // The events an entity snapshot covers were written before it was reported, so a catch-up that starts after
        // the report applies them.
        var reported = _reported.ToList();
        _reported.Clear();
        try
        {
            await CatalogFeed.CatchUpAsync(_catalog, _queries, _materializer);
        }
        catch
        {
            foreach (var (id, sequenceNr) in reported)
            {
                _reported[id] = Math.Max(sequenceNr, _reported.GetValueOrDefault(id));
            }

            throw;
        }

        foreach (var (id, sequenceNr) in reported)
        {
            _applied[id] = Math.Max(sequenceNr, _applied.GetValueOrDefault(id));
        }

        if (saveSnapshot || _catalog.Ordering - _snapshotOrdering >= _snapshotEvery)
        {
            _snapshotOrdering = (await CatalogFeed.SaveSnapshotAsync(_catalog, _snapshots, _clock, _timeout)).Ordering;
            await DeleteCoveredEventsAsync();
        }
    }

    /// <summary>Deletes the events that both their entity's snapshot and the catalog snapshot just saved include.</summary>
    private async Task DeleteCoveredEventsAsync()
    {
        var covered = _applied.ToList();
        _applied.Clear();
        var replies = await Task.WhenAll(covered.Select(async c =>
        {
            try
            {
                return await _journal.Ask<object>(replyTo => new DeleteMessagesTo(c.Key, c.Value, replyTo), _timeout, CancellationToken.None);
            }
            catch (Exception e)
            {
                return new DeleteMessagesFailure(e, c.Value);
            }
        }));
        foreach (var failure in replies.OfType<DeleteMessagesFailure>())
        {
            // The events stay; the entity's next snapshot covers them again.
            _log.Warning(failure.Cause, "Deleting events up to {0} that a snapshot covers failed", failure.ToSequenceNr);
        }
    }
}
