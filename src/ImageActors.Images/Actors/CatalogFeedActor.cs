using Akka.Actor;
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
/// <remarks>The read model is per node: its protocol never crosses one (<see cref="INoSerializationVerificationNeeded"/>).</remarks>
internal sealed class CatalogFeedActor : ReceiveActor
{
    private readonly ImageCatalog _catalog;
    private readonly ICurrentEventsByTagQuery _queries;
    private readonly IActorRef _snapshots;
    private readonly IMaterializer _materializer;
    private readonly long _snapshotEvery;
    private readonly TimeProvider _clock;
    private readonly TimeSpan _timeout;
    private bool _scheduled;
    private long _snapshotOrdering;

    public CatalogFeedActor(ImageCatalog catalog, ICurrentEventsByTagQuery queries, IActorRef snapshots, IMaterializer materializer, long snapshotEvery, TimeProvider clock, TimeSpan timeout)
    {
        _catalog = catalog;
        _queries = queries;
        _snapshots = snapshots;
        _materializer = materializer;
        _snapshotEvery = snapshotEvery;
        _clock = clock;
        _timeout = timeout;
        _snapshotOrdering = catalog.Ordering;

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
        ReceiveAsync<WaitForJournal>(async _ =>
        {
            var sender = Sender;
            try
            {
                await CatchUpAsync();
                sender.Tell(new CaughtUp(_catalog.Ordering));
            }
            catch (Exception e)
            {
                sender.Tell(new Status.Failure(e));
            }
        });
        ReceiveAsync<SaveSnapshot>(async _ =>
        {
            var sender = Sender;
            try
            {
                await CatalogFeed.CatchUpAsync(_catalog, _queries, _materializer);
                var snapshot = await CatalogFeed.SaveSnapshotAsync(_catalog, _snapshots, _clock, _timeout);
                _snapshotOrdering = snapshot.Ordering;
                sender.Tell(new CaughtUp(snapshot.Ordering));
            }
            catch (Exception e)
            {
                sender.Tell(new Status.Failure(e));
            }
        });
    }

    public static Props Props(ImageCatalog catalog, ICurrentEventsByTagQuery queries, IActorRef snapshots, IMaterializer materializer, long snapshotEvery, TimeProvider clock, TimeSpan timeout) =>
        Akka.Actor.Props.Create(() => new CatalogFeedActor(catalog, queries, snapshots, materializer, snapshotEvery, clock, timeout));

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

    /// <summary>The catalog includes the journal up to <paramref name="Ordering"/>.</summary>
    public sealed record CaughtUp(long Ordering) : INoSerializationVerificationNeeded;

    private sealed class CatchUp : INoSerializationVerificationNeeded
    {
        public static readonly CatchUp Instance = new();
    }

    private async Task CatchUpAsync()
    {
        await CatalogFeed.CatchUpAsync(_catalog, _queries, _materializer);
        if (_catalog.Ordering - _snapshotOrdering >= _snapshotEvery)
        {
            _snapshotOrdering = (await CatalogFeed.SaveSnapshotAsync(_catalog, _snapshots, _clock, _timeout)).Ordering;
        }
    }
}
