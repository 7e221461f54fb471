using System.Globalization;
using System.Net;
using System.Security.Cryptography.X509Certificates;
using ImageActors.Images.Remote;
using ImageActors.Server.Tests.Api;
using ImageActors.Server.Tests.Support;
using ImageActors.TestServers;
using StaticServer = ImageActors.TestServers.LoopbackServer;

namespace ImageActors.Server.Tests.Hosting;

/// <summary><c>/metrics</c> of a cache appliance on real Kestrel: mailbox depths of the store's actors, cache hits and misses.</summary>
public sealed class ApplianceMetricsTests : IAsyncLifetime
{
    private const string Token = "metrics-token";
    private readonly X509Certificate2 _upstreamCertificate = TestCertificates.Create("metrics-upstream");
    private readonly FakeIncusServer _fake = new();
    private FakeImage _image = null!;
    private StaticServer _upstream = null!;
    private ServedStore _appliance = null!;

    public async Task InitializeAsync()
    {
        _image = FakeImage.Unified(PinnedUpstreamTests.UnifiedImage());
        _fake.Images.Add(_image);
        _upstream = await StaticServer.StartAsync(_fake.Map, _upstreamCertificate);
        _appliance = await ServedStore.StartAsync([new RemoteSource(_upstream.BaseUri, "incus", TestCertificates.Pem(_upstreamCertificate))], Token);
    }

    public async Task DisposeAsync()
    {
        await _appliance.DisposeAsync();
        await _upstream.DisposeAsync();
        _upstreamCertificate.Dispose();
    }

    [Fact]
    public async Task Metrics_expose_the_mailbox_depth_of_every_kind_of_store_actor_with_help_and_type()
    {
        using var client = _appliance.HttpsClient();

        var text = await client.GetStringAsync(new Uri("/metrics", UriKind.Relative));

        Assert.Contains("# HELP imageactors_mailbox_depth ", text, StringComparison.Ordinal);
        Assert.Contains("# TYPE imageactors_mailbox_depth gauge\n", text, StringComparison.Ordinal);
        foreach (var kind in new[] { "images", "aliases", "workers", "eviction", "auto-update", "catalog-feed" })
        {
            Assert.True(Sample(text, $"imageactors_mailbox_depth{{actor=\"{kind}\"}}") >= 0, kind);
        }
    }

    [Fact]
    public async Task A_pull_through_counts_a_cache_miss_and_the_next_request_a_hit()
    {
        using var scrape = _appliance.HttpsClient();
        using var client = _appliance.TrustedClient(Token);
        var before = await scrape.GetStringAsync(new Uri("/metrics", UriKind.Relative));
        Assert.Contains("# TYPE imageactors_cache_requests_total counter\n", before, StringComparison.Ordinal);
        Assert.Equal(0, Sample(before, "imageactors_cache_requests_total{result=\"miss\"}"));
        Assert.Equal(0, Sample(before, "imageactors_cache_requests_total{result=\"hit\"}"));

        using (var first = await client.GetAsync(new Uri($"/1.0/images/{_image.Fingerprint}", UriKind.Relative)))
        {
            Assert.Equal(HttpStatusCode.OK, first.StatusCode);
        }

        var afterMiss = await scrape.GetStringAsync(new Uri("/metrics", UriKind.Relative));
        Assert.Equal(1, Sample(afterMiss, "imageactors_cache_requests_total{result=\"miss\"}"));
        Assert.Equal(0, Sample(afterMiss, "imageactors_cache_requests_total{result=\"hit\"}"));

        using (var export = await client.GetAsync(new Uri($"/1.0/images/{_image.Fingerprint}/export", UriKind.Relative)))
        {
            Assert.Equal(HttpStatusCode.OK, export.StatusCode);
        }

        var afterHit = await scrape.GetStringAsync(new Uri("/metrics", UriKind.Relative));
        Assert.Equal(1, Sample(afterHit, "imageactors_cache_requests_total{result=\"miss\"}"));
        Assert.Equal(1, Sample(afterHit, "imageactors_cache_requests_total{result=\"hit\"}"));
    }

    private static double Sample(string text, string series)
    {
        var line = text.Split('\n').SingleOrDefault(l => l.StartsWith(series + " ", StringComparison.Ordinal));
        Assert.True(line is not null, $"{series} is not in /metrics:\n{text}");
        return double.Parse(line[(series.Length + 1)..], CultureInfo.InvariantCulture);
    }
}
