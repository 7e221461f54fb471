using ImageActors.Remotes.Download;
using ImageActors.Remotes.SimpleStreams;
using ImageActors.Remotes.Tests.Fixtures;

namespace ImageActors.Remotes.Tests.Download;

/// <summary>Our client against a real nginx: its Range support, its static files.</summary>
public sealed class NginxInteropTests : IAsyncLifetime
{
    private readonly TempDirectory _temp = new();
    private readonly byte[] _file = Bytes.Random(8 << 20, 77);
    private NginxServer _nginx = null!;

    public async Task InitializeAsync()
    {
        Assert.True(NginxServer.IsInstalled, "nginx is installed by the test script");
        var root = _temp.Sub("www");
        await File.WriteAllBytesAsync(Path.Combine(root, "image.tar.xz"), _file);
        _nginx = await NginxServer.StartAsync(root, _temp.Sub("nginx"));
    }

    public async Task DisposeAsync()
    {
        await _nginx.DisposeAsync();
        _temp.Dispose();
    }

    [Fact]
    public async Task Broken_transfer_from_nginx_resumes_with_a_Range_nginx_honours()
    {
        await using var proxy = new CuttingProxy(_nginx.Port, cutAfter: 3_000_000);
        var retries = new List<DownloadRetry>();
        using var downloader = new ImageDownloader(new DownloadOptions
        {
            InitialBackoff = TimeSpan.FromMilliseconds(5),
            OnRetry = r =>
            {
                retries.Add(r);
                return ValueTask.CompletedTask;
            },
        });
        using var client = new RemoteConnection().CreateClient();
        var tmp = _temp.Sub("tmp");

        var file = await downloader.DownloadAsync(new DownloadRequest
        {
            Client = client,
            Sources = [new Uri($"http://127.0.0.1:{proxy.Port}/image.tar.xz")],
            TempDirectory = tmp,
            ExpectedSize = _file.Length,
            ExpectedSha256 = Bytes.Sha256(_file),
        }).WaitAsync(TimeSpan.FromSeconds(60));

        Assert.Equal(Bytes.Sha256(_file), file.Sha256);
        var resumedFrom = Assert.Single(retries).BytesOnDisk;
        // Everything that crossed the proxy before the cut (3 MB less nginx's headers) was kept.
        Assert.InRange(resumedFrom, 2_999_000, 3_000_000);
        var line = await _nginx.WaitForLogLineAsync($"\"bytes={resumedFrom}-\"");
        Assert.Contains($" 206 {_file.Length - resumedFrom}", line, StringComparison.Ordinal);
    }

    [Fact]
    public async Task SimpleStreams_tree_served_by_nginx_is_consumed()
    {
        var www = Path.Combine(_temp.Path, "www");
        var tree = new SimpleStreamsTree(www);
        var meta = Bytes.Random(5000, 1);
        var root = Bytes.Random(1 << 20, 2);
        var fp = tree.AddSplit("alpine:3.20:amd64:default", "Alpine", "3.20", "amd64", "20241120_13:00", "alpine/3.20", meta, root);
        tree.Publish();
        using var downloader = new ImageDownloader();
        using var remote = new SimpleStreamsRemote(_nginx.BaseUri, downloader, nativeArchitecture: "x86_64");

        var image = await remote.ResolveAliasAsync("alpine/3.20");
        var downloaded = await remote.DownloadAsync(image, _temp.Sub("tmp"));

        Assert.Equal(fp, downloaded.Fingerprint.ToString());
        Assert.Equal(root, await File.ReadAllBytesAsync(downloaded.Rootfs!.Path));
        Assert.Equal("Alpine 3.20 amd64 (20241120_13:00)", image.Info.Properties["description"]);
    }
}
