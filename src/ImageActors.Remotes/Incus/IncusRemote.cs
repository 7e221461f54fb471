using System.Globalization;
using System.Net;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json;
using System.Text.Json.Serialization.Metadata;
using ImageActors.Remotes.Download;
using ImageActors.Streaming;
using ImageActors.Streaming.Storage;

namespace ImageActors.Remotes.Incus;

/// <summary>
/// Client of an Incus or LXD image server over its REST API, as the <c>incus</c> client talks to
/// it: public remotes (no client certificate), trusted ones (client certificate), a pinned server
/// certificate instead of the system CAs, TLS 1.3. Aliases are resolved one at a time
/// (<c>GET /1.0/images/aliases/&lt;name&gt;</c>): LXD refuses the alias list to untrusted clients.
/// </summary>
public sealed class IncusRemote : IImageRemote
{
    private const int MaxJsonBytes = 64 << 20;
    private readonly HttpClient _client;
    private readonly ImageDownloader _downloader;
    private readonly RemoteConnection _connection;
    private readonly string? _project;
    private readonly string _base;
    private readonly SingleFlight<(string Alias, string? Type), RemoteImage> _aliasLookups = new();
    private readonly SingleFlight<(string Fingerprint, string? Secret), RemoteImage> _imageLookups = new();
    private readonly Lazy<HttpClient> _headersOnlyClient;

    /// <summary>Creates a client for <paramref name="server"/> (e.g. <c>https://images.example:8443</c>).</summary>
    /// <param name="server">The server URL.</param>
    /// <param name="downloader">The node's downloader (bounded parallelism, retries).</param>
    /// <param name="connection">TLS and timeouts; defaults to system CAs and no client certificate.</param>
    /// <param name="protocol"><c>incus</c> or <c>lxd</c>, recorded as the image source's protocol.</param>
    /// <param name="project">Project at the source, sent as <c>?project=</c> (the daemon sends <c>default</c>).</param>
    public IncusRemote(Uri server, ImageDownloader downloader, RemoteConnection? connection = null, string protocol = "incus", string? project = null)
    {
        ArgumentNullException.ThrowIfNull(server);
        ArgumentNullException.ThrowIfNull(downloader);
        Server = server;
        Protocol = protocol;
        _downloader = downloader;
        _connection = connection ?? new RemoteConnection();
        _client = _connection.CreateClient();
        _headersOnlyClient = new Lazy<HttpClient>(_connection.CreateHeadersOnlyClient);
        _project = project;
        _base = server.GetLeftPart(UriPartial.Path).TrimEnd('/');
    }

    /// <inheritdoc />
    public Uri Server { get; }

    /// <inheritdoc />
    public string Protocol { get; }

    /// <summary><c>GET /1.0</c>.</summary>
    public Task<ServerInfo> GetServerAsync(CancellationToken cancellationToken = default) =>
        GetAsync("/1.0", null, IncusJsonContext.Default.ServerInfo, cancellationToken);

    /// <summary><c>GET /1.0/images/aliases/&lt;name&gt;</c>; a <c>/</c> in the name is sent as <c>%2F</c>, as LXD does.</summary>
    /// <exception cref="ImageNotFoundException">No such alias.</exception>
    public async Task<ImageAliasesEntry> GetAliasAsync(string name, CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrEmpty(name);
        try
        {
            return await GetAsync("/1.0/images/aliases/" + Uri.EscapeDataString(name), null, IncusJsonContext.Default.ImageAliasesEntry, cancellationToken).ConfigureAwait(false);
        }
        catch (RemoteErrorResponseException e) when (e.StatusCode == 404)
        {
            throw new ImageNotFoundException(name, Server, e);
        }
    }

    /// <inheritdoc />
    /// <remarks>Concurrent resolutions of one alias share one alias request and one image request.</remarks>
    public Task<RemoteImage> ResolveAliasAsync(string alias, string? type = null, CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrEmpty(alias);
        return _aliasLookups.RunAsync((alias, type), key => LookUpAliasAsync(key.Alias, key.Type), cancellationToken);
    }

    private async Task<RemoteImage> LookUpAliasAsync(string alias, string? type)
    {
        var entry = await GetAliasAsync(alias, CancellationToken.None).ConfigureAwait(false);
        var entryType = entry.Type.Length == 0 ? ImageTypes.Container : entry.Type;
        if (type is { Length: > 0 } && type != entryType)
        {
            throw new ImageNotFoundException($"{alias} ({type})", Server);
        }

        var image = await GetImageAsync(entry.Target, null, CancellationToken.None).ConfigureAwait(false);
        return image with { Alias = alias };
    }

    /// <inheritdoc />
    public Task<RemoteImage> GetImageAsync(string fingerprint, CancellationToken cancellationToken = default) =>
        GetImageAsync(fingerprint, null, cancellationToken);

    /// <summary>
    /// <c>GET /1.0/images/&lt;fp or prefix&gt;[?secret=]</c>; the secret opens a private image, and the image's
    /// export URL carries it too. Concurrent lookups of one image share one request.
    /// </summary>
    /// <exception cref="ImageNotFoundException">No image matches (or it is private and the secret is wrong).</exception>
    public Task<RemoteImage> GetImageAsync(string fingerprint, string? secret, CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrEmpty(fingerprint);
        return _imageLookups.RunAsync((fingerprint, string.IsNullOrEmpty(secret) ? null : secret), key => LookUpImageAsync(key.Fingerprint, key.Secret), cancellationToken);
    }

    private async Task<RemoteImage> LookUpImageAsync(string fingerprint, string? secret)
    {
        try
        {
            var image = await GetAsync("/1.0/images/" + Uri.EscapeDataString(fingerprint), secret, IncusJsonContext.Default.Image, CancellationToken.None).ConfigureAwait(false);
            return ToRemoteImage(image, secret);
        }
        catch (RemoteErrorResponseException e) when (e.StatusCode == 404)
        {
            throw new ImageNotFoundException(fingerprint, Server, e);
        }
    }

    /// <inheritdoc />
    public async Task<IReadOnlyList<RemoteImage>> ListImagesAsync(CancellationToken cancellationToken = default)
    {
        var images = await GetAsync("/1.0/images", null, IncusJsonContext.Default.IReadOnlyListImage, cancellationToken, "recursion=1").ConfigureAwait(false);
        return images.Select(i => ToRemoteImage(i, null)).ToList();
    }

    /// <inheritdoc />
    /// <remarks>
    /// A unified export resumes with <c>Range</c> after an interruption; a split export
    /// (multipart, no length, no ranges) restarts from the beginning.
    /// </remarks>
    public Task<DownloadedImage> DownloadAsync(RemoteImage image, string tempDirectory, IProgress<DownloadProgress>? progress = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(image);
        ArgumentException.ThrowIfNullOrEmpty(tempDirectory);
        return _downloader.RunInSlotAsync(ct => DownloadInSlotAsync(image, tempDirectory, progress, ct), cancellationToken);
    }

    /// <summary>
    /// Whether the image's export is one file or two, from the headers of <c>GET /1.0/images/&lt;fp&gt;/export</c> with
    /// <c>Range: bytes=0-0</c>; the body is never read, its connection is closed instead. The LXD 5.0.2 daemon answers
    /// a unified image with <c>206</c>, <c>Content-Range: bytes 0-0/&lt;length&gt;</c> and its
    /// <c>Content-Disposition</c> filename, and a split one with <c>200</c> and the whole chunked
    /// <c>multipart/form-data</c> body (it ignores the range); it answers <c>HEAD</c> with <c>501</c>, hence the GET.
    /// A server that ignores ranges altogether answers a unified image with <c>200</c> and a plain content type.
    /// </summary>
    /// <returns>The shape, or <see cref="ExportShape.Unknown"/> when the server could not be asked or answered neither way.</returns>
    public async Task<ExportProbe> ProbeExportAsync(RemoteImage image, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(image);
        if (image.Files is not [{ Role: RemoteFileRole.Export, Sources: [var url, ..] }])
        {
            return ExportProbe.Unknown;
        }

        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        timeout.CancelAfter(_connection.RequestTimeout);
        try
        {
            using var request = new HttpRequestMessage(HttpMethod.Get, url);
            request.Headers.Range = new RangeHeaderValue(0, 0);
            using var response = await _headersOnlyClient.Value.SendAsync(request, HttpCompletionOption.ResponseHeadersRead, timeout.Token).ConfigureAwait(false);
            return ShapeOf(response);
        }
        catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
        {
            return ExportProbe.Unknown;
        }
        catch (HttpRequestException)
        {
            return ExportProbe.Unknown;
        }
    }

    private static ExportProbe ShapeOf(HttpResponseMessage response)
    {
        var headers = response.Content.Headers;
        var name = headers.ContentDisposition is { } disposition && (disposition.FileNameStar ?? disposition.FileName) is { Length: > 0 } given
            ? Path.GetFileName(given.Trim('"'))
            : null;
        if (response.StatusCode == HttpStatusCode.PartialContent)
        {
            return headers.ContentRange is { HasLength: true, Length: { } length } ? new ExportProbe(ExportShape.Unified, length, name) : ExportProbe.Unknown;
        }

        if (response.StatusCode != HttpStatusCode.OK || IsJson(response))
        {
            return ExportProbe.Unknown;
        }

        return headers.ContentType?.MediaType?.StartsWith("multipart/form-data", StringComparison.OrdinalIgnoreCase) == true
            ? new ExportProbe(ExportShape.Split)
            : new ExportProbe(ExportShape.Unified, headers.ContentLength, name);
    }

    /// <inheritdoc />
    public void Dispose()
    {
        _client.Dispose();
        if (_headersOnlyClient.IsValueCreated)
        {
            _headersOnlyClient.Value.Dispose();
        }
    }

    private async Task<DownloadedImage> DownloadInSlotAsync(RemoteImage image, string tempDirectory, IProgress<DownloadProgress>? progress, CancellationToken cancellationToken)
    {
        var url = image.Files[0].Sources[0];
        var expected = image.Fingerprint.ToString();
        var options = _downloader.Options;
        for (var attempt = 1; ; attempt++)
        {
            HttpResponseMessage? response = null;
            try
            {
                response = await SendExportAsync(url, cancellationToken).ConfigureAwait(false);
                if (MultipartReader.BoundaryOf(response.Content.Headers.ContentType) is not { } boundary)
                {
                    // Unified: the downloader takes this reply over and resumes with Range if it breaks.
                    var first = response;
                    response = null;
                    var file = await _downloader.DownloadInSlotAsync(
                        new DownloadRequest
                        {
                            Client = _client,
                            Sources = [url],
                            TempDirectory = tempDirectory,
                            ExpectedSize = image.Info.Size > 0 ? image.Info.Size : null,
                            ExpectedSha256 = expected,
                            Progress = progress,
                            Settings = image.DownloadSettings,
                            RequireFileName = true,
                            FirstResponse = first,
                        },
                        cancellationToken).ConfigureAwait(false);
                    return new DownloadedImage(image.Fingerprint, image.Type, file, null);
                }

                return await ReadSplitAsync(response, boundary, url, image, tempDirectory, progress, cancellationToken).ConfigureAwait(false);
            }
            catch (Exception e) when (attempt < options.MaxAttempts && !cancellationToken.IsCancellationRequested
                && e is HttpRequestException or IOException or TimeoutException)
            {
                var delay = _downloader.RetryDelay(attempt, e, image.DownloadSettings);
                if (options.OnRetry is { } onRetry)
                {
                    await onRetry(new DownloadRetry(url, attempt, 0, delay, e)).ConfigureAwait(false);
                }

                await Task.Delay(delay, cancellationToken).ConfigureAwait(false);
            }
            catch (Exception e) when (!cancellationToken.IsCancellationRequested && e is HttpRequestException or TimeoutException or (IOException and not InsufficientStorageException))
            {
                throw new RemoteException(string.Create(CultureInfo.InvariantCulture, $"Download of {url} gave up after {attempt} {(attempt == 1 ? "attempt" : "attempts")}: {e.Message.TrimEnd('.')}."), url, e);
            }
            finally
            {
                response?.Dispose();
            }
        }
    }

    private async Task<HttpResponseMessage> SendExportAsync(Uri url, CancellationToken cancellationToken)
    {
        using var headers = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        headers.CancelAfter(_downloader.Options.ResponseHeaderTimeout);
        HttpResponseMessage response;
        try
        {
            using var request = new HttpRequestMessage(HttpMethod.Get, url);
            request.Options.Set(RemoteConnection.BulkTransfer, true);
            response = await _client.SendAsync(request, HttpCompletionOption.ResponseHeadersRead, headers.Token).ConfigureAwait(false);
        }
        catch (OperationCanceledException e) when (!cancellationToken.IsCancellationRequested)
        {
            throw new TimeoutException($"No response headers from {url} within {_downloader.Options.ResponseHeaderTimeout}.", e);
        }

        if (response.StatusCode == HttpStatusCode.OK)
        {
            return response;
        }

        using (response)
        {
            if (RemoteResponses.IsTransient(response.StatusCode))
            {
                // Carries Retry-After, so that the next attempt waits as long as the server asked.
                throw RemoteResponses.Transient(response, url, TimeProvider.System);
            }

            var error = await RemoteResponses.ToErrorAsync(response, url, cancellationToken).ConfigureAwait(false);
            throw error.StatusCode == 404 ? new ImageNotFoundException(url.AbsolutePath, Server, error) : error;
        }
    }

    /// <summary>Split export: parts <c>metadata</c> then <c>rootfs</c> / <c>rootfs.img</c>, hashed together.</summary>
    private async Task<DownloadedImage> ReadSplitAsync(HttpResponseMessage response, string boundary, Uri url, RemoteImage image, string tempDirectory, IProgress<DownloadProgress>? progress, CancellationToken cancellationToken)
    {
        Directory.CreateDirectory(tempDirectory);
        var chunk = _downloader.Options.ChunkSize;
        var metaPath = Path.Combine(tempDirectory, $"metadata-{Guid.NewGuid():N}.part");
        var rootPath = Path.Combine(tempDirectory, $"rootfs-{Guid.NewGuid():N}.part");
        var ok = false;
        try
        {
            using var body = await response.Content.ReadAsStreamAsync(cancellationToken).ConfigureAwait(false);
            using var reader = new MultipartReader(body, boundary, chunk);
            var started = TimeProvider.System.GetTimestamp();
            var total = image.Info.Size > 0 ? image.Info.Size : (long?)null;

            var meta = await reader.ReadNextSectionAsync(cancellationToken).ConfigureAwait(false);
            if (meta?.Name != "metadata")
            {
                throw new RemoteProtocolException($"Invalid multipart image from {url}: first part is '{meta?.Name}', expected 'metadata'", url);
            }

            string metaSha;
            long metaSize;
            using (var writer = new HashingFileWriter(metaPath, chunk, null, null, keepFileHash: true))
            {
                await CopyAsync(meta.Body, writer, 0, total, started, progress, cancellationToken).ConfigureAwait(false);
                metaSize = writer.Length;
                (metaSha, _) = await writer.FinishAsync().ConfigureAwait(false);
            }

            var root = await reader.ReadNextSectionAsync(cancellationToken).ConfigureAwait(false);
            if (root?.Name is not ("rootfs" or "rootfs.img"))
            {
                throw new RemoteProtocolException($"Invalid multipart image from {url}: second part is '{root?.Name}', expected 'rootfs' or 'rootfs.img'", url);
            }

            string combined;
            long rootSize;
            string rootSha;
            using (var writer = new HashingFileWriter(rootPath, chunk, null, metaPath, keepFileHash: true))
            {
                await CopyAsync(root.Body, writer, metaSize, total, started, progress, cancellationToken).ConfigureAwait(false);
                rootSize = writer.Length;
                (rootSha, var both) = await writer.FinishAsync().ConfigureAwait(false);
                combined = both!;
            }

            if (!combined.StartsWith(image.Fingerprint.ToString(), StringComparison.Ordinal))
            {
                throw new FingerprintMismatchException(url, image.Fingerprint.ToString(), combined);
            }

            var type = root.Name == "rootfs.img" ? ImageTypes.VirtualMachine : ImageTypes.Container;
            ok = true;
            return new DownloadedImage(
                image.Fingerprint,
                type,
                new DownloadedFile(metaPath, metaSize, metaSha, null, meta.FileName ?? $"meta-{image.Fingerprint}", url, 1),
                new DownloadedFile(rootPath, rootSize, rootSha, combined, root.FileName ?? image.Fingerprint.ToString(), url, 1));
        }
        catch (InvalidDataException e)
        {
            throw new RemoteProtocolException($"Invalid multipart image from {url}: {e.Message}", url, e);
        }
        finally
        {
            if (!ok)
            {
                ImageDownloader.TryDelete(metaPath);
                ImageDownloader.TryDelete(rootPath);
            }
        }
    }

    private static async Task CopyAsync(Stream source, HashingFileWriter writer, long offset, long? total, long started, IProgress<DownloadProgress>? progress, CancellationToken cancellationToken)
    {
        var lastReport = started;
        while (true)
        {
            var buffer = writer.NextBuffer;
            var filled = 0;
            int n;
            while (filled < buffer.Length && (n = await source.ReadAsync(buffer[filled..], cancellationToken).ConfigureAwait(false)) > 0)
            {
                filled += n;
            }

            if (filled == 0)
            {
                await writer.DrainAsync().ConfigureAwait(false);
                return;
            }

            await writer.CommitAsync(filled).ConfigureAwait(false);
            if (progress is not null && TimeProvider.System.GetElapsedTime(lastReport).TotalMilliseconds >= 500)
            {
                lastReport = TimeProvider.System.GetTimestamp();
                var received = offset + writer.Length;
                progress.Report(new DownloadProgress("", received, total, received / TimeProvider.System.GetElapsedTime(started).TotalSeconds));
            }
        }
    }

    private RemoteImage ToRemoteImage(Image image, string? secret)
    {
        if (!Fingerprint.TryParse(image.Fingerprint, out var fingerprint))
        {
            throw new RemoteProtocolException($"Image from {Server} has an invalid fingerprint '{image.Fingerprint}'", Server);
        }

        var export = BuildUrl("/1.0/images/" + image.Fingerprint + "/export", secret);
        return new RemoteImage
        {
            Fingerprint = fingerprint,
            Info = image,
            Secret = secret,
            Files = [new RemoteImageFile { Role = RemoteFileRole.Export, Sources = [export], Size = image.Size > 0 ? image.Size : null, Sha256 = image.Fingerprint, FileName = image.Filename }],
        };
    }

    private Uri BuildUrl(string path, string? secret, string? extraQuery = null)
    {
        var query = new StringBuilder();
        void Add(string part) => query.Append(query.Length == 0 ? '?' : '&').Append(part);
        if (extraQuery is not null)
        {
            Add(extraQuery);
        }

        if (_project is not null)
        {
            Add("project=" + Uri.EscapeDataString(_project));
        }

        if (secret is not null)
        {
            Add("secret=" + Uri.EscapeDataString(secret));
        }

        return new Uri(_base + path + query.ToString());
    }

    private async Task<T> GetAsync<T>(string path, string? secret, JsonTypeInfo<T> typeInfo, CancellationToken cancellationToken, string? extraQuery = null)
    {
        var url = BuildUrl(path, secret, extraQuery);
        try
        {
            // A server that is briefly unavailable (503 from a proxy, a cut connection, no answer in time) is asked again.
            return await _downloader.RetryAsync(url, token => GetOnceAsync(url, typeInfo, token), cancellationToken).ConfigureAwait(false);
        }
        catch (HttpRequestException e)
        {
            throw new RemoteException($"Failed to reach {url}: {RemoteException.Reason(e)}", url, e);
        }
    }

    private async Task<T> GetOnceAsync<T>(Uri url, JsonTypeInfo<T> typeInfo, CancellationToken cancellationToken)
    {
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        timeout.CancelAfter(_connection.RequestTimeout);
        byte[] body;
        HttpStatusCode status;
        try
        {
            using var response = await _client.GetAsync(url, HttpCompletionOption.ResponseHeadersRead, timeout.Token).ConfigureAwait(false);
            status = response.StatusCode;

            // An Incus error envelope is the daemon's considered answer, except the ones that say "later"; a status
            // without an envelope comes from whatever stands in front of it.
            if (RemoteResponses.IsTransient(status) && (!IsJson(response) || status is HttpStatusCode.ServiceUnavailable or HttpStatusCode.TooManyRequests))
            {
                throw RemoteResponses.Transient(response, url, TimeProvider.System);
            }

            if (!response.IsSuccessStatusCode && !IsJson(response))
            {
                throw await RemoteResponses.ToErrorAsync(response, url, cancellationToken).ConfigureAwait(false);
            }

            body = await RemoteResponses.ReadLimitedAsync(response.Content, MaxJsonBytes, timeout.Token).ConfigureAwait(false);
        }
        catch (OperationCanceledException e) when (!cancellationToken.IsCancellationRequested)
        {
            throw new TimeoutException($"{url} did not answer within {_connection.RequestTimeout}.", e);
        }

        IncusResponse<JsonElement>? envelope;
        try
        {
            envelope = JsonSerializer.Deserialize(body, IncusJsonContext.Default.IncusResponseJsonElement);
        }
        catch (JsonException e)
        {
            throw new RemoteProtocolException($"Failed to fetch {url}: {(int)status} (reply is not an Incus envelope: {e.Message})", url, e);
        }

        if (envelope is null)
        {
            throw new RemoteProtocolException($"Empty reply from {url}", url);
        }

        if (envelope.Type == ResponseTypes.Error || !((int)status is >= 200 and < 300))
        {
            var code = envelope.ErrorCode != 0 ? envelope.ErrorCode : (int)status;
            var text = envelope.Error.Length > 0 ? envelope.Error : string.Create(CultureInfo.InvariantCulture, $"Failed to fetch {url}: {(int)status}");
            throw new RemoteErrorResponseException(url, code, text);
        }

        try
        {
            return envelope.Metadata.Deserialize(typeInfo) ?? throw new RemoteProtocolException($"Reply of {url} has no metadata", url);
        }
        catch (JsonException e)
        {
            throw new RemoteProtocolException($"Reply of {url} does not match the Incus API: {e.Message}", url, e);
        }
    }

    private static bool IsJson(HttpResponseMessage response) =>
        response.Content.Headers.ContentType?.MediaType?.Contains("json", StringComparison.OrdinalIgnoreCase) == true;
}
