using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using ImageActors.IntegrationTests.Support;
using ImageActors.Server.Tests.Support;

namespace ImageActors.IntegrationTests.Peers;

/// <summary>
/// The real LXD or Incus daemon as a client that copies from us: <c>imageactors serve</c> with a unified and a split image,
/// added to <c>lxc</c> / <c>incus</c> as a remote of its own protocol and as a <c>simplestreams</c> remote, and
/// <c>image copy REMOTE:ALIAS local:</c> run against the daemon, which downloads from our server itself.
/// </summary>
public abstract class DaemonClientTests(PeerDaemon lxd, DaemonClientTests.Served served) : IClassFixture<DaemonClientTests.Served>, IAsyncLifetime
{
    private readonly PeerClient _client = new(lxd.Kind);

    public async Task InitializeAsync()
    {
        var url = served.Server.Https.ToString().TrimEnd('/');
        await _client.RunOkAsync(null, "remote", "add", "ours", url, "--public", "--accept-certificate");
        await _client.RunOkAsync(null, "remote", "add", "ss", url, "--protocol", "simplestreams", "--public");

        // --accept-certificate does nothing for simplestreams remotes: pin the certificate by hand.
        File.Copy(served.Server.CertificatePath, Path.Combine(_client.ConfigDirectory, "servercerts", "ss.crt"), overwrite: true);
    }

    public Task DisposeAsync()
    {
        _client.Dispose();
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

        await LocalAsync("image", "copy", $"{remote}:daemon-client/{kind}", "local:");

        var image = await lxd.FindImageAsync(fingerprint);
        Assert.NotNull(image);
        Assert.Equal("container", image.Type);
        Assert.Equal("Testos", image.Properties["os"]);
        Assert.Equal(kind == "split" ? 2 : 1, lxd.ImageFiles(fingerprint).Count);
        await lxd.AssertSameFilesAsync(fingerprint, served.Server.Cli.Data);
    }

    [Theory]
    [InlineData("ours")]
    [InlineData("ss")]
    public async Task The_daemon_keeps_alias_copied_aliases_and_auto_update_and_refreshes_from_us(string remote)
    {
        var protocol = remote == "ss" ? "simplestreams" : lxd.Kind.Protocol;
        var fingerprint = served.Fingerprints["split"];
        await lxd.DeleteImageIfPresentAsync(fingerprint);

        await LocalAsync("image", "copy", $"{remote}:daemon-client/split", "local:", "--alias", "mine/" + remote, "--copy-aliases", "--auto-update");
        var refreshed = await LocalAsync("image", "refresh", "local:mine/" + remote);

        var image = await lxd.FindImageAsync(fingerprint);
        Assert.NotNull(image);
        Assert.Contains("mine/" + remote, image.Aliases);
        Assert.Contains("daemon-client/split", image.Aliases);
        Assert.True(image.AutoUpdate);
        Assert.Equal(served.Server.Https.ToString().TrimEnd('/'), image.SourceServer?.TrimEnd('/'));
        Assert.Equal(protocol, image.SourceProtocol);
        Assert.Equal("daemon-client/split", image.SourceAlias);
        Assert.Contains("already up to date", refreshed, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("ours")]
    [InlineData("ss")]
    public async Task The_daemon_copies_our_vm_image_with_vm_keeping_its_type_fingerprint_and_files(string remote)
    {
        var fingerprint = served.Fingerprints["vm"];
        await lxd.DeleteImageIfPresentAsync(fingerprint);

        await LocalAsync("image", "copy", $"{remote}:daemon-client/vm", "local:", "--vm");

        var image = await lxd.FindImageAsync(fingerprint);
        Assert.NotNull(image);
        Assert.Equal("virtual-machine", image.Type);
        Assert.Equal(2, lxd.ImageFiles(fingerprint).Count);
        await lxd.AssertSameFilesAsync(fingerprint, served.Server.Cli.Data);
    }

    [Fact]
    public async Task A_relay_copy_by_fingerprint_passes_our_export_through_client_to_the_daemon()
    {
        var fingerprint = served.Fingerprints["relay"];
        await lxd.DeleteImageIfPresentAsync(fingerprint);

        await LocalAsync("image", "copy", "ours:" + fingerprint[..12], "local:", "--mode", "relay");

        Assert.NotNull(await lxd.FindImageAsync(fingerprint));
        Assert.Equal(2, lxd.ImageFiles(fingerprint).Count);
    }

    [Fact]
    public async Task A_private_image_is_copied_by_the_daemon_with_the_secret_our_server_gave_a_trusted_client()
    {
        var fingerprint = served.Fingerprints["private"];
        await lxd.DeleteImageIfPresentAsync(fingerprint);
        var untrusted = await _client.RunAsync(null, ["image", "copy", "ours:daemon-client/private", "local:"], lxd.Directory);
        await TrustLxcAsync();
        await _client.RunOkAsync(null, "remote", "add", "trusted", served.Server.Https.ToString().TrimEnd('/'), "--accept-certificate");

        await LocalAsync("image", "copy", "trusted:daemon-client/private", "local:", "--alias", "private-copy");

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
        await LocalAsync("image", "copy", "ours:daemon-client/moving", "local:", "--alias", "moving", "--auto-update");

        await served.MoveAliasAsync("daemon-client/moving", second);
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
        var certificatePath = Path.Combine(_client.ConfigDirectory, "client.crt");
        await File.WriteAllTextAsync(certificatePath, certificate.ExportCertificatePem());
        await File.WriteAllTextAsync(Path.Combine(_client.ConfigDirectory, "client.key"), key.ExportECPrivateKeyPem());
        await served.Server.Cli.RunAsync("config", "trust", "add", certificatePath);
    }

    private Task<string> LocalAsync(params string[] arguments) => _client.RunOkAsync(null, arguments, lxd.Directory);

    /// <summary><c>imageactors serve</c> with two public images, shared by the tests of the class.</summary>
    public sealed class Served : IAsyncLifetime
    {
        private readonly TempDirectory _root = new();

        public ImageActorsServe Server { get; private set; } = null!;

        public Dictionary<string, string> Fingerprints { get; } = new(StringComparer.Ordinal);

        public async Task InitializeAsync()
        {
            var cli = new ImageActorsCli(_root.Path);
            var unified = await RealImages.UnifiedAsync(_root.Path, "daemon-client-unified", "31");
            var split = await RealImages.SplitAsync(_root.Path, "daemon-client-split", "32");
            Fingerprints["unified"] = (await cli.RunAsync("image", "import", unified, "--alias", "daemon-client/unified", "--public")).ImportedFingerprint();
            Fingerprints["split"] = (await cli.RunAsync("image", "import", split.Metadata, split.Rootfs, "--alias", "daemon-client/split", "--public")).ImportedFingerprint();
            var relay = await RealImages.SplitAsync(_root.Path, "daemon-client-relay", "33");
            Fingerprints["relay"] = (await cli.RunAsync("image", "import", relay.Metadata, relay.Rootfs, "--public")).ImportedFingerprint();
            var vm = await RealImages.SplitVmAsync(_root.Path, "daemon-client-vm", "37");
            Fingerprints["vm"] = (await cli.RunAsync("image", "import", vm.Metadata, vm.Disk, "--alias", "daemon-client/vm", "--public")).ImportedFingerprint();
            Fingerprints["private"] = (await cli.RunAsync("image", "import", await RealImages.UnifiedAsync(_root.Path, "daemon-client-private", "34"), "--alias", "daemon-client/private")).ImportedFingerprint();
            Fingerprints["moving-1"] = (await cli.RunAsync("image", "import", await RealImages.UnifiedAsync(_root.Path, "daemon-client-moving-1", "35"), "--alias", "daemon-client/moving", "--public")).ImportedFingerprint();
            Fingerprints["moving-2"] = (await cli.RunAsync("image", "import", await RealImages.UnifiedAsync(_root.Path, "daemon-client-moving-2", "36"), "--public")).ImportedFingerprint();
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

/// <summary>The checks against the real LXD 5.0 daemon.</summary>
[Collection(LxdDaemonCollection.Name)]
public sealed class LxdClientTests(LxdDaemon daemon, DaemonClientTests.Served served) : DaemonClientTests(daemon, served), IClassFixture<DaemonClientTests.Served>;

/// <summary>The checks against the real Incus 6.0 daemon.</summary>
[Collection(IncusDaemonCollection.Name)]
public sealed class IncusClientTests(IncusDaemon daemon, DaemonClientTests.Served served) : DaemonClientTests(daemon, served), IClassFixture<DaemonClientTests.Served>;
