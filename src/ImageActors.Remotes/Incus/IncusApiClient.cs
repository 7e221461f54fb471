using System.Globalization;
using System.Net;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json;
using System.Text.Json.Serialization.Metadata;

namespace ImageActors.Remotes.Incus;

/// <summary>
/// The write side of the Incus REST API, as a trusted client (or a pusher holding a secret) uses it against an
/// Incus or LXD daemon or another ImageActors server: image and alias reads, alias writes, JSON image creation
/// (pull copies and push tokens), raw uploads, push exports, secrets and operations. Every request carries the
/// project given at construction.
/// </summary>
public sealed class IncusApiClient : IDisposable
{
    private const int MaxJsonBytes = 64 << 20;
    private readonly HttpClient _client;
    private readonly bool _ownsClient;
    private readonly string _base;

    /// <summary>Creates a client over <paramref name="client"/> for the server at <paramref name="server"/>.</summary>
    /// <param name="client">The HTTP client (its TLS settings decide trust).</param>
    /// <param name="server">The server's base URL.</param>
    /// <param name="project">Project sent as <c>?project=</c>, or null for the server's default.</param>
    /// <param name="ownsClient">Whether disposing this disposes <paramref name="client"/>.</param>
    public IncusApiClient(HttpClient client, Uri server, string? project = null, bool ownsClient = true)
    {
        ArgumentNullException.ThrowIfNull(client);
        ArgumentNullException.ThrowIfNull(server);
        _client = client;
        _ownsClient = ownsClient;
        Server = server;
        Project = string.IsNullOrEmpty(project) ? null : project;
        _base = server.GetLeftPart(UriPartial.Path).TrimEnd('/');
    }

    /// <summary>The server's base URL.</summary>
    public Uri Server { get; }

    /// <summary>The project requests are made in, or null for the default.</summary>
    public string? Project { get; }

    /// <summary>Creates a client for <paramref name="server"/> with the TLS settings of <paramref name="connection"/>.</summary>
    public static IncusApiClient Connect(Uri server, RemoteConnection connection, string? project = null)
    {
        ArgumentNullException.ThrowIfNull(connection);
        return new IncusApiClient(connection.CreateClient(), server, project);
    }

    /// <summary><c>GET /1.0</c>.</summary>
    public Task<ServerInfo> GetServerAsync(CancellationToken cancellationToken = default) =>
        SendAsync(HttpMethod.Get, "/1.0", null, null, IncusJsonContext.Default.ServerInfo, cancellationToken);

    /// <summary><c>GET /1.0/images/&lt;fp or prefix&gt;</c>.</summary>
    /// <exception cref="RemoteErrorResponseException">The server refused (404 when there is no such image).</exception>
    public Task<Image> GetImageAsync(string fingerprint, CancellationToken cancellationToken = default) =>
        SendAsync(HttpMethod.Get, "/1.0/images/" + Uri.EscapeDataString(fingerprint), null, null, IncusJsonContext.Default.Image, cancellationToken);

    /// <summary><c>GET /1.0/images/aliases/&lt;name&gt;</c>, or null when there is no such alias.</summary>
    public async Task<ImageAliasesEntry?> FindAliasAsync(string name, CancellationToken cancellationToken = default)
    {
        try
        {
            return await SendAsync(HttpMethod.Get, AliasPath(name), null, null, IncusJsonContext.Default.ImageAliasesEntry, cancellationToken).ConfigureAwait(false);
        }
        catch (RemoteErrorResponseException e) when (e.StatusCode == 404)
        {
            return null;
        }
    }

    /// <summary><c>GET /1.0/images/aliases?recursion=1</c> (trusted callers).</summary>
    public Task<IReadOnlyList<ImageAliasesEntry>> ListAliasesAsync(CancellationToken cancellationToken = default) =>
        SendAsync(HttpMethod.Get, "/1.0/images/aliases", "recursion=1", null, IncusJsonContext.Default.IReadOnlyListImageAliasesEntry, cancellationToken);

    /// <summary><c>POST /1.0/images/aliases</c>.</summary>
    public Task CreateAliasAsync(string name, string target, string description = "", CancellationToken cancellationToken = default)
    {
        var body = new ImageAliasesEntry { Name = name, Target = target, Description = description, Type = "" };
        return SendAsync(HttpMethod.Post, "/1.0/images/aliases", null, Json(body, IncusJsonContext.Default.ImageAliasesEntry), IncusJsonContext.Default.JsonElement, cancellationToken);
    }

    /// <summary><c>PUT /1.0/images/aliases/&lt;name&gt;</c>: points an existing alias at <paramref name="target"/>.</summary>
    public Task UpdateAliasAsync(string name, string target, string description = "", CancellationToken cancellationToken = default)
    {
        var body = new ImageAliasesEntryPut { Target = target, Description = description };
        return SendAsync(HttpMethod.Put, AliasPath(name), null, Json(body, IncusJsonContext.Default.ImageAliasesEntryPut), IncusJsonContext.Default.JsonElement, cancellationToken);
    }

    /// <summary><c>DELETE /1.0/images/aliases/&lt;name&gt;</c>.</summary>
    public Task DeleteAliasAsync(string name, CancellationToken cancellationToken = default) =>
        SendAsync(HttpMethod.Delete, AliasPath(name), null, null, IncusJsonContext.Default.JsonElement, cancellationToken);

    /// <summary>JSON <c>POST /1.0/images</c>: a pull copy, a URL import, or (mode <c>push</c>) a push token whose metadata holds the secret.</summary>
    public Task<Operation> CreateImageAsync(ImagesPost request, CancellationToken cancellationToken = default) =>
        SendAsync(HttpMethod.Post, "/1.0/images", null, Json(request, IncusJsonContext.Default.ImagesPost), IncusJsonContext.Default.Operation, cancellationToken);

    /// <summary>
    /// Raw <c>POST /1.0/images</c>: uploads <paramref name="content"/> with the upload headers, under both the Incus
    /// and the LXD spellings. Returns the operation the server answered with.
    /// </summary>
    /// <exception cref="FingerprintMismatchException">The streamed bytes did not hash to the expected fingerprint; the upload was aborted.</exception>
    public async Task<Operation> UploadImageAsync(ImageUploadContent content, ImageUploadHeaders headers, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(content);
        ArgumentNullException.ThrowIfNull(headers);
        using var request = new HttpRequestMessage(HttpMethod.Post, Url("/1.0/images", null)) { Content = content };
        request.Headers.TransferEncodingChunked = true;
        foreach (var (name, value) in headers.ToHeaders())
        {
            request.Headers.TryAddWithoutValidation("X-Incus-" + name, value);
            request.Headers.TryAddWithoutValidation("X-LXD-" + name, value);
        }

        try
        {
            return await ExchangeAsync(request, IncusJsonContext.Default.Operation, cancellationToken).ConfigureAwait(false);
        }
        catch (Exception e) when (content.Mismatch is { } mismatch && e != mismatch)
        {
            throw mismatch;
        }
    }

    /// <summary><c>POST /1.0/images/&lt;fp&gt;/export</c>: asks the server to push the image to another server.</summary>
    public Task<Operation> ExportImageAsync(string fingerprint, ImageExportPost request, CancellationToken cancellationToken = default) =>
        SendAsync(HttpMethod.Post, "/1.0/images/" + Uri.EscapeDataString(fingerprint) + "/export", null, Json(request, IncusJsonContext.Default.ImageExportPost), IncusJsonContext.Default.Operation, cancellationToken);

    /// <summary><c>POST /1.0/images/&lt;fp&gt;/secret</c>: a one-time secret for a private image.</summary>
    public async Task<string> CreateImageSecretAsync(string fingerprint, CancellationToken cancellationToken = default)
    {
        var operation = await SendAsync(HttpMethod.Post, "/1.0/images/" + Uri.EscapeDataString(fingerprint) + "/secret", null, null, IncusJsonContext.Default.Operation, cancellationToken).ConfigureAwait(false);
        return operation.Metadata?["secret"]?.GetValue<string>() ?? throw new RemoteProtocolException($"{Server} gave no secret for image {fingerprint}", Server);
    }

    /// <summary>
    /// <c>GET /1.0/images/&lt;fp&gt;/export</c>, response headers read, body not yet: the caller streams it and
    /// disposes the response.
    /// </summary>
    public async Task<HttpResponseMessage> OpenExportAsync(string fingerprint, string? secret = null, CancellationToken cancellationToken = default)
    {
        var url = Url("/1.0/images/" + Uri.EscapeDataString(fingerprint) + "/export", secret is null ? null : "secret=" + Uri.EscapeDataString(secret));
        HttpResponseMessage response;
        try
        {
            response = await _client.GetAsync(url, HttpCompletionOption.ResponseHeadersRead, cancellationToken).ConfigureAwait(false);
        }
        catch (HttpRequestException e)
        {
            throw new RemoteException($"Failed to reach {url}: {RemoteException.Reason(e)}", url, e);
        }

        if (!response.IsSuccessStatusCode)
        {
            using (response)
            {
                throw await RemoteResponses.ToErrorAsync(response, url, cancellationToken).ConfigureAwait(false);
            }
        }

        return response;
    }

    /// <summary>
    /// <c>GET /1.0/operations/&lt;id&gt;/wait?timeout=</c> (with <c>secret=</c> for an untrusted pusher); the
    /// operation as it stands when it ended or the timeout passed.
    /// </summary>
    public Task<Operation> WaitOperationAsync(string id, int timeoutSeconds = -1, string? secret = null, CancellationToken cancellationToken = default)
    {
        var query = "timeout=" + timeoutSeconds.ToString(CultureInfo.InvariantCulture) + (secret is null ? string.Empty : "&secret=" + Uri.EscapeDataString(secret));
        return SendAsync(HttpMethod.Get, "/1.0/operations/" + Uri.EscapeDataString(id) + "/wait", query, null, IncusJsonContext.Default.Operation, cancellationToken);
    }

    /// <summary><c>DELETE /1.0/operations/&lt;id&gt;</c>; errors are ignored (the operation may be gone).</summary>
    public async Task CancelOperationAsync(string id, CancellationToken cancellationToken = default)
    {
        try
        {
            await SendAsync(HttpMethod.Delete, "/1.0/operations/" + Uri.EscapeDataString(id), null, null, IncusJsonContext.Default.JsonElement, cancellationToken).ConfigureAwait(false);
        }
        catch (RemoteException)
        {
        }
    }

    /// <inheritdoc />
    public void Dispose()
    {
        if (_ownsClient)
        {
            _client.Dispose();
        }
    }

    private static string AliasPath(string name) => "/1.0/images/aliases/" + Uri.EscapeDataString(name);

    private static StringContent Json<T>(T value, JsonTypeInfo<T> typeInfo) =>
        new(JsonSerializer.Serialize(value, typeInfo), Encoding.UTF8, "application/json");

    private Uri Url(string path, string? query)
    {
        var parts = new List<string>(2);
        if (query is not null)
        {
            parts.Add(query);
        }

        if (Project is not null)
        {
            parts.Add("project=" + Uri.EscapeDataString(Project));
        }

        return new Uri(_base + path + (parts.Count == 0 ? string.Empty : "?" + string.Join('&', parts)));
    }

    private async Task<T> SendAsync<T>(HttpMethod method, string path, string? query, HttpContent? body, JsonTypeInfo<T> typeInfo, CancellationToken cancellationToken)
    {
        using var request = new HttpRequestMessage(method, Url(path, query)) { Content = body };
        return await ExchangeAsync(request, typeInfo, cancellationToken).ConfigureAwait(false);
    }

    private async Task<T> ExchangeAsync<T>(HttpRequestMessage request, JsonTypeInfo<T> typeInfo, CancellationToken cancellationToken)
    {
        var url = request.RequestUri!;
        byte[] bytes;
        HttpStatusCode status;
        MediaTypeHeaderValue? contentType;
        try
        {
            using var response = await _client.SendAsync(request, HttpCompletionOption.ResponseHeadersRead, cancellationToken).ConfigureAwait(false);
            status = response.StatusCode;
            contentType = response.Content.Headers.ContentType;
            bytes = await RemoteResponses.ReadLimitedAsync(response.Content, MaxJsonBytes, cancellationToken).ConfigureAwait(false);
        }
        catch (HttpRequestException e)
        {
            throw new RemoteException($"Failed to reach {url}: {RemoteException.Reason(e)}", url, e);
        }

        IncusResponse<JsonElement>? envelope = null;
        try
        {
            envelope = bytes.Length == 0 ? null : JsonSerializer.Deserialize(bytes, IncusJsonContext.Default.IncusResponseJsonElement);
        }
        catch (JsonException e) when (contentType?.MediaType?.Contains("json", StringComparison.OrdinalIgnoreCase) == true)
        {
            throw new RemoteProtocolException($"Reply of {url} is not an Incus envelope: {e.Message}", url, e);
        }
        catch (JsonException)
        {
        }

        if (envelope is null || envelope.Type == ResponseTypes.Error || (int)status is < 200 or >= 300)
        {
            var code = envelope is { ErrorCode: not 0 } ? envelope.ErrorCode : (int)status;
            var text = envelope is { Error.Length: > 0 } ? envelope.Error : string.Create(CultureInfo.InvariantCulture, $"{request.Method} {url}: {(int)status} {status}");
            throw new RemoteErrorResponseException(url, code, text);
        }

        try
        {
            return envelope.Metadata.Deserialize(typeInfo)!;
        }
        catch (JsonException e)
        {
            throw new RemoteProtocolException($"Reply of {url} does not match the Incus API: {e.Message}", url, e);
        }
    }
}

/// <summary>The <c>X-Incus-*</c> headers of a raw upload (spec §2.8).</summary>
public sealed record ImageUploadHeaders
{
    /// <summary>The fingerprint the receiver must verify (<c>fingerprint</c>).</summary>
    public string Fingerprint { get; init; } = "";

    /// <summary>The push secret (<c>secret</c>).</summary>
    public string Secret { get; init; } = "";

    /// <summary>Stored file name (<c>filename</c>).</summary>
    public string Filename { get; init; } = "";

    /// <summary>Public flag (<c>public</c>).</summary>
    public bool Public { get; init; }

    /// <summary>Aliases to create (<c>aliases</c>).</summary>
    public IReadOnlyList<string> Aliases { get; init; } = [];

    /// <summary>Profiles (<c>profiles</c>), or null to leave the receiver's default.</summary>
    public IReadOnlyList<string>? Profiles { get; init; }

    /// <summary>Properties (<c>properties</c>).</summary>
    public IReadOnlyDictionary<string, string> Properties { get; init; } = new Dictionary<string, string>();

    /// <summary>The header names (without the <c>X-Incus-</c> prefix) and values to send.</summary>
    public IEnumerable<(string Name, string Value)> ToHeaders()
    {
        if (Fingerprint.Length > 0)
        {
            yield return ("fingerprint", Fingerprint);
        }

        if (Secret.Length > 0)
        {
            yield return ("secret", Secret);
        }

        if (Filename.Length > 0)
        {
            yield return ("filename", Filename);
        }

        if (Public)
        {
            yield return ("public", "true");
        }

        if (Aliases.Count > 0)
        {
            yield return ("aliases", string.Join('&', Aliases.Select(a => "alias=" + Uri.EscapeDataString(a))));
        }

        if (Profiles is { Count: > 0 })
        {
            yield return ("profiles", string.Join('&', Profiles.Select(p => "profile=" + Uri.EscapeDataString(p))));
        }

        if (Properties.Count > 0)
        {
            yield return ("properties", string.Join('&', Properties.Select(kv => Uri.EscapeDataString(kv.Key) + "=" + Uri.EscapeDataString(kv.Value))));
        }
    }
}
