using System.Net;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using ImageActors.Images;
using ImageActors.Images.Domain;
using ImageActors.Server.Hosting;
using ImageActors.Server.Images;
using ImageActors.Server.Tests.Support;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.Extensions.DependencyInjection;

namespace ImageActors.Server.Tests.Api;

/// <summary>
/// The cache appliance, between two real servers on loopback: the appliance has <c>images.upstreams</c> naming the
/// upstream, and answers requests for images it lacks by fetching them from there once.
/// </summary>
public sealed class PullThroughApiTests : IAsyncLifetime
{
    private const string Token = "appliance-tests-token";
    private readonly TempDirectory _applianceData = new();
    private readonly TempDirectory _files = new();
    private readonly ExportCounter _upstreamExports = new();
    private EmbeddedImageStore _applianceStore = null!;
    private UpstreamServer _upstream = null!;
    private LoopbackServer _appliance = null!;
    private ImageRecord _debian = null!;

    public async Task InitializeAsync()
    {
        _upstream = await UpstreamServer.StartAsync(
            async images => _debian = await images.ImportAsync(new ImportRequest(new ImageSource.UnifiedFile(WriteImage("debian", "12"))) { Public = true, Aliases = ["debian12"] }),
            observer: _upstreamExports);

        var upstream = _upstream.IncusSource;
        _applianceStore = await EmbeddedStores.OpenAsync(_applianceData.Path, [upstream]);
        Assert.NotNull(_applianceStore.PullThrough);
        _appliance = await LoopbackServer.StartAsync(_applianceData.Path, [Token], s =>
            s.AddSingleton<IImageBackend>(new ImageStoreBackend(_applianceStore.Store, _applianceStore.Copier, _applianceStore.PullThrough)));
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
    public async Task An_alias_the_appliance_lacks_is_fetched_from_the_upstream_and_answered()
    {
        using var client = Client();
        Assert.Null(_applianceStore.Store.Catalog.Find(ProjectName.Default, _debian.Fingerprint));

        var response = await client.GetAsync(new Uri("/1.0/images/aliases/debian12", UriKind.Relative));

        var text = await response.Content.ReadAsStringAsync();
        Assert.True(response.StatusCode == HttpStatusCode.OK, $"{(int)response.StatusCode} {text}");
        using var json = JsonDocument.Parse(text);
        Assert.Equal(_debian.Fingerprint.ToString(), json.RootElement.GetProperty("metadata").GetProperty("target").GetString());
        var stored = _applianceStore.Store.Catalog.Find(ProjectName.Default, _debian.Fingerprint);
        Assert.NotNull(stored);
        Assert.True(stored.Cached);
    }

    [Fact]
    public async Task An_untrusted_client_gets_an_image_public_at_the_upstream_which_the_appliance_lacked()
    {
        using var client = _appliance.HttpsClient();

        using var alias = await client.GetAsync(new Uri("/1.0/images/aliases/debian12", UriKind.Relative));
        using var image = await client.GetAsync(new Uri($"/1.0/images/{_debian.Fingerprint}", UriKind.Relative));

        Assert.Equal(HttpStatusCode.OK, alias.StatusCode);
        Assert.Equal(HttpStatusCode.OK, image.StatusCode);
        Assert.True(_applianceStore.Store.Catalog.Find(ProjectName.Default, _debian.Fingerprint)?.Public);
    }

    [Fact]
    public async Task Concurrent_exports_of_an_image_the_appliance_lacks_fetch_it_from_the_upstream_once()
    {
        using var client = Client();
        var url = new Uri($"/1.0/images/{_debian.Fingerprint}/export", UriKind.Relative);

        var bodies = await Task.WhenAll(Enumerable.Range(0, 6).Select(async _ =>
        {
            using var response = await client.GetAsync(url);
            var bytes = await response.Content.ReadAsByteArrayAsync();
            Assert.True(response.StatusCode == HttpStatusCode.OK, $"{(int)response.StatusCode} {Encoding.UTF8.GetString(bytes)}");
            return bytes;
        }));

        Assert.All(bodies, b => Assert.Equal(_debian.Fingerprint.ToString(), Convert.ToHexStringLower(SHA256.HashData(b))));
        Assert.Equal(1, _upstreamExports.Count);
    }

    [Fact]
    public async Task An_image_asked_for_by_fingerprint_is_fetched_from_the_upstream_and_described()
    {
        using var client = Client();

        using var response = await client.GetAsync(new Uri($"/1.0/images/{_debian.Fingerprint}", UriKind.Relative));

        var text = await response.Content.ReadAsStringAsync();
        Assert.True(response.StatusCode == HttpStatusCode.OK, $"{(int)response.StatusCode} {text}");
        using var json = JsonDocument.Parse(text);
        Assert.Equal(_debian.Fingerprint.ToString(), json.RootElement.GetProperty("metadata").GetProperty("fingerprint").GetString());
        Assert.Equal(1, _upstreamExports.Count);
    }

    [Fact]
    public async Task An_alias_no_upstream_has_is_not_found()
    {
        using var client = Client();

        using var response = await client.GetAsync(new Uri("/1.0/images/aliases/nosuch", UriKind.Relative));

        Assert.Equal(HttpStatusCode.NotFound, response.StatusCode);
        Assert.Equal(0, _upstreamExports.Count);
        Assert.Empty(_applianceStore.Store.Catalog.List(ProjectName.Default, null));
    }

    private HttpClient Client() => EmbeddedStores.TrustedClient(_appliance, Token);

    private string WriteImage(string os, string release) => EmbeddedStores.WriteImage(_files.Path, os, release);

    /// <summary>Counts the export requests a server receives, ahead of its own pipeline.</summary>
    private sealed class ExportCounter : IStartupFilter
    {
        private int _count;

        public int Count => Volatile.Read(ref _count);

        public Action<IApplicationBuilder> Configure(Action<IApplicationBuilder> next) => app =>
        {
            app.Use(async (context, proceed) =>
            {
                if (context.Request.Path.Value?.EndsWith("/export", StringComparison.Ordinal) == true)
                {
                    Interlocked.Increment(ref _count);
                }

                await proceed(context);
            });
            next(app);
        };
    }
}
