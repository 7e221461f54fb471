using System.Net;
using System.Net.WebSockets;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using System.Text;
using System.Text.Json;
using ImageActors.Images;
using ImageActors.Images.Domain;
using ImageActors.Images.Remote;
using ImageActors.Server.Tests.Support;
using ImageActors.Streaming;
using ImageActors.TestServers;
using StaticServer = ImageActors.TestServers.LoopbackServer;

namespace ImageActors.Server.Tests.Api;

/// <summary>
/// Lifecycle events the store raises by itself (eviction, pull-through caching) reach <c>/1.0/events</c> listeners
/// on a real Kestrel, once each, next to those the API publishes for requests.
/// </summary>
public sealed class StoreEventsTests : IAsyncLifetime
{
    private const string Token = "events-token";
    private readonly TempDirectory _files = new();
    private readonly X509Certificate2 _upstreamCertificate = TestCertificates.Create("events-upstream");
    private readonly FakeIncusServer _fake = new();
    private FakeImage _upstreamImage = null!;
    private StaticServer _upstream = null!;
    private ServedStore _server = null!;

    public async Task InitializeAsync()
    {
        _upstreamImage = FakeImage.Unified(PinnedUpstreamTests.UnifiedImage());
        _fake.Images.Add(_upstreamImage);
        _fake.Aliases["debian/13"] = _upstreamImage.Fingerprint;
        _upstream = await StaticServer.StartAsync(_fake.Map, _upstreamCertificate);
        _server = await ServedStore.StartAsync([new RemoteSource(_upstream.BaseUri, "incus", TestCertificates.Pem(_upstreamCertificate))], Token);
    }

    public async Task DisposeAsync()
    {
        await _server.DisposeAsync();
        await _upstream.DisposeAsync();
        _upstreamCertificate.Dispose();
        _files.Dispose();
    }

    [Fact]
    public async Task An_image_the_store_evicts_reaches_websocket_listeners_as_image_deleted()
    {
        var stale = await StaleCachedImageAsync("stale");
        using var socket = await ListenAsync();

        var evicted = await _server.Store.EvictNowAsync();

        Assert.Equal(stale.Fingerprint, Assert.Single(evicted).Image.Fingerprint);
        var deleted = await NextAsync(socket, "image-deleted");
        Assert.Equal("lifecycle", deleted.GetProperty("type").GetString());
        Assert.Equal("default", deleted.GetProperty("project").GetString());
        var metadata = deleted.GetProperty("metadata");
        Assert.Equal($"/1.0/images/{stale.Fingerprint}", metadata.GetProperty("source").GetString());
        Assert.Equal(JsonValueKind.Object, metadata.GetProperty("requestor").ValueKind);
        Assert.Equal("default", metadata.GetProperty("project").GetString());
    }

    [Fact]
    public async Task A_delete_through_the_API_reaches_listeners_once_with_its_caller()
    {
        var deletedByApi = await StaleCachedImageAsync("api");
        var sentinel = await StaleCachedImageAsync("sentinel");
        using var socket = await ListenAsync();
        using var client = _server.TrustedClient(Token);

        using (var response = await client.DeleteAsync(new Uri($"/1.0/images/{deletedByApi.Fingerprint}", UriKind.Relative)))
        {
            using var operation = JsonDocument.Parse(await response.Content.ReadAsStringAsync());
            await client.GetStringAsync(new Uri(operation.RootElement.GetProperty("operation").GetString() + "/wait?timeout=30", UriKind.Relative));
        }

        await _server.Store.EvictNowAsync();

        // Everything up to the sentinel's eviction: the API's delete, once.
        var seen = new List<JsonElement>();
        while (true)
        {
            var next = await NextAsync(socket, "image-deleted");
            seen.Add(next);
            if (next.GetProperty("metadata").GetProperty("source").GetString() == $"/1.0/images/{sentinel.Fingerprint}")
            {
                break;
            }
        }

        var api = Assert.Single(seen, e => e.GetProperty("metadata").GetProperty("source").GetString() == $"/1.0/images/{deletedByApi.Fingerprint}");
        Assert.Equal("bearer", api.GetProperty("metadata").GetProperty("requestor").GetProperty("protocol").GetString());
        Assert.Equal(2, seen.Count);
    }

    [Fact]
    public async Task An_image_the_appliance_pulls_through_reaches_listeners_as_image_and_alias_created()
    {
        using var socket = await ListenAsync();
        using var client = _server.TrustedClient(Token);

        using (var response = await client.GetAsync(new Uri("/1.0/images/aliases/debian/13", UriKind.Relative)))
        {
            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        }

        var created = await NextAsync(socket, "image-created");
        Assert.Equal($"/1.0/images/{_upstreamImage.Fingerprint}", created.GetProperty("metadata").GetProperty("source").GetString());
        Assert.Equal("container", created.GetProperty("metadata").GetProperty("context").GetProperty("type").GetString());
        var alias = await NextAsync(socket, "image-alias-created");
        Assert.Equal("/1.0/images/aliases/debian/13", alias.GetProperty("metadata").GetProperty("source").GetString());
        Assert.Equal("debian/13", alias.GetProperty("metadata").GetProperty("name").GetString());
    }

    private async Task<ImageRecord> StaleCachedImageAsync(string seed)
    {
        var path = EmbeddedStores.WriteImage(_files.Path, "stale", seed);
        var fp = Fingerprint.Parse(Convert.ToHexStringLower(SHA256.HashData(await File.ReadAllBytesAsync(path))));
        var longAgo = new DateTimeOffset(2020, 1, 1, 0, 0, 0, TimeSpan.Zero);
        var record = new ImageRecord
        {
            Fingerprint = fp,
            Filename = Path.GetFileName(path),
            Architecture = "x86_64",
            Type = ImageType.Container,
            Cached = true,
            CreatedAt = longAgo,
            UploadedAt = longAgo,
            LastUsedAt = longAgo,
            ExpiresAt = DateTimeOffset.MinValue,
        };
        return await _server.Store.DownloadAsync(ProjectName.Default, fp, new ImageFetch(async (blobs, token) => (await blobs.ImportFileAsync(path, fp, token), record), "test"));
    }

    private async Task<ClientWebSocket> ListenAsync()
    {
        var socket = new ClientWebSocket();
        var expected = _server.Server.Certificate.RawData;
        socket.Options.RemoteCertificateValidationCallback = (_, certificate, _, _) => certificate is not null && certificate.GetRawCertData().AsSpan().SequenceEqual(expected);
        socket.Options.SetRequestHeader("Authorization", "Bearer " + Token);
        var uri = new UriBuilder(_server.Https) { Scheme = "wss", Path = "/1.0/events", Query = "type=lifecycle" }.Uri;
        await socket.ConnectAsync(uri, CancellationToken.None);
        return socket;
    }

    private static async Task<JsonElement> NextAsync(ClientWebSocket socket, string action)
    {
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(30));
        var buffer = new byte[64 * 1024];
        while (true)
        {
            using var message = new MemoryStream();
            WebSocketReceiveResult result;
            do
            {
                result = await socket.ReceiveAsync(buffer, timeout.Token);
                message.Write(buffer, 0, result.Count);
            }
            while (!result.EndOfMessage);

            var json = JsonDocument.Parse(Encoding.UTF8.GetString(message.ToArray())).RootElement.Clone();
            if (json.GetProperty("metadata").GetProperty("action").GetString() == action)
            {
                return json;
            }
        }
    }
}
