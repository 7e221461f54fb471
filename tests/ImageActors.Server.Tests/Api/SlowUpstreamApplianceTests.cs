using System.Net;
using System.Security.Cryptography.X509Certificates;
using System.Text.Json;
using ImageActors.Images.Configuration;
using ImageActors.Images.Domain;
using ImageActors.Images.Remote;
using ImageActors.Server.Tests.Support;
using ImageActors.TestServers;
using StaticServer = ImageActors.TestServers.LoopbackServer;

namespace ImageActors.Server.Tests.Api;

/// <summary>
/// An appliance whose upstream is slow: its export of an image it lacks waits as long as the upstream keeps sending,
/// well past <c>actors.ask_timeout</c>, and fails with one line naming the upstream once the upstream stops sending for
/// the stall bound (<c>images.download_stall_timeout</c> plus <c>images.download_max_retry_wait</c>).
/// </summary>
public sealed class SlowUpstreamApplianceTests : IAsyncLifetime
{
    private const string Token = "slow-upstream-token";
    private static readonly TimeSpan AskTimeout = TimeSpan.FromSeconds(4);
    private readonly X509Certificate2 _upstreamCertificate = TestCertificates.Create("slow-upstream");
    private readonly FakeIncusServer _fake = new() { ExportChunkSize = 1024 };
    private FakeImage _image = null!;
    private StaticServer _upstream = null!;
    private ServedStore _appliance = null!;

    public async Task InitializeAsync()
    {
        _image = FakeImage.Unified(PinnedUpstreamTests.UnifiedImage());
        _fake.Images.Add(_image);
        _upstream = await StaticServer.StartAsync(_fake.Map, _upstreamCertificate);
        var upstream = new RemoteSource(_upstream.BaseUri, "incus", TestCertificates.Pem(_upstreamCertificate));
        _appliance = await ServedStore.StartAsync(
            [upstream],
            images => images with { DownloadStallTimeout = TimeSpan.FromSeconds(1), DownloadMaxRetryWait = TimeSpan.FromSeconds(1) },
            new ActorSystemOptions { AskTimeout = AskTimeout },
            Token);
    }

    public async Task DisposeAsync()
    {
        await _appliance.DisposeAsync();
        await _upstream.DisposeAsync();
        _upstreamCertificate.Dispose();
    }

    [Fact]
    public async Task An_export_through_an_upstream_that_dribbles_for_longer_than_the_ask_timeout_serves_the_image()
    {
        // 1 KiB every 250 ms: over 30 chunks, twice the ask timeout, and moving all along.
        var chunks = 0;
        _fake.BeforeExportChunk = async (_, token) =>
        {
            Interlocked.Increment(ref chunks);
            await Task.Delay(AskTimeout / 16, token);
        };
        using var client = _appliance.TrustedClient(Token);

        using var response = await client.GetAsync(new Uri($"/1.0/images/{_image.Fingerprint}/export", UriKind.Relative));

        var body = await response.Content.ReadAsByteArrayAsync();
        Assert.True(response.StatusCode == HttpStatusCode.OK, $"{(int)response.StatusCode} {System.Text.Encoding.UTF8.GetString(body)}");
        Assert.True(chunks > 20, $"the upstream sent {chunks} chunks, too few to outlast the ask timeout");
        Assert.Equal(_image.Metadata, body);
        Assert.NotNull(_appliance.Store.Catalog.Find(ProjectName.Default, Streaming.Fingerprint.Parse(_image.Fingerprint)));
    }

    [Fact]
    public async Task An_export_through_an_upstream_that_stops_sending_fails_with_one_line_naming_the_upstream()
    {
        _fake.BeforeExportChunk = (offset, token) => offset >= 4096 ? Task.Delay(Timeout.Infinite, token) : Task.CompletedTask;
        using var client = _appliance.TrustedClient(Token);

        using var response = await client.GetAsync(new Uri($"/1.0/images/{_image.Fingerprint}/export", UriKind.Relative));

        var text = await response.Content.ReadAsStringAsync();
        Assert.NotEqual(HttpStatusCode.OK, response.StatusCode);
        using var json = JsonDocument.Parse(text);
        var error = json.RootElement.GetProperty("error").GetString()!;
        Assert.Contains(_upstream.BaseUri.ToString(), error, StringComparison.Ordinal);
        Assert.Contains("made no progress", error, StringComparison.Ordinal);
        Assert.DoesNotContain('\n', error);
        Assert.Null(_appliance.Store.Catalog.Find(ProjectName.Default, Streaming.Fingerprint.Parse(_image.Fingerprint)));
    }
}
