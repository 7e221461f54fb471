using ImageActors.Remotes.Download;
using ImageActors.Remotes.Incus;
using ImageActors.Streaming;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;

namespace ImageActors.Remotes.Direct;

/// <summary>
/// Import from a URL (Incus' "direct" protocol, spec §4): a HEAD request announces our
/// architectures and version (<c>Incus-Server-Architectures</c>, <c>Incus-Server-Version</c> and the
/// <c>LXD-</c> spellings); the reply names the file's hash and URL (<c>Incus-Image-Hash</c>,
/// <c>Incus-Image-URL</c>, or <c>LXD-</c>). Only unified images work this way. Plain http is
/// allowed (internal mirrors use it) with a warning, since then only the hash protects the bytes.
/// </summary>
public sealed partial class DirectRemote : IImageRemote
{
    private readonly HttpClient _client;
    private readonly ImageDownloader _downloader;
    private readonly RemoteConnection _connection;
    private readonly IReadOnlyList<string> _architectures;
    private readonly string _version;
    private readonly ILogger _logger;
    private readonly SingleFlight<bool, RemoteImage> _heads = new();

    /// <summary>Creates a client for the image at <paramref name="url"/>.</summary>
    /// <param name="url">The URL the user gave.</param>
    /// <param name="downloader">The node's downloader.</param>
    /// <param name="connection">TLS (system CAs or a pinned certificate).</param>
    /// <param name="architectures">Canonical architectures we run; the native one and its personalities by default.</param>
    /// <param name="serverVersion">Version sent in <c>Incus-Server-Version</c>.</param>
    /// <param name="logger">Where the plain-http warning goes.</param>
    public DirectRemote(Uri url, ImageDownloader downloader, RemoteConnection? connection = null, IReadOnlyList<string>? architectures = null, string serverVersion = "6.0", ILogger<DirectRemote>? logger = null)
    {
        ArgumentNullException.ThrowIfNull(url);
        ArgumentNullException.ThrowIfNull(downloader);
        if (url.Scheme != Uri.UriSchemeHttp && url.Scheme != Uri.UriSchemeHttps)
        {
            throw new ArgumentException($"'{url}' is not an http or https URL.", nameof(url));
        }

        Server = url;
        _downloader = downloader;
        _connection = connection ?? new RemoteConnection();
        _client = _connection.CreateClient();
        _architectures = architectures ?? [Architectures.Native, .. Architectures.Personalities(Architectures.Native)];
        _version = serverVersion;
        _logger = (ILogger?)logger ?? NullLogger.Instance;
    }

    /// <inheritdoc />
    public Uri Server { get; }

    /// <inheritdoc />
    public string Protocol => "direct";

    /// <summary>
    /// Asks the server (HEAD) which file to fetch and its hash. Concurrent resolutions share one HEAD request; a
    /// failed one is not kept, so the next resolution asks again.
    /// </summary>
    /// <exception cref="MissingHeaderException">The reply lacks the hash or URL header.</exception>
    /// <exception cref="RemoteException">The server cannot be reached or does not answer within the request timeout.</exception>
    public Task<RemoteImage> ResolveAsync(CancellationToken cancellationToken = default) =>
        // Every HEAD of this client is the same request: one URL announcing one set of architectures and one version.
        _heads.RunAsync(true, _ => HeadAsync(), cancellationToken);

    private async Task<RemoteImage> HeadAsync()
    {
        using var request = new HttpRequestMessage(HttpMethod.Head, Server);
        var architectures = string.Join(", ", _architectures);
        request.Headers.TryAddWithoutValidation("Incus-Server-Architectures", architectures);
        request.Headers.TryAddWithoutValidation("Incus-Server-Version", _version);
        request.Headers.TryAddWithoutValidation("LXD-Server-Architectures", architectures);
        request.Headers.TryAddWithoutValidation("LXD-Server-Version", _version);
        HttpResponseMessage response;
        using var timeout = new CancellationTokenSource(_connection.RequestTimeout);
        try
        {
            response = await _client.SendAsync(request, timeout.Token).ConfigureAwait(false);
        }
        catch (OperationCanceledException e)
        {
            throw new RemoteException($"{Server} did not answer within {_connection.RequestTimeout}", Server, e);
        }
        catch (HttpRequestException e)
        {
            throw new RemoteException($"Failed to reach {Server}: {RemoteException.Reason(e)}", Server, e);
        }

        using (response)
        {
            // As in Incus, the HEAD status is not checked: only the headers count.
            var hash = Header(response, "Incus-Image-Hash", "LXD-Image-Hash") ?? throw new MissingHeaderException(Server, "Incus-Image-Hash");
            var location = Header(response, "Incus-Image-URL", "LXD-Image-URL") ?? throw new MissingHeaderException(Server, "Incus-Image-URL");
            if (!Fingerprint.TryParse(hash, out var fingerprint))
            {
                throw new RemoteProtocolException($"Incus-Image-Hash from {Server} is not a SHA-256: '{hash}'", Server);
            }

            if (!Uri.TryCreate(Server, location, out var fileUrl) || (fileUrl.Scheme != Uri.UriSchemeHttp && fileUrl.Scheme != Uri.UriSchemeHttps))
            {
                throw new RemoteProtocolException($"Incus-Image-URL from {Server} is not an http(s) URL: '{location}'", Server);
            }

            var warnings = new List<string>();
            if (Server.Scheme == Uri.UriSchemeHttp || fileUrl.Scheme == Uri.UriSchemeHttp)
            {
                var warning = $"{fileUrl} is fetched over plain http: only its SHA-256 protects it";
                warnings.Add(warning);
                LogPlainHttp(_logger, fileUrl);
            }

            var fileName = Path.GetFileName(Uri.UnescapeDataString(fileUrl.AbsolutePath));
            return new RemoteImage
            {
                Fingerprint = fingerprint,
                Info = new Image { Fingerprint = fingerprint.ToString(), Filename = fileName, Aliases = [], Profiles = [] },
                Files = [new RemoteImageFile { Role = RemoteFileRole.Unified, Sources = [fileUrl], Sha256 = fingerprint.ToString(), FileName = fileName }],
                Warnings = warnings,
            };
        }
    }

    /// <inheritdoc />
    /// <remarks>A URL has no aliases: any name resolves the URL itself.</remarks>
    public Task<RemoteImage> ResolveAliasAsync(string alias, string? type = null, CancellationToken cancellationToken = default) =>
        ResolveAsync(cancellationToken);

    /// <inheritdoc />
    public async Task<RemoteImage> GetImageAsync(string fingerprint, CancellationToken cancellationToken = default)
    {
        var image = await ResolveAsync(cancellationToken).ConfigureAwait(false);
        return image.Fingerprint.StartsWith(fingerprint) ? image : throw new ImageNotFoundException(fingerprint, Server);
    }

    /// <inheritdoc />
    public async Task<IReadOnlyList<RemoteImage>> ListImagesAsync(CancellationToken cancellationToken = default) =>
        [await ResolveAsync(cancellationToken).ConfigureAwait(false)];

    /// <inheritdoc />
    public async Task<DownloadedImage> DownloadAsync(RemoteImage image, string tempDirectory, IProgress<DownloadProgress>? progress = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(image);
        var file = await _downloader.DownloadAsync(
            new DownloadRequest
            {
                Client = _client,
                Sources = image.Files[0].Sources,
                TempDirectory = tempDirectory,
                ExpectedSha256 = image.Fingerprint.ToString(),
                Progress = progress,
            },
            cancellationToken).ConfigureAwait(false);
        return new DownloadedImage(image.Fingerprint, image.Type, file, null);
    }

    /// <inheritdoc />
    public void Dispose() => _client.Dispose();

    private static string? Header(HttpResponseMessage response, string incus, string lxd)
    {
        foreach (var name in (ReadOnlySpan<string>)[incus, lxd])
        {
            if (response.Headers.TryGetValues(name, out var values) || response.Content.Headers.TryGetValues(name, out values))
            {
                var value = values.FirstOrDefault();
                if (!string.IsNullOrWhiteSpace(value))
                {
                    return value.Trim();
                }
            }
        }

        return null;
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "{Url} is fetched over plain http: only its SHA-256 protects it")]
    private static partial void LogPlainHttp(ILogger logger, Uri url);
}
