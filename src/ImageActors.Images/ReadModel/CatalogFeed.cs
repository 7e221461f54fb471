using Akka.Actor;
using Akka.Persistence;
using Akka.Persistence.Query;
using Akka.Streams;
using Akka.Streams.Dsl;
using ImageActors.Images.Events;

namespace ImageActors.Images.ReadModel;

/// <summary>
/// Builds and keeps up the <see cref="ImageCatalog"/> from the journal: load the newest catalog snapshot from the
/// snapshot store, then apply the tagged events after the ordering it covers, read through Akka.Persistence.Query
/// (<see cref="ICurrentEventsByTagQuery"/>: any Akka tool can read the same journal the same way).
/// </summary>
public static class CatalogFeed
{
    /// <summary>How many events are applied per published view while catching up.</summary>
    public const int BatchSize = 4096;

    /// <summary>Loads the newest snapshot (if any) and applies every newer catalog event.</summary>
    /// <param name="snapshots">The snapshot store actor (<c>Akka.Persistence.Persistence.Instance.Apply(system).SnapshotStoreFor(null)</c>).</param>
    /// <param name="queries">The journal's read side.</param>
    /// <param name="materializer">Runs the query streams.</param>
    /// <param name="timeout">How long the snapshot store may take to answer.</param>
    /// <param name="cancellationToken">Stops the rebuild.</param>
    public static async Task<ImageCatalog> RebuildAsync(IActorRef snapshots, ICurrentEventsByTagQuery queries, IMaterializer materializer, TimeSpan timeout, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(snapshots);
        ArgumentNullException.ThrowIfNull(queries);
        var catalog = new ImageCatalog();
        var loaded = await snapshots.Ask<object>(new LoadSnapshot(ImageJournal.CatalogPersistenceId, SnapshotSelectionCriteria.Latest, long.MaxValue), timeout, cancellationToken).ConfigureAwait(false);
        switch (loaded)
        {
            case LoadSnapshotResult { Snapshot.Snapshot: CatalogSnapshot snapshot }:
                catalog = ImageCatalog.FromSnapshot(snapshot);
                break;
            case LoadSnapshotFailed failed:
                throw new IOException($"Reading the read model's snapshot failed: {failed.Cause.Message}", failed.Cause);
        }

        await CatchUpAsync(catalog, queries, materializer, cancellationToken).ConfigureAwait(false);
        return catalog;
    }

    /// <summary>Applies the catalog events after <see cref="ImageCatalog.Ordering"/>, up to the newest written when it starts; returns how many.</summary>
    public static async Task<int> CatchUpAsync(ImageCatalog catalog, ICurrentEventsByTagQuery queries, IMaterializer materializer, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(catalog);
        ArgumentNullException.ThrowIfNull(queries);
        var applied = 0;
        await queries.CurrentEventsByTag(ImageJournal.CatalogTag, Offset.Sequence(catalog.Ordering))
            .Grouped(BatchSize)
            .RunForeach(
                batch =>
                {
                    catalog.ApplyBatch(batch.Select(e => (((Sequence)e.Offset).Value, e.Event)));
                    applied += batch.Count();
                },
                materializer)
            .WaitAsync(cancellationToken)
            .ConfigureAwait(false);
        return applied;
    }

    /// <summary>
    /// Saves the catalog's current content as a snapshot whose sequence number is the journal ordering it covers,
    /// and deletes the older ones.
    /// </summary>
    public static async Task<CatalogSnapshot> SaveSnapshotAsync(ImageCatalog catalog, IActorRef snapshots, TimeProvider clock, TimeSpan timeout, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(catalog);
        ArgumentNullException.ThrowIfNull(snapshots);
        ArgumentNullException.ThrowIfNull(clock);
        var snapshot = catalog.ToSnapshot();
        var metadata = new SnapshotMetadata(ImageJournal.CatalogPersistenceId, snapshot.Ordering, clock.GetUtcNow().UtcDateTime);
        var saved = await snapshots.Ask<object>(new SaveSnapshot(metadata, snapshot), timeout, cancellationToken).ConfigureAwait(false);
        if (saved is SaveSnapshotFailure failure)
        {
            throw new IOException($"Saving the read model's snapshot failed: {failure.Cause.Message}", failure.Cause);
        }

        if (snapshot.Ordering > 0)
        {
            snapshots.Tell(new DeleteSnapshots(ImageJournal.CatalogPersistenceId, new SnapshotSelectionCriteria(snapshot.Ordering - 1)), ActorRefs.NoSender);
        }

        return snapshot;
    }
}
