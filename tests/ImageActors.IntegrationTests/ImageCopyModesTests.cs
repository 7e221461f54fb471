using ImageActors.Cli;
using ImageActors.Cli.Commands;
using ImageActors.Images;
using ImageActors.Images.Domain;
using ImageActors.IntegrationTests.Support;
using ImageActors.Server.Hosting;
using ImageActors.Server.Images;
using ImageActors.Server.Tests.Support;
using ImageActors.Streaming;
using Microsoft.Extensions.DependencyInjection;

namespace ImageActors.IntegrationTests;

/// <summary>
/// <c>imageactors image copy</c> in pull, push and relay mode between two real ImageActors servers on loopback that
/// trust the command line's client certificate (added with <c>config trust add</c>), and from the local store.
/// </summary>
public sealed class ImageCopyModesTests : IAsyncLifetime
{
    private readonly TempDirectory _root = new();
    private EmbeddedImageStore _aStore = null!;
    private EmbeddedImageStore _bStore = null!;
    private LoopbackServer _a = null!;
    private LoopbackServer _b = null!;
    private ImageRecord _unified = null!;
    private ImageRecord _splitVm = null!;

    private string Data => Path.Combine(_root.Path, "cli");

    private string AData => Path.Combine(_root.Path, "a");

    private string BData => Path.Combine(_root.Path, "b");

    public async Task InitializeAsync()
    {
        Directory.CreateDirectory(AData);
        Directory.CreateDirectory(BData);
        _aStore = await EmbeddedStores.OpenAsync(AData);
        _bStore = await EmbeddedStores.OpenAsync(BData);
        _unified = await _aStore.Store.ImportAsync(new ImportRequest(new ImageSource.UnifiedFile(await RealImages.UnifiedAsync(_root.Path, "unified", "1"))) { Aliases = ["testos/1", "testos/latest"], Public = true });
        var (metadata, disk) = await RealImages.SplitVmAsync(_root.Path, "vm", "2");
        _splitVm = await _aStore.Store.ImportAsync(new ImportRequest(new ImageSource.SplitFiles(metadata, disk)) { Aliases = ["testos/vm"], Public = true });
        await _aStore.Store.WaitForReadModelAsync();
        _a = await LoopbackServer.StartAsync(AData, services: s => s.AddSingleton<IImageBackend>(new ImageStoreBackend(_aStore.Store, _aStore.Copier)));
        _b = await LoopbackServer.StartAsync(BData, services: s => s.AddSingleton<IImageBackend>(new ImageStoreBackend(_bStore.Store, _bStore.Copier)));

        // The client certificate is made at first need; trusting it is the operator's step on each server.
        using (ClientCertificate.LoadOrCreate(Data))
        {
        }

        await RunAsync("config", "trust", "add", ClientCertificate.CertificatePath(Data), "--data", AData);
        await RunAsync("config", "trust", "add", ClientCertificate.CertificatePath(Data), "--data", BData);
        await AddRemoteAsync("a", _a);
        await AddRemoteAsync("b", _b);
    }

    public async Task DisposeAsync()
    {
        await _b.DisposeAsync();
        await _a.DisposeAsync();
        await _bStore.DisposeAsync();
        await _aStore.DisposeAsync();
        _root.Dispose();
    }

    [Theory]
    [InlineData("push")]
    [InlineData("relay")]
    public async Task A_unified_image_copied_between_two_servers_gets_all_its_source_aliases_with_copy_aliases(string mode)
    {
        var copy = await RunAsync("image", "copy", "a:testos/1", "b:", "--mode", mode, "--copy-aliases", "--alias", "extra");

        Assert.Contains("Image copied successfully! Fingerprint: " + _unified.Fingerprint, copy.Output, StringComparison.Ordinal);
        await _bStore.Store.WaitForReadModelAsync();
        Assert.NotNull(_bStore.Store.Catalog.Find(ProjectName.Default, _unified.Fingerprint));
        foreach (var alias in new[] { "testos/1", "testos/latest", "extra" })
        {
            Assert.Equal(_unified.Fingerprint, _bStore.Store.GetAlias(ProjectName.Default, alias).Target);
        }
    }

    [Theory]
    [InlineData("push")]
    [InlineData("relay")]
    [InlineData("pull")]
    public async Task A_split_virtual_machine_image_copied_between_two_servers_stays_a_split_virtual_machine_image(string mode)
    {
        var copy = await RunAsync("image", "copy", "a:testos/vm", "b:", "--mode", mode, "--vm", "--alias", "vm", "--public");

        Assert.Contains(_splitVm.Fingerprint.ToString(), copy.Output, StringComparison.Ordinal);
        await _bStore.Store.WaitForReadModelAsync();
        var stored = _bStore.Store.Catalog.Find(ProjectName.Default, _splitVm.Fingerprint);
        Assert.NotNull(stored);
        Assert.True(stored.Split);
        Assert.True(stored.Public);
        Assert.Equal(ImageType.VirtualMachine, stored.Type);
        Assert.Equal(_splitVm.Fingerprint, _bStore.Store.GetAlias(ProjectName.Default, "vm").Target);
    }

    [Theory]
    [InlineData("relay")]
    [InlineData("push")]
    public async Task A_copy_from_a_source_whose_file_no_longer_matches_its_fingerprint_fails_and_stores_nothing(string mode)
    {
        // Flip bytes inside the stored file: same length, different hash.
        var path = Path.Combine(AData, "images", _unified.Fingerprint.ToString());
        await using (var file = new FileStream(path, FileMode.Open, FileAccess.ReadWrite))
        {
            file.Position = file.Length / 2;
            file.Write([0xde, 0xad, 0xbe, 0xef]);
        }

        var copy = await RunAsync(false, "image", "copy", "a:" + _unified.Fingerprint, "b:", "--mode", mode, "--alias", "broken");

        Assert.Equal(1, copy.ExitCode);
        Assert.Contains(_unified.Fingerprint.ToString(), copy.Error, StringComparison.Ordinal);
        await _bStore.Store.WaitForReadModelAsync();
        Assert.Empty(_bStore.Store.Catalog.List(ProjectName.Default, null));
        Assert.DoesNotContain(Directory.GetFiles(Path.Combine(BData, "images")), f => !f.EndsWith(".tmp", StringComparison.Ordinal));
    }

    [Fact]
    public async Task A_bare_image_name_is_copied_from_the_default_remote_into_the_local_store()
    {
        await RunAsync("remote", "set-default", "a");

        var copy = await RunAsync("image", "copy", "testos/1", "--alias", "mine");
        var info = await RunAsync("image", "info", "mine");

        Assert.Contains(_unified.Fingerprint.ToString(), copy.Output, StringComparison.Ordinal);
        Assert.Contains("Fingerprint: " + _unified.Fingerprint, info.Output, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("push")]
    [InlineData("relay")]
    public async Task An_image_of_the_local_store_is_copied_to_a_remote(string mode)
    {
        var file = await RealImages.UnifiedAsync(_root.Path, "local-" + mode, "3");
        var fingerprint = Fingerprint.Parse(TestImages.Sha256Hex(await File.ReadAllBytesAsync(file)));
        await RunAsync("image", "import", file, "--alias", "here");

        var copy = await RunAsync("image", "copy", "local:here", "b:", "--mode", mode, "--copy-aliases");

        Assert.Contains(fingerprint.ToString(), copy.Output, StringComparison.Ordinal);
        await _bStore.Store.WaitForReadModelAsync();
        Assert.Equal(fingerprint, _bStore.Store.GetAlias(ProjectName.Default, "here").Target);
    }

    [Fact]
    public async Task A_pull_of_a_private_image_from_a_trusted_remote_carries_a_secret_the_source_issued()
    {
        var file = await RealImages.UnifiedAsync(_root.Path, "private", "4");
        var image = await _aStore.Store.ImportAsync(new ImportRequest(new ImageSource.UnifiedFile(file)) { Aliases = ["secret/4"] });
        await _aStore.Store.WaitForReadModelAsync();

        // Server b downloads from a as an untrusted client: only the secret opens the image for it.
        var pull = await RunAsync("image", "copy", "a:secret/4", "b:", "--alias", "pulled");

        Assert.Contains(image.Fingerprint.ToString(), pull.Output, StringComparison.Ordinal);
        await _bStore.Store.WaitForReadModelAsync();
        Assert.False(_bStore.Store.Catalog.Find(ProjectName.Default, image.Fingerprint)!.Public);
        Assert.Equal(image.Fingerprint, _bStore.Store.GetAlias(ProjectName.Default, "pulled").Target);
    }

    [Fact]
    public async Task A_pull_of_a_private_image_through_a_public_remote_fails_and_stores_nothing()
    {
        var file = await RealImages.UnifiedAsync(_root.Path, "private-public-remote", "5");
        var image = await _aStore.Store.ImportAsync(new ImportRequest(new ImageSource.UnifiedFile(file)) { Aliases = ["secret/5"] });
        await _aStore.Store.WaitForReadModelAsync();
        await RunAsync("remote", "add", "a-public", _a.Https.ToString().TrimEnd('/'), "--protocol", "imageactors", "--public", "--certificate", Path.Combine(_root.Path, "a.crt"));

        // Without our certificate there is no secret to ask for, and the target cannot see the image.
        var pull = await RunAsync(false, "image", "copy", "a-public:" + image.Fingerprint, "b:");

        Assert.Equal(1, pull.ExitCode);
        Assert.Contains(image.Fingerprint.ToString(), pull.Error, StringComparison.Ordinal);
        await _bStore.Store.WaitForReadModelAsync();
        Assert.Null(_bStore.Store.Catalog.Find(ProjectName.Default, image.Fingerprint));
    }

    [Fact]
    public async Task Push_into_a_local_store_that_no_server_exposes_names_the_way_out()
    {
        var copy = await RunAsync(false, "image", "copy", "a:testos/1", "--mode", "push");

        Assert.Equal(1, copy.ExitCode);
        Assert.Contains("--mode relay", copy.Error, StringComparison.Ordinal);
    }

    private async Task AddRemoteAsync(string name, LoopbackServer server)
    {
        var pem = Path.Combine(_root.Path, name + ".crt");
        await File.WriteAllTextAsync(pem, server.Server.Certificate.ExportCertificatePem());
        await RunAsync("remote", "add", name, server.Https.ToString().TrimEnd('/'), "--protocol", "imageactors", "--certificate", pem);
    }

    private Task<CommandResult> RunAsync(params string[] arguments) => RunAsync(true, arguments);

    private async Task<CommandResult> RunAsync(bool expectSuccess, params string[] arguments)
    {
        var config = Path.Combine(_root.Path, "empty.hocon");
        if (!File.Exists(config))
        {
            await File.WriteAllTextAsync(config, "# defaults only\n");
        }

        var output = new StringWriter();
        var error = new StringWriter();
        var data = arguments.Contains("--data") ? [] : new[] { "--data", Data };
        var exit = await ImageActorsCommand.InvokeAsync([.. arguments, "--config", config, .. data], new CliHost(output, error, _ => null));
        var result = new CommandResult(exit, output.ToString(), error.ToString());
        if (expectSuccess)
        {
            Assert.True(exit == 0, $"imageactors {string.Join(' ', arguments)} exited {exit}: {result.Error}");
        }

        return result;
    }

    private sealed record CommandResult(int ExitCode, string Output, string Error);
}
