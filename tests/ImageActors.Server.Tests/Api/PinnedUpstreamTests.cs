using System.Formats.Tar;
using System.Net;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using System.Text;
using System.Text.Json;
using ImageActors.Images.Domain;
using ImageActors.Images.Remote;
using ImageActors.Server.Tests.Support;
using ImageActors.TestServers;
using StaticServer = ImageActors.TestServers.LoopbackServer;

namespace ImageActors.Server.Tests.Api;

/// <summary>
/// An appliance in front of an Incus-protocol upstream with a self-signed certificate: pinned in
/// <c>images.upstreams</c> it serves the upstream's images (REST and SimpleStreams files, each fetched once);
/// unpinned it fails with an error that says what to do.
/// </summary>
public sealed class PinnedUpstreamTests : IAsyncLifetime
{
    private const string Token = "pinned-upstream-token";
    private readonly X509Certificate2 _upstreamCertificate = TestCertificates.Create("self-signed-upstream");
    private readonly FakeIncusServer _fake = new();
    private FakeImage _image = null!;
    private StaticServer _upstream = null!;
    private ServedStore? _appliance;

    public async Task InitializeAsync()
    {
        _image = FakeImage.Unified(UnifiedImage());
        _fake.Images.Add(_image);
        _fake.Aliases["debian/13"] = _image.Fingerprint;
        _upstream = await StaticServer.StartAsync(_fake.Map, _upstreamCertificate);
    }

    public async Task DisposeAsync()
    {
        if (_appliance is not null)
        {
            await _appliance.DisposeAsync();
        }

        await _upstream.DisposeAsync();
        _upstreamCertificate.Dispose();
    }

    [Fact]
    public async Task A_pinned_self_signed_upstream_serves_a_SimpleStreams_file_the_appliance_lacks_fetching_it_once()
    {
        await StartApplianceAsync(pinned: true);
        using var client = _appliance!.HttpsClient();
        var url = new Uri($"/images/{_image.Fingerprint}/{_image.Fingerprint}.tar", UriKind.Relative);

        var bodies = await Task.WhenAll(Enumerable.Range(0, 6).Select(async _ =>
        {
            using var response = await client.GetAsync(url);
            var body = await response.Content.ReadAsByteArrayAsync();
            Assert.True(response.StatusCode == HttpStatusCode.OK, $"{(int)response.StatusCode} {Encoding.UTF8.GetString(body)}");
            return body;
        }));

        Assert.All(bodies, b => Assert.Equal(_image.Metadata, b));
        Assert.Equal(1, _upstream.Requests.Count(r => r.RawTarget.Contains("/export", StringComparison.Ordinal)));
        Assert.True(_appliance!.Store.Catalog.Find(ProjectName.Default, Streaming.Fingerprint.Parse(_image.Fingerprint))!.Cached);
    }

    [Fact]
    public async Task A_pinned_self_signed_upstream_answers_an_alias_the_appliance_lacks()
    {
        await StartApplianceAsync(pinned: true);
        using var client = _appliance!.TrustedClient(Token);

        using var response = await client.GetAsync(new Uri("/1.0/images/aliases/debian/13", UriKind.Relative));

        var text = await response.Content.ReadAsStringAsync();
        Assert.True(response.StatusCode == HttpStatusCode.OK, $"{(int)response.StatusCode} {text}");
        using var json = JsonDocument.Parse(text);
        Assert.Equal(_image.Fingerprint, json.RootElement.GetProperty("metadata").GetProperty("target").GetString());
    }

    [Fact]
    public async Task An_unpinned_self_signed_upstream_fails_with_an_error_saying_to_pin_its_certificate()
    {
        await StartApplianceAsync(pinned: false);
        using var client = _appliance!.TrustedClient(Token);

        using var response = await client.GetAsync(new Uri($"/1.0/images/{_image.Fingerprint}", UriKind.Relative));

        var text = await response.Content.ReadAsStringAsync();
        Assert.Equal(HttpStatusCode.InternalServerError, response.StatusCode);
        using var json = JsonDocument.Parse(text);
        var error = json.RootElement.GetProperty("error").GetString()!;
        Assert.Contains("certificate of " + _upstream.BaseUri, error, StringComparison.Ordinal);
        Assert.Contains("not trusted", error, StringComparison.Ordinal);
        Assert.Contains("images.upstreams", error, StringComparison.Ordinal);
        Assert.Empty(_appliance!.Store.Catalog.List(ProjectName.Default, null));
    }

    [Fact]
    public async Task A_HEAD_for_a_file_of_a_unified_Incus_upstream_image_the_appliance_lacks_answers_its_length_and_downloads_nothing()
    {
        await StartApplianceAsync(pinned: true);
        using var client = _appliance!.HttpsClient();

        using var head = await client.SendAsync(new HttpRequestMessage(HttpMethod.Head, new Uri($"/images/{_image.Fingerprint}/{_image.Fingerprint}.tar.xz", UriKind.Relative)));
        using var meta = await client.SendAsync(new HttpRequestMessage(HttpMethod.Head, new Uri($"/images/{_image.Fingerprint}/meta-{_image.Fingerprint}.tar.xz", UriKind.Relative)));

        // A headers-only probe of the export (Range: bytes=0-0) found it one file, whose length is the record's size.
        Assert.Equal(HttpStatusCode.OK, head.StatusCode);
        Assert.Equal(_image.Metadata.Length, head.Content.Headers.ContentLength);
        Assert.Equal(HttpStatusCode.NotFound, meta.StatusCode);
        Assert.All(_upstream.Requests.Where(r => r.RawTarget.Contains("/export", StringComparison.Ordinal)), r => Assert.Equal("bytes=0-0", r.Range));
        Assert.Empty(_appliance.Store.Catalog.List(ProjectName.Default, null));
    }

    private async Task StartApplianceAsync(bool pinned)
    {
        var upstream = new RemoteSource(_upstream.BaseUri, "incus", pinned ? TestCertificates.Pem(_upstreamCertificate) : string.Empty);
        _appliance = await ServedStore.StartAsync([upstream], Token);
    }

    internal static byte[] UnifiedImage()
    {
        var payload = new byte[32 * 1024];
        RandomNumberGenerator.Fill(payload);
        using var buffer = new MemoryStream();
        using (var tar = new TarWriter(buffer, TarEntryFormat.Pax, leaveOpen: true))
        {
            const string yaml = "architecture: x86_64\ncreation_date: 1767225600\nproperties:\n  os: debian\n  release: \"13\"\n";
            tar.WriteEntry(new PaxTarEntry(TarEntryType.RegularFile, "metadata.yaml") { DataStream = new MemoryStream(Encoding.UTF8.GetBytes(yaml)) });
            tar.WriteEntry(new PaxTarEntry(TarEntryType.RegularFile, "rootfs/etc/payload") { DataStream = new MemoryStream(payload) });
        }

        return buffer.ToArray();
    }
}
