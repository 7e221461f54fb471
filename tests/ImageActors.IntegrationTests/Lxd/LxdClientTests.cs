using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
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
        Assert.Equal(kind == "split" ? 2 : 1, lxd.ImageFiles(fingerprint).Count);
        await lxd.AssertSameFilesAsync(fingerprint, served.Server.Cli.Data);
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

    [Fact]
    public async Task A_relay_copy_by_fingerprint_passes_our_export_through_lxc_to_the_daemon()
    {
        var fingerprint = served.Fingerprints["relay"];
        await lxd.DeleteImageIfPresentAsync(fingerprint);

        await LocalAsync("image", "copy", "ours:" + fingerprint[..12], "local:", "--mode", "relay");

        Assert.NotNull(await lxd.FindImageAsync(fingerprint));
        Assert.Equal(2, lxd.ImageFiles(fingerprint).Count);
    }

    [Fact]
    public async Task A_private_image_is_copied_by_the_daemon_with_the_secret_our_server_gave_a_trusted_lxc()
    {
        var fingerprint = served.Fingerprints["private"];
        await lxd.DeleteImageIfPresentAsync(fingerprint);
        var untrusted = await _lxc.RunAsync(null, ["image", "copy", "ours:lxd-client/private", "local:"], lxd.Directory);
        await TrustLxcAsync();
        await _lxc.RunOkAsync(null, "remote", "add", "trusted", served.Server.Https.ToString().TrimEnd('/'), "--accept-certificate");

        await LocalAsync("image", "copy", "trusted:lxd-client/private", "local:", "--alias", "private-copy");

        Assert.NotEqual(0, untrusted.ExitCode);
        var image = await lxd.FindImageAsync(fingerprint);
        Assert.NotNull(image);
        Assert.False(image.Public);
        Assert.Contains("private-copy", image.Aliases);
    }

    [Fact]
    public async Task Refresh_on_the_daemon_fetches_the_image_our_alias_was_moved_to()
    {
        var (first, second) = (served.Fingerprints["moving-1"], served.Fingerprints["moving-2"]);
        await lxd.DeleteImageIfPresentAsync(first);
        await lxd.DeleteImageIfPresentAsync(second);
        await LocalAsync("image", "copy", "ours:lxd-client/moving", "local:", "--alias", "moving", "--auto-update");

        await served.MoveAliasAsync("lxd-client/moving", second);
        var refreshed = await LocalAsync("image", "refresh", "local:moving");

        Assert.Contains("refreshed successfully", refreshed, StringComparison.Ordinal);
        Assert.Null(await lxd.FindImageAsync(first));
        var image = await lxd.FindImageAsync(second);
        Assert.NotNull(image);
        Assert.Contains("moving", image.Aliases);
        Assert.True(image.AutoUpdate);
    }

    // lxc makes its client certificate on first use, and then presents it to public remotes too; this one is made
    // here so that our server can trust it before lxc connects.
    private async Task TrustLxcAsync()
    {
        using var key = ECDsa.Create(ECCurve.NamedCurves.nistP384);
        var request = new CertificateRequest("CN=lxc-client", key, HashAlgorithmName.SHA384);
        request.CertificateExtensions.Add(new X509EnhancedKeyUsageExtension([new Oid("1.3.6.1.5.5.7.3.2")], critical: false));
        using var certificate = request.CreateSelfSigned(DateTimeOffset.UtcNow.AddMinutes(-5), DateTimeOffset.UtcNow.AddDays(1));
        var certificatePath = Path.Combine(_lxc.ConfigDirectory, "client.crt");
        await File.WriteAllTextAsync(certificatePath, certificate.ExportCertificatePem());
        await File.WriteAllTextAsync(Path.Combine(_lxc.ConfigDirectory, "client.key"), key.ExportECPrivateKeyPem());
        await served.Server.Cli.RunAsync("config", "trust", "add", certificatePath);
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
            Fingerprints["unified"] = (await cli.RunAsync("image", "import", unified, "--alias", "lxd-client/unified", "--public")).ImportedFingerprint();
            Fingerprints["split"] = (await cli.RunAsync("image", "import", split.Metadata, split.Rootfs, "--alias", "lxd-client/split", "--public")).ImportedFingerprint();
            var relay = await RealImages.SplitAsync(_root.Path, "lxd-client-relay", "33");
            Fingerprints["relay"] = (await cli.RunAsync("image", "import", relay.Metadata, relay.Rootfs, "--public")).ImportedFingerprint();
            Fingerprints["private"] = (await cli.RunAsync("image", "import", await RealImages.UnifiedAsync(_root.Path, "lxd-client-private", "34"), "--alias", "lxd-client/private")).ImportedFingerprint();
            Fingerprints["moving-1"] = (await cli.RunAsync("image", "import", await RealImages.UnifiedAsync(_root.Path, "lxd-client-moving-1", "35"), "--alias", "lxd-client/moving", "--public")).ImportedFingerprint();
            Fingerprints["moving-2"] = (await cli.RunAsync("image", "import", await RealImages.UnifiedAsync(_root.Path, "lxd-client-moving-2", "36"), "--public")).ImportedFingerprint();
            Server = await ImageActorsServe.StartAsync(cli, _root.Path);
        }

        /// <summary>Points <paramref name="alias"/> at another image, through the running server's unix socket.</summary>
        public async Task MoveAliasAsync(string alias, string fingerprint)
        {
            await Server.Cli.RunAsync("image", "alias", "delete", alias);
            await Server.Cli.RunAsync("image", "alias", "create", alias, fingerprint);
        }

        public async Task DisposeAsync()
        {
            if (Server is not null)
            {
                await Server.DisposeAsync();
            }

            _root.Dispose();
        }
    }
}
