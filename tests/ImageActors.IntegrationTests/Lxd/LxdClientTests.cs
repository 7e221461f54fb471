using ImageActors.IntegrationTests.Support;
using ImageActors.Server.Tests.Support;

namespace ImageActors.IntegrationTests.Lxd;

/// <summary>
/// The real LXD daemon as a client that copies from us: <c>imageactors serve</c> with a unified and a split image,
/// added to <c>lxc</c> as an <c>lxd</c> remote and as a <c>simplestreams</c> remote, and
/// <c>lxc image copy REMOTE:ALIAS local:</c> run against the daemon, which downloads from our server itself.
/// </summary>
[Collection(LxdDaemonCollection.Name)]
public sealed class LxdClientTests(LxdDaemon lxd, LxdClientTests.Served served) : IClassFixture<LxdClientTests.Served>, IAsyncLifetime
{
    private readonly LxcClient _lxc = new();

    public async Task InitializeAsync()
    {
        var url = served.Server.Https.ToString().TrimEnd('/');
        await _lxc.RunOkAsync(null, "remote", "add", "ours", url, "--public", "--accept-certificate");
        await _lxc.RunOkAsync(null, "remote", "add", "ss", url, "--protocol", "simplestreams", "--public");

        // --accept-certificate does nothing for simplestreams remotes: pin the certificate by hand.
        File.Copy(served.Server.CertificatePath, Path.Combine(_lxc.ConfigDirectory, "servercerts", "ss.crt"), overwrite: true);
    }

    public Task DisposeAsync()
    {
        _lxc.Dispose();
        return Task.CompletedTask;
    }

    [Theory]
    [InlineData("ours", "unified")]
    [InlineData("ours", "split")]
    [InlineData("ss", "unified")]
    [InlineData("ss", "split")]
    public async Task The_daemon_copies_our_image_with_our_fingerprint_and_bytes(string remote, string kind)
    {
        var fingerprint = served.Fingerprints[kind];
        await lxd.DeleteImageIfPresentAsync(fingerprint);

        await LocalAsync("image", "copy", $"{remote}:lxd-client/{kind}", "local:");

        var image = await lxd.FindImageAsync(fingerprint);
        Assert.NotNull(image);
        Assert.Equal("container", image.Type);
        Assert.Equal("Testos", image.Properties["os"]);
        var theirs = lxd.ImageFiles(fingerprint);
        Assert.Equal(kind == "split" ? 2 : 1, theirs.Count);
        foreach (var file in theirs)
        {
            Assert.Equal(await File.ReadAllBytesAsync(Path.Combine(served.Server.Cli.Data, "images", Path.GetFileName(file))), await File.ReadAllBytesAsync(file));
        }
    }

    [Theory]
    [InlineData("ours", "lxd")]
    [InlineData("ss", "simplestreams")]
    public async Task The_daemon_keeps_alias_copied_aliases_and_auto_update_and_refreshes_from_us(string remote, string protocol)
    {
        var fingerprint = served.Fingerprints["split"];
        await lxd.DeleteImageIfPresentAsync(fingerprint);

        await LocalAsync("image", "copy", $"{remote}:lxd-client/split", "local:", "--alias", "mine/" + remote, "--copy-aliases", "--auto-update");
        var refreshed = await LocalAsync("image", "refresh", "local:mine/" + remote);

        var image = await lxd.FindImageAsync(fingerprint);
        Assert.NotNull(image);
        Assert.Contains("mine/" + remote, image.Aliases);
        Assert.Contains("lxd-client/split", image.Aliases);
        Assert.True(image.AutoUpdate);
        Assert.Equal(served.Server.Https.ToString().TrimEnd('/'), image.SourceServer?.TrimEnd('/'));
        Assert.Equal(protocol, image.SourceProtocol);
        Assert.Equal("lxd-client/split", image.SourceAlias);
        Assert.Contains("already up to date", refreshed, StringComparison.Ordinal);
    }

    private Task<string> LocalAsync(params string[] arguments) => _lxc.RunOkAsync(null, arguments, lxd.Directory);

    /// <summary><c>imageactors serve</c> with two public images, shared by the tests of the class.</summary>
    public sealed class Served : IAsyncLifetime
    {
        private readonly TempDirectory _root = new();

        public ImageActorsServe Server { get; private set; } = null!;

        public Dictionary<string, string> Fingerprints { get; } = new(StringComparer.Ordinal);

        public async Task InitializeAsync()
        {
            var cli = new ImageActorsCli(_root.Path);
            var unified = await RealImages.UnifiedAsync(_root.Path, "lxd-client-unified", "31");
            var split = await RealImages.SplitAsync(_root.Path, "lxd-client-split", "32");
            Fingerprints["unified"] = Imported(await cli.RunAsync("image", "import", unified, "--alias", "lxd-client/unified", "--public"));
            Fingerprints["split"] = Imported(await cli.RunAsync("image", "import", split.Metadata, split.Rootfs, "--alias", "lxd-client/split", "--public"));
            Server = await ImageActorsServe.StartAsync(cli, _root.Path);
        }

        public async Task DisposeAsync()
        {
            if (Server is not null)
            {
                await Server.DisposeAsync();
            }

            _root.Dispose();
        }

        private static string Imported(CommandResult result)
        {
            const string marker = "Image imported with fingerprint: ";
            var at = result.Output.IndexOf(marker, StringComparison.Ordinal);
            Assert.True(at >= 0, "no fingerprint in: " + result.Output);
            return result.Output.Substring(at + marker.Length, 64);
        }
    }
}
