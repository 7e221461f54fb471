using ImageActors.Actors;
using ImageActors.Actors.Persistence;
using ImageActors.Images.ReadModel;

namespace ImageActors.Images.Actors;

/// <summary>
/// Keeps the <see cref="ImageCatalog"/> up with the journal: entities poke it after each write,
/// and it applies the tagged events since its ordering (pokes that arrive meanwhile collapse into
/// one catch-up). Callers that need to read their own write ask <see cref="WaitForJournal"/>.
/// It saves a catalog snapshot every <c>snapshotEvery</c> events, so a restart replays little.
/// </summary>
internal sealed class CatalogFeedActor : ReceiveActor
{
    private readonly ImageCatalog _catalog;
    private readonly IJournalQueries _queries;
    private readonly ISnapshotStore _snapshots;
    private readonly long _snapshotEvery;
    private readonly TimeProvider _clock;
    private bool _scheduled;
    private long _snapshotOrdering;

    public CatalogFeedActor(ImageCatalog catalog, IJournalQueries queries, ISnapshotStore snapshots, long snapshotEvery, TimeProvider clock)
    {
        _catalog = catalog;
        _queries = queries;
        _snapshots = snapshots;
        _snapshotEvery = snapshotEvery;
        _clock = clock;
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
            await CatchUpAsync().ConfigureAwait(false);
        });
        ReceiveAsync<WaitForJournal>(async _ =>
        {
            var sender = Sender;
            try
            {
                var highest = await _queries.ReadHighestOrderingAsync().ConfigureAwait(false);
                if (_catalog.Ordering < highest)
                {
                    await CatchUpAsync().ConfigureAwait(false);
                }

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
            var snapshot = await CatalogFeed.SaveSnapshotAsync(_catalog, _snapshots, _clock).ConfigureAwait(false);
            _snapshotOrdering = snapshot.Ordering;
            sender.Tell(new CaughtUp(snapshot.Ordering));
        });
    }

    public static Props Props(ImageCatalog catalog, IJournalQueries queries, ISnapshotStore snapshots, long snapshotEvery, TimeProvider clock) =>
        ImageActors.Actors.Props.Create(() => new CatalogFeedActor(catalog, queries, snapshots, snapshotEvery, clock));

    /// <summary>New events were written.</summary>
    public sealed class Poke
    {
        private Poke() { }

        public static Poke Instance { get; } = new();
    }

    /// <summary>Reply <see cref="CaughtUp"/> once every event written so far is applied.</summary>
    public sealed record WaitForJournal;

    /// <summary>Save a catalog snapshot now; reply <see cref="CaughtUp"/>.</summary>
    public sealed record SaveSnapshot;

    /// <summary>The catalog includes the journal up to <paramref name="Ordering"/>.</summary>
    public sealed record CaughtUp(long Ordering);

    private sealed class CatchUp
    {
        public static readonly CatchUp Instance = new();
    }

    private async Task CatchUpAsync()
    {
        await CatalogFeed.CatchUpAsync(_catalog, _queries).ConfigureAwait(false);
        if (_catalog.Ordering - _snapshotOrdering >= _snapshotEvery)
        {
            _snapshotOrdering = (await CatalogFeed.SaveSnapshotAsync(_catalog, _snapshots, _clock).ConfigureAwait(false)).Ordering;
        }
    }
}
