using System.Net;
using System.Text.Json;
using System.Text.Json.Serialization.Metadata;
using ImageActors.Remotes.Download;
using ImageActors.Streaming;

namespace ImageActors.Remotes.SimpleStreams;

/// <summary>
/// Client of a SimpleStreams image server (<c>streams/v1/index.json</c> and products files), as
/// Incus consumes one: the catalog is kept in memory for <see cref="IndexTtl"/> (a stale copy is
/// used when the server cannot be reached), files are fetched over plain http first then https,
/// and each file's sha256 and the combined fingerprint are verified.
/// </summary>
public sealed class SimpleStreamsRemote : IImageRemote
{
    private const int MaxJsonBytes = 256 << 20;

    // Reading only: a null where the model has none ("path": null) is a JSON error naming the property, not a null for
    // the catalog to trip on. Writing (the server's own files) keeps the plain context.
    private static readonly SimpleStreamsJsonContext StrictReading = new(new JsonSerializerOptions(SimpleStreamsJsonContext.Default.Options) { RespectNullableAnnotations = true });
    private readonly HttpClient _client;
    private readonly ImageDownloader _downloader;
    private readonly RemoteConnection _connection;
    private readonly TimeProvider _time;
    private readonly string _native;
    private readonly string _base;
    private readonly SingleFlight<bool, SimpleStreamsCatalog> _catalogFetches = new();
    private CachedCatalog? _cached;

    /// <summary>Creates a client for the server rooted at <paramref name="server"/>.</summary>
    /// <param name="server">Server root (the folder holding <c>streams/</c>).</param>
    /// <param name="downloader">The node's downloader.</param>
    /// <param name="connection">TLS and timeouts.</param>
    /// <param name="nativeArchitecture">Canonical architecture short aliases resolve for; the process's by default.</param>
    /// <param name="indexTtl">How long the catalog is reused (Incus' daemon: 1 h).</param>
    /// <param name="time">Clock for the cache.</param>
    public SimpleStreamsRemote(Uri server, ImageDownloader downloader, RemoteConnection? connection = null, string? nativeArchitecture = null, TimeSpan? indexTtl = null, TimeProvider? time = null)
    {
        ArgumentNullException.ThrowIfNull(server);
        ArgumentNullException.ThrowIfNull(downloader);
        Server = server;
        _downloader = downloader;
        _connection = connection ?? new RemoteConnection();
        _client = _connection.CreateClient();
        _native = nativeArchitecture ?? Architectures.Native;
        IndexTtl = indexTtl ?? TimeSpan.FromHours(1);
        _time = time ?? TimeProvider.System;
        _base = server.GetLeftPart(UriPartial.Path).TrimEnd('/') + "/";
    }

    /// <inheritdoc />
    public Uri Server { get; }

    /// <inheritdoc />
    public string Protocol => "simplestreams";

    /// <summary>How long the index and products are reused before being fetched again.</summary>
    public TimeSpan IndexTtl { get; }

    /// <summary>The catalog: from memory while fresh, otherwise fetched (or the stale copy if the server is unreachable).</summary>
    public async Task<SimpleStreamsCatalog> GetCatalogAsync(CancellationToken cancellationToken = default)
    {
        var cached = _cached;
        if (cached is not null && _time.GetElapsedTime(cached.LoadedAt) < IndexTtl)
        {
            return cached.Catalog;
        }

        try
        {
            // Callers that find the catalog stale at once share one fetch of the index and products files.
            return await _catalogFetches.RunAsync(true, _ => FetchAndKeepCatalogAsync(), cancellationToken).ConfigureAwait(false);
        }
        catch (RemoteException) when (cached is not null && !cancellationToken.IsCancellationRequested)
        {
            return cached.Catalog;
        }
    }

    /// <summary>Drops the cached catalog (Incus does so when a file answers 404).</summary>
    public void InvalidateCatalog() => _cached = null;

    /// <inheritdoc />
    public async Task<RemoteImage> ResolveAliasAsync(string alias, string? type = null, CancellationToken cancellationToken = default)
    {
        var catalog = await GetCatalogAsync(cancellationToken).ConfigureAwait(false);
        var entry = catalog.FindAlias(alias, type) ?? throw new ImageNotFoundException(alias, Server);
        return ToRemoteImage(entry.Image, _base) with { Alias = alias };
    }

    /// <inheritdoc />
    public async Task<RemoteImage> GetImageAsync(string fingerprint, CancellationToken cancellationToken = default)
    {
        var catalog = await GetCatalogAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            var image = catalog.FindFingerprint(fingerprint) ?? throw new ImageNotFoundException(fingerprint, Server);
            return ToRemoteImage(image, _base);
        }
        catch (InvalidOperationException e)
        {
            throw new RemoteException(e.Message, Server, e);
        }
    }

    /// <inheritdoc />
    public async Task<IReadOnlyList<RemoteImage>> ListImagesAsync(CancellationToken cancellationToken = default)
    {
        var catalog = await GetCatalogAsync(cancellationToken).ConfigureAwait(false);
        return catalog.Images.Select(i => ToRemoteImage(i, _base)).ToList();
    }

    /// <inheritdoc />
    public async Task<DownloadedImage> DownloadAsync(RemoteImage image, string tempDirectory, IProgress<DownloadProgress>? progress = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(image);
        var meta = image.Files[0];
        var root = image.Files.Count > 1 ? image.Files[1] : null;
        DownloadedFile? metaFile = null;
        try
        {
            metaFile = await DownloadFileAsync(meta, root is null ? "" : "metadata", tempDirectory, null, image.DownloadSettings, progress, cancellationToken).ConfigureAwait(false);
            if (root is null)
            {
                return new DownloadedImage(image.Fingerprint, image.Type, metaFile, null);
            }

            var rootFile = await DownloadFileAsync(root, "rootfs", tempDirectory, metaFile.Path, image.DownloadSettings, progress, cancellationToken).ConfigureAwait(false);
            if (rootFile.CombinedSha256 != image.Fingerprint.ToString())
            {
                File.Delete(rootFile.Path);
                throw new FingerprintMismatchException(rootFile.Url, image.Fingerprint.ToString(), rootFile.CombinedSha256 ?? "");
            }

            return new DownloadedImage(image.Fingerprint, image.Type, metaFile, rootFile);
        }
        catch when (metaFile is not null)
        {
            ImageDownloader.TryDelete(metaFile.Path);
            throw;
        }
    }

    /// <inheritdoc />
    public void Dispose() => _client.Dispose();

    private async Task<DownloadedFile> DownloadFileAsync(RemoteImageFile file, string label, string tempDirectory, string? prefix, DownloadSettings? settings, IProgress<DownloadProgress>? progress, CancellationToken cancellationToken)
    {
        try
        {
            return await _downloader.DownloadAsync(
                new DownloadRequest
                {
                    Client = _client,
                    Sources = file.Sources,
                    TempDirectory = tempDirectory,
                    ExpectedSize = file.Size,
                    ExpectedSha256 = file.Sha256,
                    CombinedHashPrefixFile = prefix,
                    Label = label,
                    Progress = progress,
                    Settings = settings,
                },
                cancellationToken).ConfigureAwait(false);
        }
        catch (RemoteErrorResponseException e) when (e.StatusCode == 404)
        {
            InvalidateCatalog();
            throw;
        }
    }

    private async Task<SimpleStreamsCatalog> FetchAndKeepCatalogAsync()
    {
        var catalog = await FetchCatalogAsync(CancellationToken.None).ConfigureAwait(false);
        _cached = new CachedCatalog(catalog, _time.GetTimestamp());
        return catalog;
    }

    private async Task<SimpleStreamsCatalog> FetchCatalogAsync(CancellationToken cancellationToken)
    {
        var index = await GetJsonAsync("streams/v1/index.json", SimpleStreamsJsonContext.Default.StreamIndex, cancellationToken).ConfigureAwait(false);
        var files = new List<ProductsFile>();
        foreach (var path in ProductsPaths(index))
        {
            files.Add(await GetJsonAsync(path, SimpleStreamsJsonContext.Default.ProductsFile, cancellationToken).ConfigureAwait(false));
        }

        return SimpleStreamsCatalog.Build(files, _native);
    }

    /// <summary>The paths of the products files of <paramref name="index"/> that hold image downloads.</summary>
    internal static IEnumerable<string> ProductsPaths(StreamIndex index) =>
        index.Index.Values.Where(entry => entry is not null && entry.Datatype == "image-downloads" && entry.Products.Count > 0).Select(entry => entry.Path);

    /// <summary>The URL of <paramref name="path"/> on the server rooted at <paramref name="serverBase"/> (ending in '/').</summary>
    internal static Uri UrlOf(string serverBase, string path) => new(serverBase + path.TrimStart('/'));

    /// <summary>Reads an index or products file fetched from <paramref name="url"/>.</summary>
    /// <exception cref="RemoteProtocolException">The body is not SimpleStreams JSON of that kind.</exception>
    internal static T ParseJson<T>(byte[] body, JsonTypeInfo<T> typeInfo, Uri url)
    {
        try
        {
            var strict = (JsonTypeInfo<T>)StrictReading.GetTypeInfo(typeInfo.Type)!;
            return JsonSerializer.Deserialize(body, strict) ?? throw new RemoteProtocolException($"Empty JSON at {url}", url);
        }
        catch (JsonException e)
        {
            throw new RemoteProtocolException($"{url} is not valid SimpleStreams JSON: {e.Message}", url, e);
        }
    }

    private async Task<T> GetJsonAsync<T>(string path, JsonTypeInfo<T> typeInfo, CancellationToken cancellationToken)
    {
        var url = UrlOf(_base, path);

        // A server that is briefly unavailable (503, a cut connection, no answer in time) is asked again.
        return await _downloader.RetryAsync(url, token => GetJsonOnceAsync(url, typeInfo, token), cancellationToken).ConfigureAwait(false);
    }

    private async Task<T> GetJsonOnceAsync<T>(Uri url, JsonTypeInfo<T> typeInfo, CancellationToken cancellationToken)
    {
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        timeout.CancelAfter(_connection.RequestTimeout);
        try
        {
            using var response = await _client.GetAsync(url, HttpCompletionOption.ResponseHeadersRead, timeout.Token).ConfigureAwait(false);
            if (response.StatusCode != HttpStatusCode.OK)
            {
                throw RemoteResponses.IsTransient(response.StatusCode)
                    ? RemoteResponses.Transient(response, url, _time)
                    : await RemoteResponses.ToErrorAsync(response, url, cancellationToken).ConfigureAwait(false);
            }

            var body = await RemoteResponses.ReadLimitedAsync(response.Content, MaxJsonBytes, timeout.Token).ConfigureAwait(false);
            return ParseJson(body, typeInfo, url);
        }
        catch (OperationCanceledException e) when (!cancellationToken.IsCancellationRequested)
        {
            throw new TimeoutException($"{url} did not answer within {_connection.RequestTimeout}.", e);
        }
    }

    /// <summary>The image as the copy code sees it, its files' sources rooted at <paramref name="serverBase"/> (ending in '/').</summary>
    internal static RemoteImage ToRemoteImage(SimpleStreamsImage image, string serverBase)
    {
        var files = new List<RemoteImageFile> { File(image.Root is null ? RemoteFileRole.Unified : RemoteFileRole.Metadata, image.Metadata) };
        if (image.Root is not null)
        {
            files.Add(File(RemoteFileRole.Rootfs, image.Root));
        }

        return new RemoteImage { Fingerprint = Fingerprint.Parse(image.Info.Fingerprint), Info = image.Info, Files = files };

        RemoteImageFile File(RemoteFileRole role, ProductVersionItem item) => new()
        {
            Role = role,
            Sources = SourcesOf(serverBase, item.Path),
            Size = item.Size > 0 ? item.Size : null,
            Sha256 = item.Sha256,
            FileName = item.Path[(item.Path.LastIndexOf('/') + 1)..],
        };
    }

    /// <summary>Plain http on the same host and port first (caching proxies), then the server's own scheme.</summary>
    private static List<Uri> SourcesOf(string serverBase, string path)
    {
        var url = UrlOf(serverBase, path);
        if (url.Scheme != Uri.UriSchemeHttps)
        {
            return [url];
        }

        var plain = new UriBuilder(url) { Scheme = Uri.UriSchemeHttp, Port = url.Port }.Uri;
        return [plain, url];
    }

    private sealed record CachedCatalog(SimpleStreamsCatalog Catalog, long LoadedAt);
}
