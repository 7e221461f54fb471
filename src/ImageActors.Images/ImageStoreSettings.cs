using ImageActors.Actors.Persistence;
using ImageActors.Images.Configuration;

namespace ImageActors.Images;

/// <summary>How an <see cref="ImageStore"/> is wired: where its files are and which journal it writes.</summary>
/// <param name="DataDirectory">Holds <c>images/</c> and <c>tmp/</c>.</param>
/// <param name="Journal">The event journal (SQLite, PostgreSQL or in memory).</param>
/// <param name="Queries">Queries over the same journal (feeds the read model).</param>
/// <param name="Snapshots">The snapshot store.</param>
public sealed record ImageStoreSettings(string DataDirectory, IJournal Journal, IJournalQueries Queries, ISnapshotStore Snapshots)
{
    /// <summary>The <c>images.*</c> options.</summary>
    public ImagesOptions Options { get; init; } = new();

    /// <summary>The clock (tests pass a fake one).</summary>
    public TimeProvider Clock { get; init; } = TimeProvider.System;

    /// <summary>fsync committed files (turn off only for throwaway stores).</summary>
    public bool Durable { get; init; } = true;

    /// <summary>How long a call waits for an actor's answer.</summary>
    public TimeSpan AskTimeout { get; init; } = TimeSpan.FromMinutes(5);

    /// <summary>Idle image and alias actors stop after this (they recover on the next message).</summary>
    public TimeSpan PassivateIdleAfter { get; init; } = TimeSpan.FromMinutes(2);

    /// <summary>Events of one entity between two of its snapshots.</summary>
    public int EntitySnapshotEvery { get; init; } = 50;

    /// <summary>Catalog events between two read-model snapshots.</summary>
    public long CatalogSnapshotEvery { get; init; } = 10_000;

    /// <summary>Threads committing and removing files.</summary>
    public int FileWorkers { get; init; } = Math.Max(2, Environment.ProcessorCount);

    /// <summary>Where auto-update and refresh look for newer images (the remotes layer); null disables both.</summary>
    public IImageUpdateSource? UpdateSource { get; init; }

    /// <summary>How often the eviction rules run (Incus prunes daily); null disables the timer (eviction then runs on request only).</summary>
    public TimeSpan? EvictionInterval { get; init; } = TimeSpan.FromHours(24);
}
