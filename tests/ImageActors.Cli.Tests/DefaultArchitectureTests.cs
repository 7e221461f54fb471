using System.Formats.Tar;
using System.Security.Cryptography.X509Certificates;
using System.Text;
using System.Text.Json;
using ImageActors.TestServers;

namespace ImageActors.Cli.Tests;

/// <summary>
/// <c>images.default_architecture</c>: an alias on a SimpleStreams server that has the image for several architectures
/// resolves for the configured one, and for the host's when it is not set.
/// </summary>
public sealed class DefaultArchitectureTests : IAsyncLifetime
{
    private readonly DirectoryInfo _root = Directory.CreateTempSubdirectory("imageactors-cli-arch-");
    private readonly X509Certificate2 _certificate = TestCertificates.Create("streams");
    private readonly Dictionary<string, string> _fingerprints = new(StringComparer.Ordinal);
    private LoopbackServer _server = null!;
    private string _pem = null!;

    public async Task InitializeAsync()
    {
        var tree = new SimpleStreamsTree(Path.Combine(_root.FullName, "tree"));
        foreach (var (streams, canonical) in new[] { ("amd64", "x86_64"), ("arm64", "aarch64"), ("riscv64", "riscv64") })
        {
            var (metadata, rootfs) = SplitImage(canonical);
            _fingerprints[canonical] = tree.AddSplit($"debian:12:{streams}:default", "Debian", "12", streams, "20260101_0000", "debian/12", metadata, rootfs);
        }

        tree.Publish();
        _server = await LoopbackServer.StartAsync(tree.Map, _certificate);
        _pem = Path.Combine(_root.FullName, "streams.crt");
        await File.WriteAllTextAsync(_pem, TestCertificates.Pem(_certificate));
    }

    public async Task DisposeAsync()
    {
        await _server.DisposeAsync();
        _certificate.Dispose();
        _root.Delete(recursive: true);
    }

    [Theory]
    [InlineData("aarch64", "aarch64")]
    [InlineData("arm64", "aarch64")]
    [InlineData("riscv64", "riscv64")]
    public async Task Image_copy_of_a_simplestreams_alias_takes_the_image_of_the_configured_default_architecture(string configured, string expected)
    {
        var data = Path.Combine(_root.FullName, "data-" + configured);

        var copy = await CliRun.InvokeAsync("--data", data, "--set", "images.default_architecture=" + configured, "image", "copy", Source, "--protocol", "simplestreams", "--certificate", _pem);
        var list = await CliRun.InvokeAsync("--data", data, "image", "list", "--format", "json");

        Assert.True(copy.ExitCode == 0, copy.Error);
        Assert.Contains(_fingerprints[expected], copy.Output, StringComparison.Ordinal);
        var image = Assert.Single(JsonDocument.Parse(list.Output).RootElement.EnumerateArray());
        Assert.Equal(expected, image.GetProperty("architecture").GetString());
        Assert.Equal(_fingerprints[expected], image.GetProperty("fingerprint").GetString());
    }

    [Fact]
    public async Task Image_copy_of_a_simplestreams_alias_takes_the_host_architecture_when_none_is_configured()
    {
        var data = Path.Combine(_root.FullName, "data-host");

        var copy = await CliRun.InvokeAsync("--data", data, "image", "copy", Source, "--protocol", "simplestreams", "--certificate", _pem);

        Assert.True(copy.ExitCode == 0, copy.Error);
        Assert.Contains(_fingerprints[Remotes.Architectures.Native], copy.Output, StringComparison.Ordinal);
    }

    private string Source => _server.BaseUri.ToString().TrimEnd('/') + ":debian/12";

    private static (byte[] Metadata, byte[] Rootfs) SplitImage(string architecture)
    {
        using var meta = new MemoryStream();
        using (var tar = new TarWriter(meta, TarEntryFormat.Pax, leaveOpen: true))
        {
            var yaml = $"architecture: {architecture}\ncreation_date: 1767225600\nproperties:\n  os: Debian\n  release: \"12\"\n  architecture: {architecture}\n";
            tar.WriteEntry(new PaxTarEntry(TarEntryType.RegularFile, "metadata.yaml") { DataStream = new MemoryStream(Encoding.UTF8.GetBytes(yaml)) });
        }

        using var rootfs = new MemoryStream();
        using (var tar = new TarWriter(rootfs, TarEntryFormat.Pax, leaveOpen: true))
        {
            tar.WriteEntry(new PaxTarEntry(TarEntryType.RegularFile, "etc/hostname") { DataStream = new MemoryStream(Encoding.UTF8.GetBytes(architecture)) });
        }

        return (meta.ToArray(), rootfs.ToArray());
    }
}
