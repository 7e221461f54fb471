using ImageActors.Actors.Persistence;
using ImageActors.Images.Events;

namespace ImageActors.Images.ReadModel;

/// <summary>
/// Builds and keeps up the <see cref="ImageCatalog"/> from the journal: load the newest catalog
/// snapshot, then apply the tagged events after the ordering it covers.
/// </summary>
public static class CatalogFeed
{
    /// <summary>How many events are applied per published view while catching up.</summary>
    public const int BatchSize = 4096;

    /// <summary>Loads the newest snapshot (if any) and applies every newer catalog event.</summary>
    public static async Task<ImageCatalog> RebuildAsync(IJournalQueries queries, ISnapshotStore? snapshots, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(queries);
        var catalog = new ImageCatalog();
        if (snapshots is not null &&
            await snapshots.LoadAsync(ImageJournal.CatalogPersistenceId, SnapshotSelectionCriteria.Latest, cancellationToken).ConfigureAwait(false) is { Snapshot: CatalogSnapshot snapshot })
        {
            catalog = ImageCatalog.FromSnapshot(snapshot);
        }

        await CatchUpAsync(catalog, queries, cancellationToken).ConfigureAwait(false);
        return catalog;
    }

    /// <summary>Applies the catalog events after <see cref="ImageCatalog.Ordering"/>; returns how many.</summary>
    public static async Task<int> CatchUpAsync(ImageCatalog catalog, IJournalQueries queries, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(catalog);
        ArgumentNullException.ThrowIfNull(queries);
        var applied = 0;
        var batch = new List<EventEnvelope>(BatchSize);
        await foreach (var envelope in queries.CurrentEventsByTagAsync(ImageJournal.CatalogTag, catalog.Ordering, cancellationToken).ConfigureAwait(false))
        {
            batch.Add(envelope);
            if (batch.Count == BatchSize)
            {
                catalog.ApplyBatch(batch);
                applied += batch.Count;
                batch.Clear();
            }
        }

        if (batch.Count > 0)
        {
            catalog.ApplyBatch(batch);
            applied += batch.Count;
        }

        return applied;
    }

    /// <summary>Saves the catalog's current content as a snapshot keyed by the ordering it covers.</summary>
    public static async Task<CatalogSnapshot> SaveSnapshotAsync(ImageCatalog catalog, ISnapshotStore snapshots, TimeProvider? clock = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(catalog);
        ArgumentNullException.ThrowIfNull(snapshots);
        var snapshot = catalog.ToSnapshot();
        var metadata = new SnapshotMetadata(ImageJournal.CatalogPersistenceId, snapshot.Ordering, (clock ?? TimeProvider.System).GetUtcNow());
        await snapshots.SaveAsync(metadata, snapshot, cancellationToken).ConfigureAwait(false);
        return snapshot;
    }
}
