using System.Text.Json;
using ImageActors.Images.Domain;
using ImageActors.Images.Remote;
using ImageActors.IntegrationTests.Support;
using ImageActors.Server.Images;
using ImageActors.Server.Tests.Support;
using ImageActors.Streaming;
using Microsoft.Extensions.DependencyInjection;

namespace ImageActors.IntegrationTests.Peers;

/// <summary>
/// The real LXD or Incus daemon as a source we copy from: images imported into it (public, with an alias and
/// properties) are copied over its HTTPS API by <c>imageactors image copy</c>, by URL and through a remote,
/// and arrive with the daemon's fingerprint, bytes and properties.
/// </summary>
public abstract class DaemonSourceTests(PeerDaemon lxd) : IAsyncLifetime
{
    private readonly TempDirectory _root = new();
    private readonly Dictionary<string, string> _fingerprints = new(StringComparer.Ordinal);
    private ImageActorsCli _cli = null!;

    public async Task InitializeAsync()
    {
        _cli = new ImageActorsCli(_root.Path);
        await lxd.ListenHttpsAsync();
        var properties = new Dictionary<string, string>(StringComparer.Ordinal) { ["serial"] = "20260101_0000", ["origin"] = "lxd" };
        var unified = await RealImages.UnifiedAsync(_root.Path, "daemon-source-unified", "21");
        var split = await RealImages.SplitAsync(_root.Path, "daemon-source-split", "22");
        var hidden = await RealImages.UnifiedAsync(_root.Path, "daemon-source-private", "23");

        // The collection's daemon outlives this class: import what it lacks, keep what an earlier test imported.
        _fingerprints["unified"] = await ImportOnceAsync([unified], true, "daemon-source/unified", properties);
        _fingerprints["split"] = await ImportOnceAsync([split.Metadata, split.Rootfs], true, "daemon-source/split", properties);
        _fingerprints["private"] = await ImportOnceAsync([hidden], false, "daemon-source/private", properties);
        var vm = await RealImages.SplitVmAsync(_root.Path, "daemon-source-vm", "24");
        _fingerprints["vm"] = await ImportOnceAsync([vm.Metadata, vm.Disk], true, "daemon-source/vm", properties);
    }

    public Task DisposeAsync()
    {
        _root.Dispose();
        return Task.CompletedTask;
    }

    [Theory]
    [InlineData("unified")]
    [InlineData("split")]
    public async Task Copy_by_url_and_alias_stores_the_daemons_fingerprint_bytes_and_properties(string kind)
    {
        var fingerprint = _fingerprints[kind];

        var copied = await _cli.RunAsync("image", "copy", $"{lxd.Https.ToString().TrimEnd('/')}:daemon-source/{kind}", "--protocol", lxd.Kind.Protocol, "--certificate", lxd.CertificatePath, "--alias", "mine");

        Assert.Contains("Fingerprint: " + fingerprint, copied.Output, StringComparison.Ordinal);
        await lxd.AssertSameFilesAsync(fingerprint, _cli.Data);
        var image = await OurImageAsync(fingerprint);
        Assert.Equal("lxd", image.GetProperty("properties").GetProperty("origin").GetString());
        Assert.Equal("20260101_0000", image.GetProperty("properties").GetProperty("serial").GetString());
        Assert.Equal("Testos", image.GetProperty("properties").GetProperty("os").GetString());
        Assert.Equal("container", image.GetProperty("type").GetString());
        Assert.Equal("mine", image.GetProperty("aliases")[0].GetProperty("name").GetString());
    }

    [Fact]
    public async Task Copy_of_a_vm_image_by_alias_with_vm_stores_the_daemons_disk_as_a_vm_image()
    {
        var fingerprint = _fingerprints["vm"];

        var copied = await _cli.RunAsync("image", "copy", $"{lxd.Https.ToString().TrimEnd('/')}:daemon-source/vm", "--protocol", lxd.Kind.Protocol, "--certificate", lxd.CertificatePath, "--vm");

        Assert.Contains("Fingerprint: " + fingerprint, copied.Output, StringComparison.Ordinal);
        await lxd.AssertSameFilesAsync(fingerprint, _cli.Data);
        Assert.Equal("virtual-machine", (await OurImageAsync(fingerprint)).GetProperty("type").GetString());
    }

    [Fact]
    public async Task A_private_image_is_copied_with_a_trusted_certificate()
    {
        var fingerprint = _fingerprints["private"];
        using (ImageActors.Cli.Commands.ClientCertificate.LoadOrCreate(_cli.Data))
        {
        }

        await lxd.TrustAsync(ImageActors.Cli.Commands.ClientCertificate.CertificatePath(_cli.Data), "imageactors-private-" + Guid.NewGuid().ToString("N")[..8]);
        await _cli.RunAsync("remote", "add", "trusting", lxd.Https.ToString().TrimEnd('/'), "--protocol", lxd.Kind.Protocol, "--certificate", lxd.CertificatePath);

        var copied = await _cli.RunAsync("image", "copy", "trusting:daemon-source/private");

        Assert.Contains("Fingerprint: " + fingerprint, copied.Output, StringComparison.Ordinal);
        await lxd.AssertSameFilesAsync(fingerprint, _cli.Data);
        Assert.False((await OurImageAsync(fingerprint)).GetProperty("public").GetBoolean());
    }

    [Fact]
    public async Task Copy_through_a_remote_by_fingerprint_prefix_stores_the_split_image()
    {
        var fingerprint = _fingerprints["split"];
        await _cli.RunAsync("remote", "add", "daemonsource", lxd.Https.ToString(), "--protocol", lxd.Kind.Protocol, "--public", "--certificate", lxd.CertificatePath);

        var copied = await _cli.RunAsync("image", "copy", "daemonsource:" + fingerprint[..16], "--auto-update");

        Assert.Contains("Fingerprint: " + fingerprint, copied.Output, StringComparison.Ordinal);
        await lxd.AssertSameFilesAsync(fingerprint, _cli.Data);
        Assert.True((await OurImageAsync(fingerprint)).GetProperty("auto_update").GetBoolean());
    }

    [Fact]
    public async Task A_private_daemon_image_is_not_found_and_nothing_is_stored()
    {
        var result = await _cli.RunAsync(false, "image", "copy", $"{lxd.Https.ToString().TrimEnd('/')}:daemon-source/private", "--protocol", lxd.Kind.Protocol, "--certificate", lxd.CertificatePath);

        Assert.Equal(1, result.ExitCode);
        Assert.Contains("not found", result.Error, StringComparison.OrdinalIgnoreCase);
        Assert.Contains("daemon-source/private", result.Error, StringComparison.Ordinal);
        var list = await _cli.RunAsync("image", "list", "--format", "json");
        Assert.Equal("[]", list.Output.Trim());
    }

    [Fact]
    public async Task An_appliance_with_the_daemon_as_its_upstream_exports_an_image_it_lacked_to_client()
    {
        var fingerprint = _fingerprints["split"];
        var upstream = new RemoteSource(lxd.Https, lxd.Kind.Protocol, await File.ReadAllTextAsync(lxd.CertificatePath));
        var data = Path.Combine(_root.Path, "appliance");
        await using var store = await EmbeddedStores.OpenAsync(data, [upstream]);
        await using var appliance = await LoopbackServer.StartAsync(data, services: s =>
            s.AddSingleton<IImageBackend>(new ImageStoreBackend(store.Store, store.Copier, store.PullThrough)));
        using var lxc = new PeerClient(lxd.Kind);
        await lxc.RunOkAsync(null, "remote", "add", "appliance", appliance.Https.ToString().TrimEnd('/'), "--public", "--accept-certificate");
        var target = Path.Combine(_root.Path, "exported");
        Directory.CreateDirectory(target);

        await lxc.RunOkAsync(target, "image", "export", "appliance:daemon-source/split");

        var exported = Directory.GetFiles(target).OrderBy(f => Path.GetFileName(f).StartsWith("meta-", StringComparison.Ordinal) ? 0 : 1).ToList();
        var theirs = lxd.ImageFiles(fingerprint);
        Assert.Equal(2, exported.Count);
        Assert.Equal(await File.ReadAllBytesAsync(theirs[0]), await File.ReadAllBytesAsync(exported[0]));
        Assert.Equal(await File.ReadAllBytesAsync(theirs[1]), await File.ReadAllBytesAsync(exported[1]));
        Assert.True(store.Store.Catalog.Find(ProjectName.Default, Fingerprint.Parse(fingerprint))?.Cached);
    }

    [Fact]
    public async Task An_appliance_lists_the_unified_image_of_its_daemon_upstream_in_SimpleStreams_and_client_downloads_it_through_the_appliance()
    {
        var unified = _fingerprints["unified"];
        var upstream = new RemoteSource(lxd.Https, lxd.Kind.Protocol, await File.ReadAllTextAsync(lxd.CertificatePath));
        var data = Path.Combine(_root.Path, "ss-appliance");
        await using var store = await EmbeddedStores.OpenAsync(data, [upstream]);
        await using var appliance = await LoopbackServer.StartAsync(data, services: s =>
            s.AddSingleton<IImageBackend>(new ImageStoreBackend(store.Store, store.Copier, store.PullThrough)));
        using var client = appliance.HttpsClient();

        // The probe of the real daemon's exports tells the unified image (listed as its one file) from the split one (left out).
        var products = await client.GetStringAsync(new Uri("/streams/v1/images.json", UriKind.Relative));
        using (var json = JsonDocument.Parse(products))
        {
            var items = json.RootElement.GetProperty("products").EnumerateObject()
                .SelectMany(p => p.Value.GetProperty("versions").EnumerateObject())
                .SelectMany(v => v.Value.GetProperty("items").EnumerateObject())
                .Select(i => i.Value).ToList();
            var combined = Assert.Single(items, i => i.GetProperty("ftype").GetString() == "lxd_combined.tar.gz" && i.GetProperty("sha256").GetString() == unified);
            Assert.Equal(new FileInfo(lxd.ImageFiles(unified)[0]).Length, combined.GetProperty("size").GetInt64());
            Assert.Equal($"images/{unified}/{unified}.tar.xz", combined.GetProperty("path").GetString());
        }

        Assert.DoesNotContain(_fingerprints["split"], products, StringComparison.Ordinal);
        Assert.Null(store.Store.Catalog.Find(ProjectName.Default, Fingerprint.Parse(unified)));

        using var lxc = new PeerClient(lxd.Kind);
        await lxc.RunOkAsync(null, "remote", "add", "appliance-ss", appliance.Https.ToString().TrimEnd('/'), "--protocol", "simplestreams", "--public");
        // --accept-certificate does nothing for simplestreams remotes: pin the certificate by hand.
        Directory.CreateDirectory(Path.Combine(lxc.ConfigDirectory, "servercerts"));
        await File.WriteAllTextAsync(Path.Combine(lxc.ConfigDirectory, "servercerts", "appliance-ss.crt"), appliance.Server.Certificate.ExportCertificatePem());
        var target = Path.Combine(_root.Path, "ss-exported");
        Directory.CreateDirectory(target);

        await lxc.RunOkAsync(target, "image", "export", "appliance-ss:daemon-source/unified");

        var exported = Assert.Single(Directory.GetFiles(target));
        Assert.Equal(await File.ReadAllBytesAsync(lxd.ImageFiles(unified)[0]), await File.ReadAllBytesAsync(exported));
        Assert.True(store.Store.Catalog.Find(ProjectName.Default, Fingerprint.Parse(unified))?.Cached);
    }

    private async Task<string> ImportOnceAsync(IReadOnlyList<string> files, bool isPublic, string alias, IReadOnlyDictionary<string, string> properties)
    {
        var existing = (await lxd.ImagesAsync()).SingleOrDefault(i => i.Aliases.Contains(alias));
        return existing?.Fingerprint ?? await lxd.ImportAsync(files, isPublic, [alias], properties);
    }

    private async Task<JsonElement> OurImageAsync(string fingerprint)
    {
        var list = await _cli.RunAsync("image", "list", "--format", "json");
        using var document = JsonDocument.Parse(list.Output);
        return document.RootElement.EnumerateArray().Single(i => i.GetProperty("fingerprint").GetString() == fingerprint).Clone();
    }
}

/// <summary>The checks against the real LXD 5.0 daemon.</summary>
[Collection(LxdDaemonCollection.Name)]
public sealed class LxdSourceTests(LxdDaemon daemon) : DaemonSourceTests(daemon);

/// <summary>The checks against the real Incus 6.0 daemon.</summary>
[Collection(IncusDaemonCollection.Name)]
public sealed class IncusSourceTests(IncusDaemon daemon) : DaemonSourceTests(daemon);
