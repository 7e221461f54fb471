using System.Formats.Tar;
using System.Net;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using System.Text;
using System.Text.Json;
using ImageActors.Images.Domain;
using ImageActors.Images.Remote;
using ImageActors.Server.Events;
using ImageActors.Server.Operations;
using ImageActors.Server.Tests.Support;
using ImageActors.TestServers;
using Microsoft.Extensions.DependencyInjection;
using StaticServer = ImageActors.TestServers.LoopbackServer;

namespace ImageActors.Server.Tests.Api;

/// <summary>
/// The cache appliance's SimpleStreams: its index and products include what its upstreams have (files pointing at
/// the appliance), and a file of an image it lacks is fetched from the upstream once and served.
/// </summary>
public sealed class SimpleStreamsApplianceTests : IAsyncLifetime
{
    private const string Token = "simplestreams-appliance-token";
    private readonly TempDirectory _tree = new();
    private readonly X509Certificate2 _upstreamCertificate = TestCertificates.Create("upstream");
    private byte[] _metadata = null!;
    private byte[] _rootfs = null!;
    private string _fingerprint = null!;
    private StaticServer _upstream = null!;
    private ServedStore _appliance = null!;

    public async Task InitializeAsync()
    {
        (_metadata, _rootfs) = SplitImage("alpine", "3.20");
        var tree = new SimpleStreamsTree(_tree.Path);
        _fingerprint = tree.AddSplit("alpine:3.20:amd64:default", "Alpine", "3.20", "amd64", "20250101_0000", "alpine/3.20", _metadata, _rootfs);
        tree.Publish();
        _upstream = await StaticServer.StartAsync(tree.Map, _upstreamCertificate);

        _appliance = await ServedStore.StartAsync([new RemoteSource(_upstream.BaseUri, "simplestreams", TestCertificates.Pem(_upstreamCertificate))], Token);
    }

    public async Task DisposeAsync()
    {
        await _appliance.DisposeAsync();
        await _upstream.DisposeAsync();
        _upstreamCertificate.Dispose();
        _tree.Dispose();
    }

    [Fact]
    public async Task The_appliance_index_and_products_list_an_upstream_image_it_lacks_with_files_on_the_appliance()
    {
        using var client = _appliance.HttpsClient();

        using var index = JsonDocument.Parse(await client.GetStringAsync(new Uri("/streams/v1/index.json", UriKind.Relative)));
        using var products = JsonDocument.Parse(await client.GetStringAsync(new Uri("/streams/v1/images.json", UriKind.Relative)));

        var keys = index.RootElement.GetProperty("index").GetProperty("images").GetProperty("products").EnumerateArray().Select(k => k.GetString()!).ToList();
        var key = Assert.Single(keys);
        var product = products.RootElement.GetProperty("products").GetProperty(key);
        Assert.Equal("alpine/3.20", product.GetProperty("aliases").GetString());
        var items = product.GetProperty("versions").EnumerateObject().Single().Value.GetProperty("items");
        var metadata = items.GetProperty("incus.tar.xz");
        Assert.Equal(Sha256(_metadata), metadata.GetProperty("sha256").GetString());
        Assert.Equal(_fingerprint, metadata.GetProperty("combined_squashfs_sha256").GetString());
        var root = items.GetProperty("squashfs");
        Assert.Equal(Sha256(_rootfs), root.GetProperty("sha256").GetString());
        Assert.Equal(_rootfs.Length, root.GetProperty("size").GetInt64());
        Assert.StartsWith("images/" + _fingerprint + "/", root.GetProperty("path").GetString(), StringComparison.Ordinal);
        Assert.Null(_appliance.Store.Catalog.Find(ProjectName.Default, Streaming.Fingerprint.Parse(_fingerprint)));
    }

    [Fact]
    public async Task Concurrent_requests_for_the_files_of_an_upstream_image_fetch_each_file_from_the_upstream_once()
    {
        using var client = _appliance.HttpsClient();
        using var products = JsonDocument.Parse(await client.GetStringAsync(new Uri("/streams/v1/images.json", UriKind.Relative)));
        var items = products.RootElement.GetProperty("products").EnumerateObject().Single().Value.GetProperty("versions").EnumerateObject().Single().Value.GetProperty("items");
        var metadataPath = items.GetProperty("incus.tar.xz").GetProperty("path").GetString()!;
        var rootfsPath = items.GetProperty("squashfs").GetProperty("path").GetString()!;

        var requests = Enumerable.Range(0, 8).Select(i => i % 2 == 0 ? (metadataPath, _metadata) : (rootfsPath, _rootfs)).ToList();
        var bodies = await Task.WhenAll(requests.Select(async r =>
        {
            using var response = await client.GetAsync(new Uri("/" + r.Item1, UriKind.Relative));
            var body = await response.Content.ReadAsByteArrayAsync();
            Assert.True(response.StatusCode == HttpStatusCode.OK, $"{r.Item1}: {(int)response.StatusCode} {Encoding.UTF8.GetString(body)}");
            return (body, expected: r.Item2);
        }));

        Assert.All(bodies, b => Assert.Equal(b.expected, b.body));
        Assert.Equal(1, _upstream.Requests.Count(r => r.RawTarget.EndsWith("/incus.tar.xz", StringComparison.Ordinal)));
        Assert.Equal(1, _upstream.Requests.Count(r => r.RawTarget.EndsWith("/rootfs.squashfs", StringComparison.Ordinal)));
        var stored = _appliance.Store.Catalog.Find(ProjectName.Default, Streaming.Fingerprint.Parse(_fingerprint));
        Assert.NotNull(stored);
        Assert.True(stored.Cached);

        // Served from the store from then on.
        Assert.Equal(_rootfs, await client.GetByteArrayAsync(new Uri("/" + rootfsPath, UriKind.Relative)));
        Assert.Equal(1, _upstream.Requests.Count(r => r.RawTarget.EndsWith("/rootfs.squashfs", StringComparison.Ordinal)));
    }

    [Fact]
    public async Task A_HEAD_for_a_file_of_an_upstream_image_the_appliance_lacks_answers_the_announced_length_without_downloading_it()
    {
        using var client = _appliance.HttpsClient();
        using var products = JsonDocument.Parse(await client.GetStringAsync(new Uri("/streams/v1/images.json", UriKind.Relative)));
        var items = products.RootElement.GetProperty("products").EnumerateObject().Single().Value.GetProperty("versions").EnumerateObject().Single().Value.GetProperty("items");
        var metadataPath = items.GetProperty("incus.tar.xz").GetProperty("path").GetString()!;
        var rootfsPath = items.GetProperty("squashfs").GetProperty("path").GetString()!;

        using var metadataHead = await client.SendAsync(new HttpRequestMessage(HttpMethod.Head, new Uri("/" + metadataPath, UriKind.Relative)));
        using var rootfsHead = await client.SendAsync(new HttpRequestMessage(HttpMethod.Head, new Uri("/" + rootfsPath, UriKind.Relative)));

        Assert.Equal(HttpStatusCode.OK, metadataHead.StatusCode);
        Assert.Equal(_metadata.Length, metadataHead.Content.Headers.ContentLength);
        Assert.Equal(HttpStatusCode.OK, rootfsHead.StatusCode);
        Assert.Equal(_rootfs.Length, rootfsHead.Content.Headers.ContentLength);
        Assert.DoesNotContain(_upstream.Requests, r => r.RawTarget.EndsWith("/incus.tar.xz", StringComparison.Ordinal) || r.RawTarget.EndsWith("/rootfs.squashfs", StringComparison.Ordinal));
        Assert.Null(_appliance.Store.Catalog.Find(ProjectName.Default, Streaming.Fingerprint.Parse(_fingerprint)));

        // A GET then pulls the image through once, and a HEAD of the held file answers as the announced one did.
        Assert.Equal(_rootfs, await client.GetByteArrayAsync(new Uri("/" + rootfsPath, UriKind.Relative)));
        using var heldHead = await client.SendAsync(new HttpRequestMessage(HttpMethod.Head, new Uri("/" + rootfsPath, UriKind.Relative)));
        Assert.Equal(HttpStatusCode.OK, heldHead.StatusCode);
        Assert.Equal(_rootfs.Length, heldHead.Content.Headers.ContentLength);
        Assert.Equal(rootfsHead.Headers.ETag, heldHead.Headers.ETag);
        Assert.Equal(1, _upstream.Requests.Count(r => r.RawTarget.EndsWith("/rootfs.squashfs", StringComparison.Ordinal)));
        Assert.Equal(1, _upstream.Requests.Count(r => r.RawTarget.EndsWith("/incus.tar.xz", StringComparison.Ordinal)));
    }

    [Fact]
    public async Task A_HEAD_for_a_file_of_an_image_no_upstream_lists_is_not_found()
    {
        using var client = _appliance.HttpsClient();
        var missing = new string('a', 64);

        using var response = await client.SendAsync(new HttpRequestMessage(HttpMethod.Head, new Uri($"/images/{missing}/{missing}.tar.xz", UriKind.Relative)));

        Assert.Equal(HttpStatusCode.NotFound, response.StatusCode);
    }

    [Fact]
    public async Task The_upstream_catalog_is_fetched_once_for_many_index_requests_within_its_time_to_live()
    {
        using var client = _appliance.HttpsClient();

        for (var i = 0; i < 4; i++)
        {
            await client.GetStringAsync(new Uri("/streams/v1/index.json", UriKind.Relative));
            await client.GetStringAsync(new Uri("/streams/v1/images.json", UriKind.Relative));
        }

        Assert.Equal(1, _upstream.Requests.Count(r => r.RawTarget == "/streams/v1/index.json"));
    }

    [Fact]
    public async Task A_file_of_an_image_no_upstream_has_is_not_found_and_nothing_is_stored()
    {
        using var client = _appliance.HttpsClient();
        var missing = new string('a', 64);

        using var response = await client.GetAsync(new Uri($"/images/{missing}/{missing}.tar.xz", UriKind.Relative));

        Assert.Equal(HttpStatusCode.NotFound, response.StatusCode);
        Assert.Empty(_appliance.Store.Catalog.List(ProjectName.Default, null));
    }

    [Fact]
    public async Task A_copy_of_a_split_SimpleStreams_image_reports_download_progress_per_file_as_Incus_words_it()
    {
        var hub = _appliance.Server.Services.GetRequiredService<EventHub>();
        using var subscription = hub.Subscribe([EventTypes.Operation]);
        using var client = _appliance.TrustedClient(Token);
        var body = "{\"source\":{\"type\":\"image\",\"mode\":\"pull\",\"protocol\":\"simplestreams\",\"server\":" + JsonSerializer.Serialize(_upstream.BaseUri.ToString())
            + ",\"certificate\":" + JsonSerializer.Serialize(TestCertificates.Pem(_upstreamCertificate)) + ",\"alias\":\"alpine/3.20\"}}";

        using var posted = await client.PostAsync(new Uri("/1.0/images", UriKind.Relative), new StringContent(body, Encoding.UTF8, "application/json"));
        using var created = JsonDocument.Parse(await posted.Content.ReadAsStringAsync());
        using var wait = JsonDocument.Parse(await client.GetStringAsync(new Uri(created.RootElement.GetProperty("operation").GetString() + "/wait?timeout=60", UriKind.Relative)));
        Assert.Equal("Success", wait.RootElement.GetProperty("metadata").GetProperty("status").GetString());

        var progress = new List<string>();
        while (subscription.Reader.TryRead(out var seen))
        {
            if (seen.Payload is OperationSnapshot snapshot && snapshot.State.Metadata.TryGetValue("download_progress", out var text))
            {
                progress.Add(text);
            }
        }

        Assert.Contains(progress, p => p.StartsWith("metadata: ", StringComparison.Ordinal) && p.Contains("MB/s)", StringComparison.Ordinal));
        Assert.Contains(progress, p => p.StartsWith("rootfs: ", StringComparison.Ordinal));
    }

    internal static (byte[] Metadata, byte[] Rootfs) SplitImage(string os, string release)
    {
        using var meta = new MemoryStream();
        using (var tar = new TarWriter(meta, TarEntryFormat.Pax, leaveOpen: true))
        {
            var yaml = $"architecture: x86_64\ncreation_date: 1767225600\nproperties:\n  os: {os}\n  release: \"{release}\"\n";
            tar.WriteEntry(new PaxTarEntry(TarEntryType.RegularFile, "metadata.yaml") { DataStream = new MemoryStream(Encoding.UTF8.GetBytes(yaml)) });
        }

        var payload = new byte[64 * 1024];
        RandomNumberGenerator.Fill(payload);
        using var rootfs = new MemoryStream();
        using (var tar = new TarWriter(rootfs, TarEntryFormat.Pax, leaveOpen: true))
        {
            tar.WriteEntry(new PaxTarEntry(TarEntryType.RegularFile, "etc/payload") { DataStream = new MemoryStream(payload) });
        }

        return (meta.ToArray(), rootfs.ToArray());
    }

    private static string Sha256(byte[] bytes) => Convert.ToHexStringLower(SHA256.HashData(bytes));
}
