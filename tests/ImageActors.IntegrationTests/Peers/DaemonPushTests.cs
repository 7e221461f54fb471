using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using System.Text.Json;
using ImageActors.Cli.Commands;
using ImageActors.IntegrationTests.Support;
using ImageActors.Server.Tests.Support;

namespace ImageActors.IntegrationTests.Peers;

/// <summary>
/// Push and relay copies between <c>imageactors serve</c> and the real LXD or Incus daemon, both ways: our command line pushes
/// (our server uploads to the daemon with the secret it issued) or relays (the command streams from us to the daemon) a unified
/// and a split VM image; and <c>image copy local:… ours: --mode push</c> makes the daemon upload to us, which needs
/// the client to have recorded us as a private remote.
/// </summary>
public abstract class DaemonPushTests(PeerDaemon lxd, DaemonPushTests.Served served) : IClassFixture<DaemonPushTests.Served>, IAsyncLifetime
{
    private readonly TempDirectory _root = new();
    private ImageActorsCli _client = null!;

    public async Task InitializeAsync()
    {
        await lxd.ListenHttpsAsync();

        // The command line's certificate is trusted by both sides, as the operator would do with config trust add.
        _client = new ImageActorsCli(Path.Combine(_root.Path, "client"));
        using (ClientCertificate.LoadOrCreate(_client.Data))
        {
        }

        var certificate = ClientCertificate.CertificatePath(_client.Data);
        await lxd.TrustAsync(certificate, "imageactors-push-" + Guid.NewGuid().ToString("N")[..8]);
        await served.Server.Cli.RunAsync("config", "trust", "add", certificate);
        await _client.RunAsync("remote", "add", "ours", served.Server.Https.ToString().TrimEnd('/'), "--protocol", "imageactors", "--certificate", served.Server.CertificatePath);
        await _client.RunAsync("remote", "add", "lxd", lxd.Https.ToString().TrimEnd('/'), "--protocol", lxd.Kind.Protocol, "--certificate", lxd.CertificatePath);
    }

    public Task DisposeAsync()
    {
        _root.Dispose();
        return Task.CompletedTask;
    }

    [Theory]
    [InlineData("push", "unified")]
    [InlineData("push", "vm")]
    [InlineData("relay", "unified")]
    [InlineData("relay", "vm")]
    public async Task Our_image_copied_to_the_daemon_is_stored_there_with_our_fingerprint_type_and_files(string mode, string kind)
    {
        var fingerprint = served.Fingerprints[kind];
        await lxd.DeleteImageIfPresentAsync(fingerprint);
        var alias = $"from-ours/{mode}-{kind}";

        var copy = await _client.RunAsync("image", "copy", $"ours:daemon-push/{kind}", "lxd:", "--mode", mode, "--alias", alias);

        Assert.Contains("Fingerprint: " + fingerprint, copy.Output, StringComparison.Ordinal);
        var image = await lxd.FindImageAsync(fingerprint);
        Assert.NotNull(image);
        Assert.Equal(kind == "vm" ? "virtual-machine" : "container", image.Type);
        Assert.Contains(alias, image.Aliases);
        Assert.Equal(kind == "vm" ? 2 : 1, lxd.ImageFiles(fingerprint).Count);
        await lxd.AssertSameFilesAsync(fingerprint, served.Server.Cli.Data);
    }

    [Theory]
    [InlineData("push", "unified")]
    [InlineData("push", "vm")]
    [InlineData("relay", "unified")]
    [InlineData("relay", "vm")]
    public async Task The_daemon_copies_its_image_to_us_keeping_its_type_when_the_client_added_us_with_a_trusted_certificate(string mode, string kind)
    {
        var name = $"daemon-pushes-{mode}-{kind}";
        var theirs = $"daemon-push/theirs-{mode}-{kind}";
        var existing = (await lxd.ImagesAsync()).SingleOrDefault(i => i.Aliases.Contains(theirs));
        string fingerprint;
        if (existing is not null)
        {
            fingerprint = existing.Fingerprint;
        }
        else if (kind == "vm")
        {
            var (metadata, disk) = await RealImages.SplitVmAsync(_root.Path, name, "52");
            fingerprint = await lxd.ImportAsync([metadata, disk], false, [theirs]);
        }
        else
        {
            fingerprint = await lxd.ImportAsync([await RealImages.UnifiedAsync(_root.Path, name, "51")], false, [theirs]);
        }

        using var lxc = new PeerClient(lxd.Kind);
        await served.Server.Cli.RunAsync("config", "trust", "add", await MakeLxcCertificateAsync(lxc));

        await lxc.RunOkAsync(null, "remote", "add", "ours", served.Server.Https.ToString().TrimEnd('/'), "--accept-certificate");
        await lxc.RunOkAsync(null, ["image", "copy", "local:" + fingerprint, "ours:", "--mode", mode, "--alias", $"from-daemon/{mode}-{kind}"], lxd.Directory);

        // remote add recorded us as a private server: that is what lets the client push or relay at all.
        Assert.DoesNotContain("public: true", await RemoteEntryAsync(lxc, "ours"), StringComparison.Ordinal);
        var info = await served.Server.Cli.RunAsync("image", "list", "--format", "json");
        using var list = JsonDocument.Parse(info.Output);
        var ours = list.RootElement.EnumerateArray().SingleOrDefault(i => i.GetProperty("fingerprint").GetString() == fingerprint);
        Assert.Equal(JsonValueKind.Object, ours.ValueKind);
        Assert.Equal(kind == "vm" ? "virtual-machine" : "container", ours.GetProperty("type").GetString());
        Assert.Contains(ours.GetProperty("aliases").EnumerateArray(), a => a.GetProperty("name").GetString() == $"from-daemon/{mode}-{kind}");
        await lxd.AssertSameFilesAsync(fingerprint, served.Server.Cli.Data);
    }

    [Fact]
    public async Task The_client_adding_us_without_a_trusted_certificate_records_a_public_image_server_and_still_copies_from_it()
    {
        using var lxc = new PeerClient(lxd.Kind);

        await lxc.RunOkAsync(null, "remote", "add", "ours", served.Server.Https.ToString().TrimEnd('/'), "--accept-certificate");
        var listed = await lxc.RunOkAsync(null, "image", "list", "ours:", "--format", "csv", "-c", "F");

        Assert.Contains("public: true", await RemoteEntryAsync(lxc, "ours"), StringComparison.Ordinal);
        Assert.Contains(served.Fingerprints["unified"], listed, StringComparison.Ordinal);
    }

    // The lines of one remote in lxc's config.yml (two-space indented name, four-space indented settings).
    private static async Task<string> RemoteEntryAsync(PeerClient lxc, string name)
    {
        var lines = await File.ReadAllLinesAsync(Path.Combine(lxc.ConfigDirectory, "config.yml"));
        var start = Array.IndexOf(lines, $"  {name}:");
        Assert.True(start >= 0, $"no remote {name} in config.yml: {string.Join('\n', lines)}");
        return string.Join('\n', lines.Skip(start + 1).TakeWhile(l => l.StartsWith("    ", StringComparison.Ordinal)));
    }

    // lxc makes its certificate on first use; made here so our server can trust it before lxc first connects.
    private static async Task<string> MakeLxcCertificateAsync(PeerClient lxc)
    {
        using var key = ECDsa.Create(ECCurve.NamedCurves.nistP384);
        var request = new CertificateRequest("CN=lxc-push", key, HashAlgorithmName.SHA384);
        request.CertificateExtensions.Add(new X509EnhancedKeyUsageExtension([new Oid("1.3.6.1.5.5.7.3.2")], critical: false));
        using var certificate = request.CreateSelfSigned(DateTimeOffset.UtcNow.AddMinutes(-5), DateTimeOffset.UtcNow.AddDays(1));
        var path = Path.Combine(lxc.ConfigDirectory, "client.crt");
        await File.WriteAllTextAsync(path, certificate.ExportCertificatePem());
        await File.WriteAllTextAsync(Path.Combine(lxc.ConfigDirectory, "client.key"), key.ExportECPrivateKeyPem());
        return path;
    }

    /// <summary><c>imageactors serve</c> with a public unified image and a split VM image.</summary>
    public sealed class Served : IAsyncLifetime
    {
        private readonly TempDirectory _root = new();

        public ImageActorsServe Server { get; private set; } = null!;

        public Dictionary<string, string> Fingerprints { get; } = new(StringComparer.Ordinal);

        public async Task InitializeAsync()
        {
            var cli = new ImageActorsCli(_root.Path);
            var unified = await RealImages.UnifiedAsync(_root.Path, "daemon-push-unified", "41");
            var (metadata, disk) = await RealImages.SplitVmAsync(_root.Path, "daemon-push-vm", "42");
            Fingerprints["unified"] = (await cli.RunAsync("image", "import", unified, "--alias", "daemon-push/unified", "--public")).ImportedFingerprint();
            Fingerprints["vm"] = (await cli.RunAsync("image", "import", metadata, disk, "--alias", "daemon-push/vm", "--public")).ImportedFingerprint();
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
    }
}

/// <summary>The checks against the real LXD 5.0 daemon.</summary>
[Collection(LxdDaemonCollection.Name)]
public sealed class LxdPushTests(LxdDaemon daemon, DaemonPushTests.Served served) : DaemonPushTests(daemon, served), IClassFixture<DaemonPushTests.Served>;

/// <summary>The checks against the real Incus 6.0 daemon.</summary>
[Collection(IncusDaemonCollection.Name)]
public sealed class IncusPushTests(IncusDaemon daemon, DaemonPushTests.Served served) : DaemonPushTests(daemon, served), IClassFixture<DaemonPushTests.Served>;
