using ImageActors.Remotes.Download;
using ImageActors.Remotes.SimpleStreams;
using ImageActors.Remotes.Tests.Fixtures;
using Microsoft.AspNetCore.Builder;

namespace ImageActors.Remotes.Tests.SimpleStreams;

public sealed class SimpleStreamsRemoteTests : IDisposable
{
    private readonly TempDirectory _temp = new();
    private readonly ImageDownloader _downloader = new(new DownloadOptions { InitialBackoff = TimeSpan.FromMilliseconds(5), MaxAttempts = 2, ProgressInterval = TimeSpan.Zero });
    private readonly SimpleStreamsTree _tree;
    private readonly byte[] _meta = Bytes.Random(20_000, 11);
    private readonly byte[] _root = Bytes.Random(3 << 20, 12);

    public SimpleStreamsRemoteTests() => _tree = new SimpleStreamsTree(_temp.Sub("www"));

    public void Dispose()
    {
        _downloader.Dispose();
        _temp.Dispose();
    }

    private string PublishDebian(string? announced = null)
    {
        _tree.AddSplit("debian:bookworm:amd64:default", "Debian", "bookworm", "amd64", "20250101_0542", "debian/bookworm/default,debian/12", Bytes.Random(1000, 1), Bytes.Random(1000, 2));
        var fp = _tree.AddSplit("debian:bookworm:amd64:default", "Debian", "bookworm", "amd64", "20250102_0542", "debian/bookworm/default,debian/12", _meta, _root, announced);
        _tree.Publish();
        return fp;
    }

    [Fact]
    public async Task Alias_is_resolved_to_the_newest_version_and_both_files_are_verified()
    {
        var fp = PublishDebian();
        await using var server = await LoopbackServer.StartAsync(_tree.Map);
        using var remote = new SimpleStreamsRemote(server.BaseUri, _downloader, nativeArchitecture: "x86_64");
        var labels = new List<string>();

        var image = await remote.ResolveAliasAsync("debian/12/amd64");
        var downloaded = await remote.DownloadAsync(image, _temp.Sub("tmp"), new Progress(p => labels.Add(p.Label)));

        Assert.Equal(fp, image.Fingerprint.ToString());
        Assert.Equal("20250102_0542", image.Info.Properties["serial"]);
        Assert.Equal(_meta, await File.ReadAllBytesAsync(downloaded.Metadata.Path));
        Assert.Equal(_root, await File.ReadAllBytesAsync(downloaded.Rootfs!.Path));
        Assert.Equal("rootfs.squashfs", downloaded.Rootfs.FileName);
        Assert.Equal(fp, downloaded.Rootfs.CombinedSha256);
        Assert.Contains("metadata", labels);
        Assert.Contains("rootfs", labels);
    }

    [Fact]
    public async Task File_not_matching_its_sha256_is_refused_and_nothing_is_left()
    {
        PublishDebian();
        var rootfs = Directory.GetFiles(_tree.Root, "rootfs.squashfs", SearchOption.AllDirectories).Single(p => p.Contains("20250102", StringComparison.Ordinal));
        var tampered = _root.ToArray();
        tampered[12345] ^= 0xff;
        await File.WriteAllBytesAsync(rootfs, tampered);
        await using var server = await LoopbackServer.StartAsync(_tree.Map);
        using var remote = new SimpleStreamsRemote(server.BaseUri, _downloader);
        var tmp = _temp.Sub("tmp");

        var image = await remote.ResolveAliasAsync("debian/12/amd64");
        var error = await Assert.ThrowsAsync<HashMismatchException>(() => remote.DownloadAsync(image, tmp));

        Assert.Equal(Bytes.Sha256(_root), error.Expected);
        Assert.Equal(Bytes.Sha256(tampered), error.Actual);
        Assert.Empty(TempDirectory.Files(tmp));
    }

    [Fact]
    public async Task Files_not_combining_to_the_fingerprint_are_refused_and_nothing_is_left()
    {
        PublishDebian(announced: new string('7', 64));
        await using var server = await LoopbackServer.StartAsync(_tree.Map);
        using var remote = new SimpleStreamsRemote(server.BaseUri, _downloader);
        var tmp = _temp.Sub("tmp");

        var image = await remote.ResolveAliasAsync("debian/12/amd64");
        var error = await Assert.ThrowsAsync<FingerprintMismatchException>(() => remote.DownloadAsync(image, tmp));

        Assert.Equal(Bytes.Sha256(_meta, _root), error.Actual);
        Assert.Empty(TempDirectory.Files(tmp));
    }

    [Fact]
    public async Task Index_is_fetched_once_per_TTL()
    {
        PublishDebian();
        await using var server = await LoopbackServer.StartAsync(_tree.Map);
        var clock = new ManualClock();
        using var remote = new SimpleStreamsRemote(server.BaseUri, _downloader, indexTtl: TimeSpan.FromMinutes(5), time: clock);

        await remote.ResolveAliasAsync("debian/12/amd64");
        await remote.ListImagesAsync();
        Assert.Single(server.Requests, r => r.RawTarget == "/streams/v1/index.json");

        clock.Advance(TimeSpan.FromMinutes(6));
        await remote.ResolveAliasAsync("debian/12/amd64");
        Assert.Equal(2, server.Requests.Count(r => r.RawTarget == "/streams/v1/index.json"));
    }

    [Fact]
    public async Task Concurrent_lookups_on_a_stale_catalog_fetch_the_index_once()
    {
        var fp = PublishDebian();
        var arrived = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var release = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        await using var server = await LoopbackServer.StartAsync(app =>
        {
            app.Use(async (context, next) =>
            {
                if (context.Request.Path == "/streams/v1/index.json")
                {
                    arrived.TrySetResult();
                    await release.Task;
                }

                await next(context);
            });
            _tree.Map(app);
        });
        using var remote = new SimpleStreamsRemote(server.BaseUri, _downloader, nativeArchitecture: "x86_64");

        var lookups = Enumerable.Range(0, 50).Select(n => n % 2 == 0 ? remote.ResolveAliasAsync("debian/12/amd64") : remote.GetImageAsync(fp)).ToList();
        await arrived.Task.WaitAsync(TimeSpan.FromSeconds(60));
        release.SetResult();
        await Task.WhenAll(lookups).WaitAsync(TimeSpan.FromSeconds(60));

        Assert.Single(server.Requests, r => r.RawTarget == "/streams/v1/index.json");
        Assert.Single(server.Requests, r => r.RawTarget.EndsWith(".json", StringComparison.Ordinal) && r.RawTarget != "/streams/v1/index.json");
    }

    [Fact]
    public async Task Stale_index_is_used_when_the_server_is_unreachable()
    {
        var fp = PublishDebian();
        var server = await LoopbackServer.StartAsync(_tree.Map);
        var clock = new ManualClock();
        using var remote = new SimpleStreamsRemote(server.BaseUri, _downloader, indexTtl: TimeSpan.FromMinutes(5), time: clock);
        await remote.ResolveAliasAsync("debian/12/amd64");
        await server.DisposeAsync();
        clock.Advance(TimeSpan.FromHours(1));

        var image = await remote.ResolveAliasAsync("debian/12/amd64");

        Assert.Equal(fp, image.Fingerprint.ToString());
    }

    [Fact]
    public async Task Files_of_an_https_server_are_tried_over_plain_http_first_then_https()
    {
        PublishDebian();
        var certificate = TestCertificates.Create("streams");
        await using var server = await LoopbackServer.StartAsync(_tree.Map, certificate);
        using var remote = new SimpleStreamsRemote(server.BaseUri, _downloader, new RemoteConnection { ServerCertificatePem = TestCertificates.Pem(certificate) });

        var image = await remote.ResolveAliasAsync("debian/12/amd64");
        var downloaded = await remote.DownloadAsync(image, _temp.Sub("tmp"));

        Assert.Equal(Uri.UriSchemeHttp, image.Files[0].Sources[0].Scheme);
        Assert.Equal(Uri.UriSchemeHttps, image.Files[0].Sources[1].Scheme);
        Assert.Equal(image.Files[0].Sources[0].Port, image.Files[0].Sources[1].Port);
        Assert.Equal(Uri.UriSchemeHttps, downloaded.Rootfs!.Url.Scheme);
        Assert.Equal(_root, await File.ReadAllBytesAsync(downloaded.Rootfs.Path));
    }

    [Fact]
    public async Task Unknown_alias_is_not_found()
    {
        PublishDebian();
        await using var server = await LoopbackServer.StartAsync(_tree.Map);
        using var remote = new SimpleStreamsRemote(server.BaseUri, _downloader);

        await Assert.ThrowsAsync<ImageNotFoundException>(() => remote.ResolveAliasAsync("ubuntu/24.04"));
    }

    private sealed class Progress(Action<DownloadProgress> report) : IProgress<DownloadProgress>
    {
        public void Report(DownloadProgress value) => report(value);
    }
}
