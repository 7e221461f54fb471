using ImageActors.IntegrationTests.Support;
using ImageActors.Server.Tests.Support;

namespace ImageActors.IntegrationTests;

/// <summary><c>imageactors image ...</c> on a data directory no server owns (the store opens in-process).</summary>
public sealed class ImageCommandTests : IDisposable
{
    private readonly TempDirectory _root = new();

    public void Dispose() => _root.Dispose();

    [Fact]
    public async Task Import_list_info_export_and_delete_round_trip_the_image_bytes()
    {
        var file = await RealImages.UnifiedAsync(_root.Path, "cli", "7");
        var fingerprint = TestImages.Sha256Hex(await File.ReadAllBytesAsync(file));

        var imported = await RunAsync("image", "import", file, "--alias", "testos/7", "--public", "serial=20260101");
        var csv = await RunAsync("image", "list", "--format", "csv");
        var info = await RunAsync("image", "info", "testos/7");
        var exportDirectory = Path.Combine(_root.Path, "out");
        await RunAsync("image", "export", "testos/7", exportDirectory);
        await RunAsync("image", "delete", "testos/7");
        var after = await RunAsync("image", "list", "--format", "json");

        Assert.Contains("Image imported with fingerprint: " + fingerprint, imported.Output, StringComparison.Ordinal);
        Assert.StartsWith("testos/7," + fingerprint[..12] + ",yes,", csv.Output, StringComparison.Ordinal);
        Assert.Contains("serial: 20260101", info.Output, StringComparison.Ordinal);
        Assert.Equal(await File.ReadAllBytesAsync(file), await File.ReadAllBytesAsync(Directory.GetFiles(exportDirectory).Single()));
        Assert.Equal("[]", after.Output.Trim());
    }

    [Fact]
    public async Task An_unknown_image_is_exit_code_1_with_the_servers_message()
    {
        var result = await RunAsync(expectSuccess: false, "image", "info", "no-such-image");

        Assert.Equal(1, result.ExitCode);
        Assert.Contains("Error: Image \"no-such-image\" not found", result.Error, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Aliases_are_created_renamed_listed_and_deleted()
    {
        var file = await RealImages.UnifiedAsync(_root.Path, "alias", "8");
        var fingerprint = TestImages.Sha256Hex(await File.ReadAllBytesAsync(file));
        await RunAsync("image", "import", file);

        await RunAsync("image", "alias", "create", "first/name", fingerprint[..10], "--description", "d");
        await RunAsync("image", "alias", "rename", "first/name", "second/name");
        var listed = await RunAsync("image", "alias", "list", "--format", "csv");
        await RunAsync("image", "alias", "delete", "second/name");
        var empty = await RunAsync("image", "alias", "list", "--format", "csv");

        Assert.Equal($"second/name,{fingerprint[..12]},CONTAINER,d", listed.Output.Trim());
        Assert.Equal(string.Empty, empty.Output.Trim());
    }

    private Task<CommandResult> RunAsync(params string[] arguments) => new ImageActorsCli(_root.Path).RunAsync(arguments);

    private Task<CommandResult> RunAsync(bool expectSuccess, params string[] arguments) => new ImageActorsCli(_root.Path).RunAsync(expectSuccess, arguments);
}
