using ImageActors.Images;
using ImageActors.Images.Configuration;
using ImageActors.Images.Remote;
using ImageActors.Remotes.Download;
using Microsoft.Extensions.Logging.Abstractions;

namespace ImageActors.Server.Hosting;

/// <summary>
/// The server's store: an <see cref="ImageStore"/> on a SQLite (or PostgreSQL) journal and snapshot store with
/// its files under the data directory, and the remote sources it copies and auto-updates from (one shared
/// downloader, so its parallelism bound covers copies and updates alike). Owns them all; dispose to stop them in order.
/// </summary>
public sealed class EmbeddedImageStore : IAsyncDisposable
{
    private readonly ImageDownloader _downloader;

    private EmbeddedImageStore(ImageStore store, ImageDownloader downloader, RemoteImageSources sources, ImagesOptions images)
    {
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
    /// <param name="dataDirectory">Holds the image files.</param>
    /// <param name="persistence">The journal's database.</param>
    /// <param name="images">The <c>images.*</c> options.</param>
    /// <param name="loggerFactory">
    /// Where downloads log their retries, ignored ranges and failed sources, and the actor system its failures and dead
    /// letters; null logs nothing of the downloads and keeps Akka's console logger at warnings.
    /// </param>
    /// <param name="akkaHocon">Akka.NET settings that win over the store's (the <c>akka { }</c> sections of the configuration), or null.</param>
    /// <param name="verifyMessages">Round-trip every message to an entity through its serializer (tests).</param>
    /// <param name="actors">The <c>actors.*</c> options (throughput, ask timeout, passivation, concurrent recoveries), or the defaults.</param>
    /// <param name="cancellationToken">Stops the start.</param>
    public static async Task<EmbeddedImageStore> OpenAsync(
        string dataDirectory,
        PersistenceOptions persistence,
        ImagesOptions images,
        ILoggerFactory? loggerFactory = null,
        string? akkaHocon = null,
        bool verifyMessages = false,
        ActorSystemOptions? actors = null,
        CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(persistence);
        ArgumentNullException.ThrowIfNull(images);
        var downloader = new ImageDownloader(images.ToDownloadOptions(), logger: (loggerFactory ?? NullLoggerFactory.Instance).CreateLogger<ImageDownloader>());
        var sources = new RemoteImageSources(downloader, images.ToRemoteConnection(), images.DefaultArchitecture);
        try
        {
            var settings = ImageStoreSettings.FromOptions(dataDirectory, persistence, images, actors ?? new ActorSystemOptions(), akkaHocon) with
            {
                UpdateSource = new RemoteUpdateSource(sources),
                VerifyMessageSerialization = verifyMessages,
                LoggerFactory = loggerFactory,
            };
            var store = await ImageStore.StartAsync(settings, cancellationToken);
            return new EmbeddedImageStore(store, downloader, sources, images);
        }
        catch
        {
            sources.Dispose();
            downloader.Dispose();
            throw;
        }
    }

    /// <inheritdoc />
    public async ValueTask DisposeAsync()
    {
        await Store.DisposeAsync();
        Sources.Dispose();
        _downloader.Dispose();
    }
}
