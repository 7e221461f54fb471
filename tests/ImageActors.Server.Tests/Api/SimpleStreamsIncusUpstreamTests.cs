using System.Collections.Concurrent;
using System.Net;
using System.Text;
using System.Text.Json;
using ImageActors.Images;
using ImageActors.Images.Domain;
using ImageActors.Images.Remote;
using ImageActors.Server.Hosting;
using ImageActors.Server.Images;
using ImageActors.Server.Tests.Support;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Time.Testing;

namespace ImageActors.Server.Tests.Api;

/// <summary>
/// The cache appliance's SimpleStreams in front of an Incus-protocol upstream (a real server on loopback holding a
/// unified and a split image): the unified image is listed as its one file, found out with one headers-only probe
/// of its export per fingerprint, and pulled through on the first request for that file; the split one is not listed.
/// </summary>
public sealed class SimpleStreamsIncusUpstreamTests : IAsyncLifetime
{
    private static readonly TimeSpan CatalogTtl = TimeSpan.FromMinutes(10);
    private readonly TempDirectory _applianceData = new();
    private readonly TempDirectory _files = new();
    private readonly UpstreamRequests _requests = new();
    private readonly FakeTimeProvider _clock = new();
    private EmbeddedImageStore _applianceStore = null!;
    private UpstreamServer _upstream = null!;
    private LoopbackServer _appliance = null!;
    private byte[] _unifiedBytes = null!;
    private ImageRecord _unified = null!;
    private ImageRecord _split = null!;

    public async Task InitializeAsync()
    {
        var unifiedPath = EmbeddedStores.WriteImage(_files.Path, "debian", "12");
        _unifiedBytes = await File.ReadAllBytesAsync(unifiedPath);
        var (metadata, rootfs) = SimpleStreamsApplianceTests.SplitImage("alpine", "3.20");
        var metadataPath = Path.Combine(_files.Path, "alpine.meta.tar");
        var rootfsPath = Path.Combine(_files.Path, "alpine.rootfs.tar");
        await File.WriteAllBytesAsync(metadataPath, metadata);
        await File.WriteAllBytesAsync(rootfsPath, rootfs);
        _upstream = await UpstreamServer.StartAsync(
            async images =>
            {
                _unified = await images.ImportAsync(new ImportRequest(new ImageSource.UnifiedFile(unifiedPath)) { Public = true, Aliases = ["debian/12"] });
                _split = await images.ImportAsync(new ImportRequest(new ImageSource.SplitFiles(metadataPath, rootfsPath)) { Public = true, Aliases = ["alpine/3.20"] });
            },
            observer: _requests);

        var upstream = _upstream.IncusSource;
        _applianceStore = await EmbeddedStores.OpenAsync(_applianceData.Path, [upstream]);
        var resolver = new PullThroughResolver(_applianceStore.Store, _applianceStore.Copier, _applianceStore.Sources, [upstream], CatalogTtl, _clock);
        _appliance = await LoopbackServer.StartAsync(_applianceData.Path, services: s =>
            s.AddSingleton<IImageBackend>(new ImageStoreBackend(_applianceStore.Store, _applianceStore.Copier, resolver)));
    }

    public async Task DisposeAsync()
    {
        await _appliance.DisposeAsync();
        await _upstream.DisposeAsync();
        await _applianceStore.DisposeAsync();
        _files.Dispose();
        _applianceData.Dispose();
    }

    [Fact]
    public async Task A_unified_image_of_an_Incus_upstream_is_listed_with_its_fingerprint_as_sha256_and_a_split_one_is_not()
    {
        using var client = _appliance.HttpsClient();

        using var index = JsonDocument.Parse(await client.GetStringAsync(new Uri("/streams/v1/index.json", UriKind.Relative)));
        var products = await client.GetStringAsync(new Uri("/streams/v1/images.json", UriKind.Relative));

        var items = Items(products);
        var combined = Assert.Single(items, i => i.FileType == "incus_combined.tar.gz");
        Assert.Equal(_unified.Fingerprint.ToString(), combined.Sha256);
        Assert.Equal(_unifiedBytes.Length, combined.Size);
        Assert.Equal($"images/{_unified.Fingerprint}/{_unified.Fingerprint}.tar", combined.Path);
        Assert.Contains(items, i => i.FileType == "lxd_combined.tar.gz" && i.Sha256 == combined.Sha256);
        Assert.DoesNotContain(_split.Fingerprint.ToString(), products, StringComparison.Ordinal);
        var keys = index.RootElement.GetProperty("index").GetProperty("images").GetProperty("products").EnumerateArray().Select(k => k.GetString()).ToList();
        Assert.Single(keys);
        Assert.Equal(0, _requests.Downloads);
        Assert.Null(_applianceStore.Store.Catalog.Find(ProjectName.Default, _unified.Fingerprint));
    }

    [Fact]
    public async Task Concurrent_requests_for_the_listed_file_of_an_Incus_upstream_image_download_it_once_and_serve_its_bytes()
    {
        using var client = _appliance.HttpsClient();
        var path = ListedPath(await client.GetStringAsync(new Uri("/streams/v1/images.json", UriKind.Relative)));

        var bodies = await Task.WhenAll(Enumerable.Range(0, 2).Select(async _ =>
        {
            using var response = await client.GetAsync(new Uri("/" + path, UriKind.Relative));
            var body = await response.Content.ReadAsByteArrayAsync();
            Assert.True(response.StatusCode == HttpStatusCode.OK, $"{path}: {(int)response.StatusCode} {Encoding.UTF8.GetString(body)}");
            return body;
        }));

        Assert.All(bodies, b => Assert.Equal(_unifiedBytes, b));
        Assert.Equal(1, _requests.Downloads);
        var held = _applianceStore.Store.Catalog.Find(ProjectName.Default, _unified.Fingerprint);
        Assert.NotNull(held);
        Assert.True(held.Cached);

        // Served from the store from then on.
        Assert.Equal(_unifiedBytes, await client.GetByteArrayAsync(new Uri("/" + path, UriKind.Relative)));
        Assert.Equal(1, _requests.Downloads);
    }

    [Fact]
    public async Task A_HEAD_for_the_listed_file_of_an_Incus_upstream_image_answers_its_length_without_downloading_it()
    {
        using var client = _appliance.HttpsClient();
        var path = ListedPath(await client.GetStringAsync(new Uri("/streams/v1/images.json", UriKind.Relative)));

        using var head = await client.SendAsync(new HttpRequestMessage(HttpMethod.Head, new Uri("/" + path, UriKind.Relative)));

        Assert.Equal(HttpStatusCode.OK, head.StatusCode);
        Assert.Equal(_unifiedBytes.Length, head.Content.Headers.ContentLength);
        Assert.Equal(0, _requests.Downloads);
        Assert.Null(_applianceStore.Store.Catalog.Find(ProjectName.Default, _unified.Fingerprint));
    }

    [Fact]
    public async Task Each_image_of_an_Incus_upstream_is_probed_once_across_catalog_refreshes()
    {
        using var client = _appliance.HttpsClient();

        var first = await client.GetStringAsync(new Uri("/streams/v1/images.json", UriKind.Relative));
        _clock.Advance(CatalogTtl + TimeSpan.FromMinutes(1));
        var second = await client.GetStringAsync(new Uri("/streams/v1/images.json", UriKind.Relative));

        Assert.Equal(2, _requests.Listings);
        Assert.Equal(1, _requests.ProbesOf(_unified.Fingerprint.ToString()));
        Assert.Equal(1, _requests.ProbesOf(_split.Fingerprint.ToString()));
        Assert.Equal(ListedPath(first), ListedPath(second));
        Assert.Equal(0, _requests.Downloads);
    }

    [Fact]
    public async Task An_image_whose_probe_failed_is_left_out_until_the_next_catalog_refresh_probes_it_again()
    {
        using var client = _appliance.HttpsClient();
        _requests.FailProbes = true;

        var first = await client.GetStringAsync(new Uri("/streams/v1/images.json", UriKind.Relative));
        _requests.FailProbes = false;
        var withinTtl = await client.GetStringAsync(new Uri("/streams/v1/images.json", UriKind.Relative));
        _clock.Advance(CatalogTtl + TimeSpan.FromMinutes(1));
        var refreshed = await client.GetStringAsync(new Uri("/streams/v1/images.json", UriKind.Relative));

        Assert.Empty(Items(first));
        Assert.Empty(Items(withinTtl));
        Assert.Equal(_unified.Fingerprint.ToString(), Assert.Single(Items(refreshed), i => i.FileType == "incus_combined.tar.gz").Sha256);
        Assert.Equal(2, _requests.ProbesOf(_unified.Fingerprint.ToString()));
        Assert.Equal(0, _requests.Downloads);
    }

    private static string ListedPath(string products) =>
        Assert.Single(Items(products), i => i.FileType == "incus_combined.tar.gz").Path;

    private static List<(string FileType, string Sha256, long Size, string Path)> Items(string products)
    {
        using var json = JsonDocument.Parse(products);
        return [.. json.RootElement.GetProperty("products").EnumerateObject()
            .SelectMany(p => p.Value.GetProperty("versions").EnumerateObject())
            .SelectMany(v => v.Value.GetProperty("items").EnumerateObject())
            .Select(i => (
                i.Value.GetProperty("ftype").GetString()!,
                i.Value.GetProperty("sha256").GetString()!,
                i.Value.GetProperty("size").GetInt64(),
                i.Value.GetProperty("path").GetString()!))];
    }

    /// <summary>
    /// Counts what the upstream is asked, ahead of its own pipeline: image listings, export probes (a GET with a
    /// <c>Range</c>) per fingerprint, and whole exports (downloads); can answer probes with 503.
    /// </summary>
    private sealed class UpstreamRequests : IStartupFilter
    {
        private readonly ConcurrentDictionary<string, int> _probes = new(StringComparer.Ordinal);
        private int _listings;
        private int _downloads;

        public bool FailProbes { get; set; }

        public int Listings => Volatile.Read(ref _listings);

        public int Downloads => Volatile.Read(ref _downloads);

        public int ProbesOf(string fingerprint) => _probes.GetValueOrDefault(fingerprint);

        public Action<IApplicationBuilder> Configure(Action<IApplicationBuilder> next) => app =>
        {
            app.Use(async (context, proceed) =>
            {
                var path = context.Request.Path.Value ?? string.Empty;
                if (path == "/1.0/images")
                {
                    Interlocked.Increment(ref _listings);
                }
                else if (path.EndsWith("/export", StringComparison.Ordinal) && context.Request.Headers.Range.Count > 0)
                {
                    _probes.AddOrUpdate(path.Split('/')[3], 1, (_, n) => n + 1);
                    if (FailProbes)
                    {
                        context.Response.StatusCode = StatusCodes.Status503ServiceUnavailable;
                        return;
                    }
                }
                else if (path.EndsWith("/export", StringComparison.Ordinal))
                {
                    Interlocked.Increment(ref _downloads);
                }

                await proceed(context);
            });
            next(app);
        };
    }
}
