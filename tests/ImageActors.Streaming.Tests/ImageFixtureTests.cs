using System.Text.Json;
using ImageActors.Streaming.Formats;
using ImageActors.Streaming.Hashing;
using ImageActors.Streaming.Images;
using ImageActors.Streaming.Storage;

namespace ImageActors.Streaming.Tests;

/// <summary>
/// Small images whose fingerprints the real LXD 5.0.2 daemon computed (Fixtures/lxd-fingerprints.sh recomputes
/// them): ours must be the same, and so must the type and architecture LXD read from them.
/// </summary>
public sealed class ImageFixtureTests : IDisposable
{
    private static readonly string FixtureDirectory = Path.Combine(AppContext.BaseDirectory, "Fixtures");
    private readonly TempDirectory _dir = new();

    public void Dispose() => _dir.Dispose();

    public static TheoryData<string> Names => new(Load().Keys);

    private static Dictionary<string, LxdResult> Load() =>
        JsonSerializer.Deserialize<Dictionary<string, LxdResult>>(
            File.ReadAllText(Path.Combine(FixtureDirectory, "fingerprints.json")),
            new JsonSerializerOptions { PropertyNameCaseInsensitive = true })!;

    private static string[] Files(LxdResult fixture) => fixture.Files.Select(f => Path.Combine(FixtureDirectory, f)).ToArray();

    [Theory]
    [MemberData(nameof(Names))]
    public async Task Our_fingerprint_of_each_fixture_is_the_one_LXD_computed(string name)
    {
        var fixture = Load()[name];
        var files = Files(fixture);

        var hashed = await ImageHasher.HashFilesAsync(files);
        var store = new BlobStore(_dir["data"]);
        var stored = files.Length == 1
            ? await store.ImportFileAsync(files[0], Fingerprint.Parse(fixture.Fingerprint))
            : await store.ImportSplitFilesAsync(files[0], files[1], Fingerprint.Parse(fixture.Fingerprint));

        Assert.Equal(fixture.Fingerprint, hashed.ToString());
        Assert.Equal(fixture.Fingerprint, stored.Fingerprint.ToString());
        Assert.Equal(files.Length == 2, stored.IsSplit);
    }

    [Theory]
    [MemberData(nameof(Names))]
    public void Our_reading_of_each_fixture_gives_LXDs_type_and_architecture(string name)
    {
        var fixture = Load()[name];
        var files = Files(fixture);

        var contents = ImageInspector.Inspect(files[0], files.Length > 1 ? files[1] : null);

        Assert.Equal(fixture.Type, contents.Type.ApiName());
        Assert.Equal(fixture.Architecture, contents.Metadata.Architecture.Name);
        Assert.Equal("amd64", contents.Metadata.ArchitectureAsWritten);
        Assert.Equal(DateTimeOffset.FromUnixTimeSeconds(1700000000), contents.Metadata.CreationDate);
        Assert.Equal(DateTimeOffset.FromUnixTimeSeconds(1900000000), contents.Metadata.ExpiryDate);
        Assert.Equal("1.0", contents.Metadata.Properties["release"]);
        Assert.Equal(files.Length == 2, contents.IsSplit);
    }

    [Fact]
    public void A_unified_fixture_lists_its_templates_and_the_export_extension_of_its_format()
    {
        var files = Files(Load()["unified-xz"]);

        var contents = ImageInspector.Inspect(files[0]);

        Assert.Equal(ImageFileFormat.Xz, contents.MetadataFormat);
        Assert.Equal(".tar.xz", contents.MetadataFormat.Extension());
        var template = Assert.Single(contents.Metadata.Templates);
        Assert.Equal("/etc/hostname", template.Key);
        Assert.Equal("hostname.tpl", template.Value.Template);
        Assert.Equal(["create", "copy"], template.Value.When);

        // The scan of a unified image stops at the rootfs (templates/ sorts after it); a metadata tarball is read whole.
        var split = ImageInspector.Inspect(Files(Load()["split-squashfs"])[0], Files(Load()["split-squashfs"])[1]);
        Assert.Equal(["hostname.tpl"], split.TemplateFiles);
    }

    [Fact]
    public void The_split_fixtures_rootfs_formats_decide_their_types()
    {
        var squash = ImageInspector.Inspect(Files(Load()["split-squashfs"])[0], Files(Load()["split-squashfs"])[1]);
        var vm = ImageInspector.Inspect(Files(Load()["split-vm"])[0], Files(Load()["split-vm"])[1]);

        Assert.Equal(ImageFileFormat.SquashFs, squash.RootfsFormat);
        Assert.Equal(ImageType.Container, squash.Type);
        Assert.Equal(ImageFileFormat.Qcow2, vm.RootfsFormat);
        Assert.Equal(ImageType.VirtualMachine, vm.Type);
    }

    [Fact]
    public void The_real_LXD_daemon_still_computes_the_recorded_fingerprints()
    {
        // Runs only where the daemon can (root, Debian's lxd installed); elsewhere the recorded values stand.
        if (Environment.UserName != "root" || !Shell.Has("lxd") || !Shell.Has("lxc"))
        {
            return;
        }

        var output = _dir["lxd.json"];
        Shell.Run($"{Shell.Q(Path.Combine(FixtureDirectory, "lxd-fingerprints.sh"))} {Shell.Q(output)}", timeoutSeconds: 300);
        var live = JsonSerializer.Deserialize<Dictionary<string, LxdResult>>(File.ReadAllText(output), new JsonSerializerOptions { PropertyNameCaseInsensitive = true })!;

        Assert.Equal(Load(), live);
    }

    private sealed record LxdResult(string[] Files, string Fingerprint, string Type, string Architecture)
    {
        public bool Equals(LxdResult? other) =>
            other is not null && Files.SequenceEqual(other.Files) && Fingerprint == other.Fingerprint && Type == other.Type && Architecture == other.Architecture;

        public override int GetHashCode() => Fingerprint.GetHashCode(StringComparison.Ordinal);
    }
}
