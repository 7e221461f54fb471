using System.Security.Cryptography.X509Certificates;
using ImageActors.Images.Domain;
using ImageActors.Images.Remote;
using ImageActors.Images.Tests.Store;
using ImageActors.Remotes.Download;

namespace ImageActors.Images.Tests.Remote;

/// <summary>
/// A remote copy waits as long as its download moves, not for a fixed time: an upstream that sends slowly but keeps
/// sending outlasts a short ask timeout and the copy succeeds; one that stops sending fails the copy with one line
/// naming it. (Before, a copy asked its image with a fixed timeout and failed a healthy download of a big image.)
/// </summary>
public sealed class SlowUpstreamTests : IAsyncLifetime, IDisposable
{
    // Short asks (the read model, records) get this; the slow download below takes well over twice as long.
    private static readonly TimeSpan AskTimeout = TimeSpan.FromSeconds(4);
    // Well above the half-second between chunks: the first byte also waits for the record, the claim and a TLS
    // handshake, which took over 3 s on a loaded machine. The dribbling download still outlasts it.
    private static readonly TimeSpan StallTimeout = TimeSpan.FromSeconds(8);
    private static readonly X509Certificate2 ServerCertificate = TestCertificates.Create("slow-upstream-tests");
    private readonly FakeIncusServer _fake = new() { ExportChunkSize = 1024 };
    private readonly FakeImage _image = FakeImage.Unified(RemoteTestImages.Unified(31));
    private readonly ImageDownloader _downloader = new(new DownloadOptions { InitialBackoff = TimeSpan.FromMilliseconds(5), MaxBackoff = TimeSpan.FromMilliseconds(50), ProgressInterval = TimeSpan.FromMilliseconds(20) });
    private RemoteImageSources _sources = null!;
    private LoopbackServer _server = null!;
    private StoreFixture _store = null!;

    private RemoteSource Upstream => new(_server.BaseUri, "incus", TestCertificates.Pem(ServerCertificate));

    public async Task InitializeAsync()
    {
        _fake.Images.Add(_image);
        _fake.Aliases["big/vm"] = _image.Fingerprint;
        _server = await LoopbackServer.StartAsync(_fake.Map, ServerCertificate);
        _sources = new RemoteImageSources(_downloader);
        _store = await StoreFixture.StartAsync(s => s with { AskTimeout = AskTimeout, StallTimeout = StallTimeout });
    }

    public async Task DisposeAsync()
    {
        await _store.DisposeAsync();
        await _server.DisposeAsync();
    }

    public void Dispose()
    {
        _sources.Dispose();
        _downloader.Dispose();
    }

    [Fact]
    public async Task A_copy_from_an_upstream_that_dribbles_for_longer_than_the_ask_timeout_succeeds()
    {
        // About 20 chunks, one every half second: the download lasts over twice the ask timeout, and longer than the
        // stall bound, and moves all along.
        var chunks = 0;
        _fake.BeforeExportChunk = async (_, token) =>
        {
            Interlocked.Increment(ref chunks);
            await Task.Delay(AskTimeout / 8, token);
        };

        var record = await new RemoteImageCopier(_store.Store, _sources).CopyAsync(new CopyRequest(Upstream, "big/vm") { Aliases = ["big"] });

        Assert.True(chunks > 16, $"the upstream sent {chunks} chunks, too few to outlast the ask timeout");
        Assert.Equal(_image.Fingerprint, record.Fingerprint.ToString());
        Assert.Equal(["big"], record.Aliases.Select(a => a.Name.Value));
        Assert.Equal(_image.Metadata, await File.ReadAllBytesAsync(_store.Store.Blobs.MetadataPath(record.Fingerprint)));
    }

    [Fact]
    public async Task A_copy_from_an_upstream_that_stops_sending_fails_with_one_line_naming_the_upstream()
    {
        // A few chunks, then silence with the connection open (and after every reconnection).
        _fake.BeforeExportChunk = (offset, token) => offset >= 4096 ? Task.Delay(Timeout.Infinite, token) : Task.CompletedTask;

        var error = await Assert.ThrowsAsync<ImageCopyException>(() => new RemoteImageCopier(_store.Store, _sources).CopyAsync(new CopyRequest(Upstream, "big/vm")));

        Assert.IsType<OperationStalledException>(error.InnerException);
        Assert.Contains(_server.BaseUri.ToString(), error.Message, StringComparison.Ordinal);
        Assert.Contains("made no progress", error.Message, StringComparison.Ordinal);
        Assert.DoesNotContain('\n', error.Message);
        Assert.Null(_store.Store.Catalog.Find(ProjectName.Default, Streaming.Fingerprint.Parse(_image.Fingerprint)));
    }
}
