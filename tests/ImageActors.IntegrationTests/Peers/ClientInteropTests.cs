using System.Net;
using ImageActors.Images;
using ImageActors.Images.Configuration;
using ImageActors.Images.Domain;
using ImageActors.IntegrationTests.Support;
using ImageActors.Server.Hosting;
using ImageActors.Server.Images;
using ImageActors.Server.Tests.Support;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace ImageActors.IntegrationTests.Peers;

/// <summary>
/// The real <c>lxc</c> 5.0 or <c>incus</c> 6.0 client against our server on loopback HTTPS, as a remote of the
/// client's own protocol and as a <c>simplestreams</c> remote: listing, info by alias and by fingerprint prefix, alias
/// listing, export of a unified and of a split image byte for byte, and import over the unix
/// socket. The server runs on the real embedded store (SQLite journal, blob files).
/// </summary>
public abstract class ClientInteropTests(PeerKind kind) : IAsyncLifetime
{
    private readonly TempDirectory _data = new();
    private readonly TempDirectory _work = new();
    private readonly PeerClient _lxc = new(kind);
    private ImageActorsServer _server = null!;
    private EmbeddedImageStore _store = null!;
    private ImageRecord _unified = null!;
    private ImageRecord _split = null!;
    private string _unifiedFile = null!;
    private (string Metadata, string Rootfs) _splitFiles;
    private (string Metadata, string Disk) _vmFiles;

    public async Task InitializeAsync()
    {
        _store = await EmbeddedImageStore.OpenAsync(
            _data.Path,
            new PersistenceOptions { SqlitePath = Path.Combine(_data.Path, "journal.db") },
            new ImagesOptions());
        _unifiedFile = await RealImages.UnifiedAsync(_work.Path, "unified", "1");
        _splitFiles = await RealImages.SplitAsync(_work.Path, "split", "1");
        _unified = await _store.Store.ImportAsync(new ImportRequest(new ImageSource.UnifiedFile(_unifiedFile)) { Public = true, Aliases = ["testos/unified"] });
        _split = await _store.Store.ImportAsync(new ImportRequest(new ImageSource.SplitFiles(_splitFiles.Metadata, _splitFiles.Rootfs)) { Public = true, Aliases = ["testos/split"] });
        _vmFiles = await RealImages.SplitVmAsync(_work.Path, "vm", "1");
        await _store.Store.ImportAsync(new ImportRequest(new ImageSource.SplitFiles(_vmFiles.Metadata, _vmFiles.Disk)) { Public = true, Aliases = ["testos/vm"] });
        await _store.Store.WaitForReadModelAsync();

        _server = ImageActorsServer.Create(
            new ListenSettings { DataDirectory = _data.Path, Https = [new IPEndPoint(IPAddress.Loopback, 0)] },
            services => services.AddSingleton<IImageBackend>(new ImageStoreBackend(_store.Store)),
            logging => logging.SetMinimumLevel(LogLevel.Warning));
        await _server.StartAsync();

        var url = _server.HttpsEndpoints[0].ToString().TrimEnd('/');
        await _lxc.RunOkAsync(null, "remote", "add", "ours", url, "--public", "--accept-certificate");
        await _lxc.RunOkAsync(null, "remote", "add", "ss", url, "--protocol", "simplestreams", "--public");

        // --accept-certificate does nothing for simplestreams remotes: pin the certificate by hand.
        Directory.CreateDirectory(Path.Combine(_lxc.ConfigDirectory, "servercerts"));
        File.Copy(Path.Combine(_data.Path, "server.crt"), Path.Combine(_lxc.ConfigDirectory, "servercerts", "ss.crt"), overwrite: true);
    }

    public async Task DisposeAsync()
    {
        await _server.DisposeAsync();
        await _store.DisposeAsync();
        _lxc.Dispose();
        _work.Dispose();
        _data.Dispose();
    }

    [Theory]
    [InlineData("ours")]
    [InlineData("ss")]
    public async Task Image_list_shows_both_images(string remote)
    {
        var csv = await _lxc.RunOkAsync(null, "image", "list", remote + ":", "--format", "csv", "-c", "lf");

        Assert.Contains("testos/unified", csv, StringComparison.Ordinal);
        Assert.Contains("testos/split", csv, StringComparison.Ordinal);
        Assert.Contains(_unified.Fingerprint.ToShortString(12), csv, StringComparison.Ordinal);
        Assert.Contains(_split.Fingerprint.ToShortString(12), csv, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("ours")]
    [InlineData("ss")]
    public async Task Image_info_finds_an_image_by_alias_and_by_fingerprint_prefix(string remote)
    {
        var byAlias = await _lxc.RunOkAsync(null, "image", "info", remote + ":testos/split");
        var byPrefix = await _lxc.RunOkAsync(null, "image", "info", remote + ":" + _unified.Fingerprint.ToShortString(10));

        Assert.Contains("Fingerprint: " + _split.Fingerprint, byAlias, StringComparison.Ordinal);
        Assert.Contains("Fingerprint: " + _unified.Fingerprint, byPrefix, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("ours")]
    [InlineData("ss")]
    public async Task Image_alias_list_shows_the_aliases_and_their_targets(string remote)
    {
        var csv = await _lxc.RunOkAsync(null, "image", "alias", "list", remote + ":", "--format", "csv");

        Assert.Contains("testos/unified", csv, StringComparison.Ordinal);
        Assert.Contains("testos/split", csv, StringComparison.Ordinal);
        Assert.Contains(_unified.Fingerprint.ToShortString(12), csv, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("ours")]
    [InlineData("ss")]
    public async Task Export_of_a_unified_image_writes_the_imported_bytes(string remote)
    {
        var target = Directory.CreateTempSubdirectory("client-export-").FullName;
        await _lxc.RunOkAsync(target, "image", "export", remote + ":testos/unified");

        var written = Directory.GetFiles(target).Single();
        Assert.Equal(await File.ReadAllBytesAsync(_unifiedFile), await File.ReadAllBytesAsync(written));
        Directory.Delete(target, recursive: true);
    }

    [Theory]
    [InlineData("ours")]
    [InlineData("ss")]
    public async Task Export_of_a_split_image_writes_the_imported_metadata_and_rootfs(string remote)
    {
        var target = Directory.CreateTempSubdirectory("client-export-").FullName;
        await _lxc.RunOkAsync(target, "image", "export", remote + ":testos/split");

        var files = Directory.GetFiles(target).Select(Path.GetFileName).Order(StringComparer.Ordinal).ToList();
        Assert.Equal(2, files.Count);
        var metadata = Path.Combine(target, files.Single(f => f!.StartsWith("meta-", StringComparison.Ordinal))!);
        var rootfs = Path.Combine(target, files.Single(f => !f!.StartsWith("meta-", StringComparison.Ordinal))!);
        Assert.Equal(await File.ReadAllBytesAsync(_splitFiles.Metadata), await File.ReadAllBytesAsync(metadata));
        Assert.Equal(await File.ReadAllBytesAsync(_splitFiles.Rootfs), await File.ReadAllBytesAsync(rootfs));
        Directory.Delete(target, recursive: true);
    }

    [Theory]
    [InlineData("ours")]
    [InlineData("ss")]
    public async Task Export_of_a_vm_image_writes_the_imported_metadata_and_disk(string remote)
    {
        var target = Directory.CreateTempSubdirectory("client-export-").FullName;
        var info = await _lxc.RunOkAsync(null, "image", "info", remote + ":testos/vm");
        await _lxc.RunOkAsync(target, "image", "export", remote + ":testos/vm");

        Assert.Contains("Type: virtual-machine", info, StringComparison.Ordinal);
        var files = Directory.GetFiles(target).Select(Path.GetFileName).ToList();
        Assert.Equal(2, files.Count);
        var metadata = Path.Combine(target, files.Single(f => f!.StartsWith("meta-", StringComparison.Ordinal))!);
        var disk = Path.Combine(target, files.Single(f => !f!.StartsWith("meta-", StringComparison.Ordinal))!);
        Assert.Equal(await File.ReadAllBytesAsync(_vmFiles.Metadata), await File.ReadAllBytesAsync(metadata));
        Assert.Equal(await File.ReadAllBytesAsync(_vmFiles.Disk), await File.ReadAllBytesAsync(disk));
        Directory.Delete(target, recursive: true);
    }

    [Fact]
    public async Task An_unknown_image_ends_with_exit_code_1_and_image_not_found()
    {
        var result = await _lxc.RunAsync(null, "image", "info", "ours:no-such-image");

        Assert.Equal(1, result.ExitCode);
        Assert.Contains("not found", result.Stderr, StringComparison.OrdinalIgnoreCase);
    }

    [Fact]
    public async Task Image_import_over_the_unix_socket_stores_the_file_under_its_alias()
    {
        var file = await RealImages.UnifiedAsync(_work.Path, "imported", "2");

        var output = await _lxc.RunOkAsync(null, ["image", "import", file, "--alias", "testos/imported"], daemonDirectory: _data.Path);

        var expected = TestImages.Sha256Hex(await File.ReadAllBytesAsync(file));
        Assert.Contains(expected, output, StringComparison.Ordinal);
        await _store.Store.WaitForReadModelAsync();
        Assert.Equal(expected, _store.Store.Get(ProjectName.Default, "testos/imported").Fingerprint.ToString());
    }

    [Fact]
    public async Task Alias_create_and_image_delete_over_the_unix_socket_wait_for_their_operations()
    {
        await _lxc.RunOkAsync(null, ["image", "alias", "create", "local:testos/another", _unified.Fingerprint.ToString()], daemonDirectory: _data.Path);
        await _store.Store.WaitForReadModelAsync();
        Assert.Equal(_unified.Fingerprint, _store.Store.Get(ProjectName.Default, "testos/another").Fingerprint);

        await _lxc.RunOkAsync(null, ["image", "delete", "local:testos/unified"], daemonDirectory: _data.Path);

        await _store.Store.WaitForReadModelAsync();
        Assert.Null(_store.Store.Catalog.Find(ProjectName.Default, _unified.Fingerprint));
        var list = await _lxc.RunOkAsync(null, ["image", "list", "local:", "--format", "csv"], daemonDirectory: _data.Path);
        Assert.DoesNotContain(_unified.Fingerprint.ToShortString(12), list, StringComparison.Ordinal);
        Assert.Contains(_split.Fingerprint.ToShortString(12), list, StringComparison.Ordinal);
    }
}

/// <summary>The client checks with LXD 5.0's <c>lxc</c>.</summary>
public sealed class LxcInteropTests() : ClientInteropTests(PeerKind.Lxd);

/// <summary>The client checks with Incus 6.0's <c>incus</c>.</summary>
public sealed class IncusClientInteropTests() : ClientInteropTests(PeerKind.Incus);
