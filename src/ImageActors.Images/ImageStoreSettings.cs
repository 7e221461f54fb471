using ImageActors.Images.Configuration;
using ImageActors.Images.Hosting;
using Microsoft.Extensions.Logging;

namespace ImageActors.Images;

/// <summary>How an <see cref="ImageStore"/> is wired: where its files are and which journal it writes.</summary>
/// <param name="DataDirectory">Holds <c>images/</c> and <c>tmp/</c>.</param>
/// <param name="Persistence">The journal and snapshot store (SQLite or PostgreSQL).</param>
public sealed record ImageStoreSettings(string DataDirectory, StorePersistence Persistence)
{
    /// <summary>
    /// The settings the configuration's keys make, the same for <c>imageactors serve</c> and an embedded host: the
    /// journal of <c>persistence.*</c>, the <c>images.*</c> options, the <c>actors.*</c> options (throughput, concurrent
    /// recoveries, ask timeout, passivation) and Akka.NET's own <c>akka { }</c> sections, which win over the rest.
    /// </summary>
    /// <param name="dataDirectory">Holds the image files.</param>
    /// <param name="persistence">The <c>persistence.*</c> options.</param>
    /// <param name="images">The <c>images.*</c> options.</param>
    /// <param name="actors">The <c>actors.*</c> options.</param>
    /// <param name="akkaHocon">The <c>akka { }</c> sections, or null.</param>
    public static ImageStoreSettings FromOptions(string dataDirectory, PersistenceOptions persistence, ImagesOptions images, ActorSystemOptions actors, string? akkaHocon = null)
    {
        ArgumentException.ThrowIfNullOrEmpty(dataDirectory);
        ArgumentNullException.ThrowIfNull(persistence);
        ArgumentNullException.ThrowIfNull(images);
        ArgumentNullException.ThrowIfNull(actors);
        var actorSettings = string.Create(System.Globalization.CultureInfo.InvariantCulture, $"akka.actor.default-dispatcher.throughput = {actors.Throughput}\nakka.persistence.max-concurrent-recoveries = {actors.MaxConcurrentRecoveries}");
        return new ImageStoreSettings(dataDirectory, persistence.ToStorePersistence())
        {
            Options = images,
            AkkaHocon = akkaHocon is null ? actorSettings : actorSettings + "\n" + akkaHocon,
            PassivateIdleAfter = actors.PassivationIdleTimeout > TimeSpan.Zero ? actors.PassivationIdleTimeout : null,
            EvictionInterval = images.EvictionInterval > TimeSpan.Zero ? images.EvictionInterval : null,
            AskTimeout = actors.AskTimeout,
            EntitySnapshotEvery = persistence.SnapshotEvery,
            CatalogSnapshotEvery = persistence.ReadModelSnapshotEvery,
        };
    }

    /// <summary>The <c>images.*</c> options.</summary>
    public ImagesOptions Options { get; init; } = new();

    /// <summary>The clock (tests pass a fake one).</summary>
    public TimeProvider Clock { get; init; } = TimeProvider.System;

    /// <summary>fsync committed files (turn off only for throwaway stores).</summary>
    public bool Durable { get; init; } = true;

    /// <summary>
    /// How long a short request to an actor (a record, an alias change, a delete, the read model catching up) waits for
    /// its answer (<c>actors.ask_timeout</c>). Downloads, imports and unpacks do not use it: they wait while they make
    /// progress (<see cref="StallTimeout"/>).
    /// </summary>
    public TimeSpan AskTimeout { get; init; } = TimeSpan.FromSeconds(30);

    /// <summary>
    /// How long a caller waits for a download or an import that makes no progress before it fails with
    /// <see cref="Domain.OperationStalledException"/>; <see cref="TimeSpan.Zero"/> waits until it ends. Null (the default)
    /// takes the longest a healthy download stays quiet: <c>images.download_stall_timeout</c> (after which the
    /// download is cut and resumed) plus <c>images.download_max_retry_wait</c>, or no bound when the stall timeout is 0.
    /// </summary>
    public TimeSpan? StallTimeout { get; init; }

    /// <summary>How the download, file and unpack workers are supervised (tests shorten the backoff).</summary>
    internal Actors.WorkerSupervision WorkerSupervision { get; init; } = Actors.WorkerSupervision.Default;

    /// <summary>How long the store's start may take (joining its cluster, opening the journal, rebuilding the read model).</summary>
    public TimeSpan StartTimeout { get; init; } = TimeSpan.FromMinutes(5);

    /// <summary>
    /// How long a stop waits for the calls in flight to end once it cancelled them, before it stops the actors under them.
    /// </summary>
    public TimeSpan StopTimeout { get; init; } = TimeSpan.FromSeconds(10);

    /// <summary>Idle image and alias actors stop after this (they recover on the next message); null keeps them.</summary>
    public TimeSpan? PassivateIdleAfter { get; init; } = TimeSpan.FromMinutes(2);

    /// <summary>
    /// Events of one entity between two of its snapshots. The events a snapshot covers are deleted from the journal
    /// once a catalog snapshot includes them too, and older snapshots at once, so the journal does not grow without bound.
    /// </summary>
    public int EntitySnapshotEvery { get; init; } = 50;

    /// <summary>Catalog events between two read-model snapshots (the most events kept beyond the entities' snapshots).</summary>
    public long CatalogSnapshotEvery { get; init; } = 10_000;

    /// <summary>Threads committing and removing files.</summary>
    public int FileWorkers { get; init; } = Math.Max(2, Environment.ProcessorCount);

    /// <summary>Where auto-update and refresh look for newer images (the remotes layer); null disables both.</summary>
    public IImageUpdateSource? UpdateSource { get; init; }

    /// <summary>
    /// How often the expiry rules run (<c>images.eviction_interval</c>; Incus prunes daily, a pass here only reads the
    /// read model); null runs them at start and on request only. The size bound does not wait for it.
    /// </summary>
    public TimeSpan? EvictionInterval { get; init; } = TimeSpan.FromMinutes(1);

    /// <summary>
    /// Akka.NET settings (HOCON) that win over the store's own: the <c>akka { }</c> sections of <c>akka.hocon</c>.
    /// </summary>
    public string? AkkaHocon { get; init; }

    /// <summary>
    /// Where Akka.NET logs (actor failures, dead letters, cluster and persistence warnings), through
    /// Microsoft.Extensions.Logging; null keeps Akka's own console logger at warnings.
    /// </summary>
    public ILoggerFactory? LoggerFactory { get; init; }

    /// <summary>
    /// Makes the store's <see cref="ImageStore.Meter"/> when it is started with <see cref="ImageStore.StartAsync"/> (a
    /// hosted store takes the host's); null makes a meter of its own, which OpenTelemetry finds by its name all the same.
    /// </summary>
    public System.Diagnostics.Metrics.IMeterFactory? MeterFactory { get; init; }

    /// <summary>
    /// Round-trips every message sent to an entity through its serializer first, as a region does between nodes,
    /// so that a message that could not cross nodes fails in tests.
    /// </summary>
    public bool VerifyMessageSerialization { get; init; }

    /// <summary>The stall bound in force: <see cref="StallTimeout"/>, or the one the download options imply; null = none.</summary>
    internal TimeSpan? StallBound =>
        StallTimeout is { } set ? (set > TimeSpan.Zero ? set : null)
        : Options.DownloadStallTimeout > TimeSpan.Zero ? Options.DownloadStallTimeout + Options.DownloadMaxRetryWait
        : null;
}
