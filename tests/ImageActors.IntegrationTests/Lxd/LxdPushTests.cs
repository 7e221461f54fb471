using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using System.Text.Json;
using ImageActors.Cli.Commands;
using ImageActors.IntegrationTests.Support;
using ImageActors.Server.Tests.Support;

namespace ImageActors.IntegrationTests.Lxd;

/// <summary>
/// Push and relay copies between <c>imageactors serve</c> and the real LXD daemon, both ways: our command line pushes
/// (our server uploads to LXD with the secret LXD issued) or relays (the command streams from us to LXD) a unified
/// and a split VM image; and <c>lxc image copy local:… ours: --mode push</c> makes LXD upload to us, which needs
/// <c>lxc</c> to have recorded us as a private remote.
/// </summary>
[Collection(LxdDaemonCollection.Name)]
public sealed class LxdPushTests(LxdDaemon lxd, LxdPushTests.Served served) : IClassFixture<LxdPushTests.Served>, IAsyncLifetime
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
        await _client.RunAsync("remote", "add", "lxd", lxd.Https.ToString().TrimEnd('/'), "--protocol", "lxd", "--certificate", lxd.CertificatePath);
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
    public async Task Our_image_copied_to_lxd_is_stored_there_with_our_fingerprint_type_and_files(string mode, string kind)
    {
        var fingerprint = served.Fingerprints[kind];
        await lxd.DeleteImageIfPresentAsync(fingerprint);
        var alias = $"from-ours/{mode}-{kind}";

        var copy = await _client.RunAsync("image", "copy", $"ours:lxd-push/{kind}", "lxd:", "--mode", mode, "--alias", alias);

        Assert.Contains("Fingerprint: " + fingerprint, copy.Output, StringComparison.Ordinal);
        var image = await lxd.FindImageAsync(fingerprint);
        Assert.NotNull(image);
        Assert.Equal(kind == "vm" ? "virtual-machine" : "container", image.Type);
        Assert.Contains(alias, image.Aliases);
        Assert.Equal(kind == "vm" ? 2 : 1, lxd.ImageFiles(fingerprint).Count);
        await lxd.AssertSameFilesAsync(fingerprint, served.Server.Cli.Data);
    }

    [Fact]
    public async Task Lxd_pushes_its_image_to_us_when_lxc_added_us_with_a_trusted_certificate()
    {
        var file = await RealImages.UnifiedAsync(_root.Path, "lxd-pushes", "51");
        var existing = (await lxd.ImagesAsync()).SingleOrDefault(i => i.Aliases.Contains("lxd-push/theirs"));
        var fingerprint = existing?.Fingerprint ?? await lxd.ImportAsync([file], false, ["lxd-push/theirs"]);
        using var lxc = new LxcClient();
        await served.Server.Cli.RunAsync("config", "trust", "add", await MakeLxcCertificateAsync(lxc));

        await lxc.RunOkAsync(null, "remote", "add", "ours", served.Server.Https.ToString().TrimEnd('/'), "--accept-certificate");
        await lxc.RunOkAsync(null, ["image", "copy", "local:" + fingerprint, "ours:", "--mode", "push", "--alias", "from-lxd"], lxd.Directory);

        // remote add recorded us as a private server: that is what lets lxc push at all.
        Assert.DoesNotContain("public: true", await RemoteEntryAsync(lxc, "ours"), StringComparison.Ordinal);
        var info = await served.Server.Cli.RunAsync("image", "list", "--format", "json");
        using var list = JsonDocument.Parse(info.Output);
        var ours = list.RootElement.EnumerateArray().SingleOrDefault(i => i.GetProperty("fingerprint").GetString() == fingerprint);
        Assert.Equal(JsonValueKind.Object, ours.ValueKind);
        Assert.Equal("container", ours.GetProperty("type").GetString());
        Assert.Contains(ours.GetProperty("aliases").EnumerateArray(), a => a.GetProperty("name").GetString() == "from-lxd");
        await lxd.AssertSameFilesAsync(fingerprint, served.Server.Cli.Data);
    }

    [Fact]
    public async Task Lxc_adding_us_without_a_trusted_certificate_records_a_public_image_server_and_still_copies_from_it()
    {
        using var lxc = new LxcClient();

        await lxc.RunOkAsync(null, "remote", "add", "ours", served.Server.Https.ToString().TrimEnd('/'), "--accept-certificate");
        var listed = await lxc.RunOkAsync(null, "image", "list", "ours:", "--format", "csv", "-c", "F");

        Assert.Contains("public: true", await RemoteEntryAsync(lxc, "ours"), StringComparison.Ordinal);
        Assert.Contains(served.Fingerprints["unified"], listed, StringComparison.Ordinal);
    }

    // The lines of one remote in lxc's config.yml (two-space indented name, four-space indented settings).
    private static async Task<string> RemoteEntryAsync(LxcClient lxc, string name)
    {
        var lines = await File.ReadAllLinesAsync(Path.Combine(lxc.ConfigDirectory, "config.yml"));
        var start = Array.IndexOf(lines, $"  {name}:");
        Assert.True(start >= 0, $"no remote {name} in config.yml: {string.Join('\n', lines)}");
        return string.Join('\n', lines.Skip(start + 1).TakeWhile(l => l.StartsWith("    ", StringComparison.Ordinal)));
    }

    // lxc makes its certificate on first use; made here so our server can trust it before lxc first connects.
    private static async Task<string> MakeLxcCertificateAsync(LxcClient lxc)
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
            var unified = await RealImages.UnifiedAsync(_root.Path, "lxd-push-unified", "41");
            var (metadata, disk) = await RealImages.SplitVmAsync(_root.Path, "lxd-push-vm", "42");
            Fingerprints["unified"] = (await cli.RunAsync("image", "import", unified, "--alias", "lxd-push/unified", "--public")).ImportedFingerprint();
            Fingerprints["vm"] = (await cli.RunAsync("image", "import", metadata, disk, "--alias", "lxd-push/vm", "--public")).ImportedFingerprint();
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
