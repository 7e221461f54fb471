using System.Formats.Tar;
using System.Net;
using System.Text;
using ImageActors.Cli.Commands;
using ImageActors.Images;
using ImageActors.Images.Configuration;
using ImageActors.Images.Domain;
using ImageActors.Server.Hosting;
using ImageActors.Server.Images;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace ImageActors.Cli.Tests;

/// <summary><c>image copy</c>, <c>image refresh</c> and <c>image import &lt;URL&gt;</c> against a real upstream server on loopback.</summary>
public sealed class ImageCopyCommandTests : IAsyncLifetime
{
    private readonly DirectoryInfo _root = Directory.CreateTempSubdirectory("imageactors-cli-copy-");
    private EmbeddedImageStore _upstreamStore = null!;
    private ImageActorsServer _upstream = null!;
    private ImageRecord _debian = null!;
    private string _certificate = null!;

    private string LocalData => Path.Combine(_root.FullName, "local");

    public async Task InitializeAsync()
    {
        var data = Path.Combine(_root.FullName, "upstream");
        Directory.CreateDirectory(data);
        _upstreamStore = await EmbeddedImageStore.OpenAsync(data, new PersistenceOptions { SqlitePath = Path.Combine(data, "journal.db") }, new ImagesOptions());
        _debian = await _upstreamStore.Store.ImportAsync(new ImportRequest(new ImageSource.UnifiedFile(WriteImage("12"))) { Public = true, Aliases = ["debian/12"] });
        await _upstreamStore.Store.WaitForReadModelAsync();
        _upstream = ImageActorsServer.Create(
            new ListenSettings { DataDirectory = data, Https = [new IPEndPoint(IPAddress.Loopback, 0)] },
            services => services.AddSingleton<IImageBackend>(new ImageStoreBackend(_upstreamStore.Store)),
            logging => logging.SetMinimumLevel(LogLevel.Warning));
        await _upstream.StartAsync();
        _certificate = Path.Combine(_root.FullName, "upstream.crt");
        await File.WriteAllTextAsync(_certificate, _upstream.Certificate.ExportCertificatePem());
    }

    public async Task DisposeAsync()
    {
        await _upstream.DisposeAsync();
        await _upstreamStore.DisposeAsync();
        _root.Delete(recursive: true);
    }

    [Fact]
    public async Task Image_copy_by_alias_stores_the_image_under_the_given_alias_and_refresh_finds_it_up_to_date()
    {
        var source = _upstream.HttpsEndpoints[0].ToString().TrimEnd('/') + ":debian/12";

        var copy = await CliRun.InvokeAsync("--data", LocalData, "image", "copy", source, "--alias", "deb", "--auto-update", "--certificate", _certificate);
        var refresh = await CliRun.InvokeAsync("--data", LocalData, "image", "refresh", "deb");

        Assert.True(copy.ExitCode == 0, copy.Error);
        Assert.Contains(_debian.Fingerprint.ToString(), copy.Output, StringComparison.Ordinal);
        Assert.True(refresh.ExitCode == 0, refresh.Error);
        Assert.Contains("already up to date", refresh.Output, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Image_copy_of_an_alias_the_source_lacks_fails_with_one_line()
    {
        var source = _upstream.HttpsEndpoints[0].ToString().TrimEnd('/') + ":nosuch/1";

        var copy = await CliRun.InvokeAsync("--data", LocalData, "image", "copy", source, "--certificate", _certificate);

        Assert.Equal(1, copy.ExitCode);
        Assert.Contains("nosuch/1", copy.Error, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Image_copy_from_a_named_remote_uses_its_URL_and_pinned_certificate()
    {
        var url = _upstream.HttpsEndpoints[0].ToString().TrimEnd('/');
        var add = await CliRun.InvokeAsync("--data", LocalData, "remote", "add", "upstream", url, "--protocol", "imageactors", "--certificate", _certificate);

        var copy = await CliRun.InvokeAsync("--data", LocalData, "image", "copy", "upstream:debian/12", "--alias", "deb");
        var info = await CliRun.InvokeAsync("--data", LocalData, "image", "info", "deb");

        Assert.True(add.ExitCode == 0, add.Error);
        Assert.True(copy.ExitCode == 0, copy.Error);
        Assert.Contains(_debian.Fingerprint.ToString(), copy.Output, StringComparison.Ordinal);
        Assert.True(info.ExitCode == 0, info.Error);
    }

    [Theory]
    [InlineData("nosuch:debian/12", "Remote \"nosuch\" not found")]
    [InlineData("local:debian/12", "Remote \"local\" is this store")]
    public async Task Image_copy_from_an_unknown_or_local_remote_fails_naming_it(string source, string message)
    {
        var copy = await CliRun.InvokeAsync("--data", LocalData, "image", "copy", source);

        Assert.Equal(1, copy.ExitCode);
        Assert.Contains(message, copy.Error, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Image_import_refuses_a_plain_http_URL()
    {
        var run = await CliRun.InvokeAsync("--data", LocalData, "image", "import", "http://images.example/direct/debian");

        Assert.Equal(1, run.ExitCode);
        Assert.Contains("https://", run.Error, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("https://images.example:debian/12", "https://images.example/", "debian/12")]
    [InlineData("https://images.example:8443:debian/12", "https://images.example:8443/", "debian/12")]
    [InlineData("https://127.0.0.1:8443/:0123456789ab", "https://127.0.0.1:8443/", "0123456789ab")]
    public void A_copy_source_splits_into_server_URL_and_image_at_the_last_usable_colon(string text, string server, string image)
    {
        var (url, name) = ImageCopyCommand.SplitSource(text);

        Assert.Equal(server, url.ToString());
        Assert.Equal(image, name);
    }

    private string WriteImage(string release)
    {
        var path = Path.Combine(_root.FullName, $"debian-{release}.tar");
        using (var file = File.Create(path))
        using (var tar = new TarWriter(file, TarEntryFormat.Pax))
        {
            var yaml = $"architecture: x86_64\ncreation_date: 1767225600\nproperties:\n  os: Debian\n  release: \"{release}\"\n";
            tar.WriteEntry(new PaxTarEntry(TarEntryType.RegularFile, "metadata.yaml") { DataStream = new MemoryStream(Encoding.UTF8.GetBytes(yaml)) });
            tar.WriteEntry(new PaxTarEntry(TarEntryType.RegularFile, "rootfs/etc/os-release") { DataStream = new MemoryStream(Encoding.UTF8.GetBytes("Debian " + release + "\n")) });
        }

        return path;
    }
}
