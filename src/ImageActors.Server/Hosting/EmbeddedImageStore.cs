using ImageActors.Images;
using ImageActors.Images.Configuration;
using ImageActors.Images.Events;
using ImageActors.Images.Remote;
using ImageActors.Persistence.Sql;
using ImageActors.Persistence.Sql.Configuration;
using ImageActors.Persistence.Sql.Sqlite;
using ImageActors.Remotes.Download;
using Microsoft.Extensions.Logging.Abstractions;

namespace ImageActors.Server.Hosting;

/// <summary>
/// The embedded defaults: an <see cref="ImageStore"/> on a SQLite journal and snapshot store with
/// its files under the data directory, and the remote sources it copies and auto-updates from (one shared
/// downloader, so its parallelism bound covers copies and updates alike). Owns them all; dispose to stop them in order.
/// </summary>
public sealed class EmbeddedImageStore : IAsyncDisposable
{
    private readonly SqliteStore _database;
    private readonly SqlJournal _journal;
    private readonly ImageDownloader _downloader;

    private EmbeddedImageStore(SqliteStore database, SqlJournal journal, ImageStore store, ImageDownloader downloader, RemoteImageSources sources, ImagesOptions images)
    {
        _database = database;
        _journal = journal;
        _downloader = downloader;
        Store = store;
        Sources = sources;
        Copier = new RemoteImageCopier(store, sources, images);
        PullThrough = images.Upstreams.Count == 0 ? null : new PullThroughResolver(store, Copier, sources, images.Upstreams, images.UpstreamCatalogTtl);
    }

    /// <summary>The running store.</summary>
    public ImageStore Store { get; }

    /// <summary>The remote image servers the store copies from and auto-updates from.</summary>
    public RemoteImageSources Sources { get; }

    /// <summary>Copies images from remote servers and URLs into <see cref="Store"/>.</summary>
    public RemoteImageCopier Copier { get; }

    /// <summary>The cache appliance's fallback to the configured <c>images.upstreams</c>; null when none are configured.</summary>
    public PullThroughResolver? PullThrough { get; }

    /// <summary>Opens (creating if needed) the journal and starts the store.</summary>
    public static Task<EmbeddedImageStore> OpenAsync(string dataDirectory, PersistenceOptions persistence, ImagesOptions images, CancellationToken cancellationToken = default) =>
        OpenAsync(dataDirectory, persistence, images, NullLoggerFactory.Instance, cancellationToken);

    /// <summary>
    /// Opens (creating if needed) the journal and starts the store; downloads log their retries, ignored ranges and
    /// failed sources to <paramref name="loggerFactory"/>.
    /// </summary>
    public static async Task<EmbeddedImageStore> OpenAsync(string dataDirectory, PersistenceOptions persistence, ImagesOptions images, ILoggerFactory loggerFactory, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(loggerFactory);
        ArgumentNullException.ThrowIfNull(persistence);
        if (persistence.Plugin != "sqlite")
        {
            throw new NotSupportedException($"persistence.plugin = {persistence.Plugin}: the server opens the embedded SQLite journal only; clusters run with their own host");
        }

        ArgumentNullException.ThrowIfNull(images);
        var database = await SqliteStore.OpenAsync(persistence.ToSqliteSettings(), cancellationToken);
        SqlJournal? journal = null;
        var downloader = new ImageDownloader(images.ToDownloadOptions(), logger: loggerFactory.CreateLogger<ImageDownloader>());
        var sources = new RemoteImageSources(downloader, images.ToRemoteConnection());
        try
        {
            journal = new SqlJournal(database, ImageEventSerializer.Instance, persistence.ToJournalSettings());
            var snapshots = new SqlSnapshotStore(database, ImageEventSerializer.Instance);
            var settings = new ImageStoreSettings(dataDirectory, journal, journal, snapshots) { Options = images, UpdateSource = new RemoteUpdateSource(sources) };
            var store = await ImageStore.StartAsync(settings, cancellationToken);
            return new EmbeddedImageStore(database, journal, store, downloader, sources, images);
        }
        catch
        {
            sources.Dispose();
            downloader.Dispose();
            if (journal is not null)
            {
                await journal.DisposeAsync();
            }

            await database.DisposeAsync();
            throw;
        }
    }

    /// <inheritdoc />
    public async ValueTask DisposeAsync()
    {
        await Store.DisposeAsync();
        Sources.Dispose();
        _downloader.Dispose();
        await _journal.DisposeAsync();
        await _database.DisposeAsync();
    }
}
