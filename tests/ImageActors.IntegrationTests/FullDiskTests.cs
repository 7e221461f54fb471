using System.Diagnostics;
using System.Globalization;
using ImageActors.Images;
using ImageActors.IntegrationTests.Support;
using ImageActors.Server.Images;
using ImageActors.Server.Tests.Support;
using Microsoft.Extensions.DependencyInjection;

namespace ImageActors.IntegrationTests;

/// <summary>
/// A full disk under the data directory (a real tmpfs of a few MiB, mounted by the test) during import, copy, export,
/// journal writes and start: each ends in one line that says what to do, and the store stays exactly as it was.
/// </summary>
public sealed class FullDiskTests : IAsyncLifetime
{
    private const int SmallDiskBytes = 12 << 20;
    private static readonly TimeSpan Deadline = TimeSpan.FromMinutes(2);
    private readonly TempDirectory _root = new();
    private SmallDisk _disk = null!;
    private ImageActorsCli _cli = null!;

    public async Task InitializeAsync()
    {
        _disk = await SmallDisk.MountAsync(Path.Combine(_root.Path, "disk"), SmallDiskBytes);
        _cli = new ImageActorsCli(_disk.Path);
    }

    public async Task DisposeAsync()
    {
        await _disk.DisposeAsync();
        _root.Dispose();
    }

    [Fact]
    public async Task An_import_larger_than_the_free_space_fails_in_one_line_and_the_store_stays_as_it_was()
    {
        var kept = await ImportSmallAsync("kept");
        var large = await RealImages.LargeUnifiedAsync(_root.Path, "large", "1", 16 << 20);

        var import = await _cli.RunAsync(false, "image", "import", large, "--alias", "large");

        Assert.Equal(1, import.ExitCode);
        AssertOneLine(import.Error, "No space left in " + Path.Combine(_cli.Data, "tmp"), "free space on that disk");
        await AssertStoreHoldsOnlyAsync(kept);

        // The same command works once there is room: nothing of the failed attempt stood in its way.
        await _disk.ResizeAsync(64 << 20);
        var retried = await _cli.RunAsync("image", "import", large, "--alias", "large");
        Assert.Contains("Image imported with fingerprint:", retried.Output, StringComparison.Ordinal);
    }

    [Fact]
    public async Task An_upload_to_a_running_server_that_fills_its_disk_gets_the_servers_error_not_a_broken_connection()
    {
        var kept = await ImportSmallAsync("kept");
        var large = await RealImages.LargeUnifiedAsync(_root.Path, "large", "1", 16 << 20);
        await using var serve = await ImageActorsServe.StartAsync(_cli, _root.Path);

        var import = await _cli.RunAsync(false, "image", "import", large, "--alias", "large");

        Assert.Equal(1, import.ExitCode);
        Assert.DoesNotContain("connection", import.Error, StringComparison.OrdinalIgnoreCase);
        AssertOneLine(import.Error, "No space left in " + Path.Combine(_cli.Data, "tmp"), "free space on that disk");
        await AssertStoreHoldsOnlyAsync(kept);

        // The server is still up, and the upload goes through once there is room.
        await _disk.ResizeAsync(64 << 20);
        await _cli.RunAsync("image", "import", large, "--alias", "large");
    }

    [Fact]
    public async Task A_change_the_journal_cannot_record_on_a_full_disk_fails_in_one_line_and_takes_effect_when_retried_with_room()
    {
        var kept = await ImportSmallAsync("kept");
        await using var serve = await ImageActorsServe.StartAsync(_cli, _root.Path);
        await _disk.FillAsync();

        var property = await _cli.RunAsync(false, "image", "set-property", "kept", "os", "changed");
        var alias = await _cli.RunAsync(false, "image", "alias", "create", "another", kept);

        Assert.Equal(1, property.ExitCode);
        AssertOneLine(property.Error, "Failed to record ImageUpdated of image " + kept, "is its disk full?");
        Assert.Equal(1, alias.ExitCode);
        AssertOneLine(alias.Error, "Failed to record AliasCreated of alias another", "is its disk full?");
        Assert.Equal("demo", (await _cli.RunAsync("image", "get-property", "kept", "os")).Output.Trim());
        Assert.DoesNotContain("another", (await _cli.RunAsync("image", "alias", "list", "--format", "csv")).Output, StringComparison.Ordinal);

        _disk.Unfill();
        await _cli.RunAsync("image", "set-property", "kept", "os", "changed");
        await _cli.RunAsync("image", "alias", "create", "another", kept);
        Assert.Equal("changed", (await _cli.RunAsync("image", "get-property", "another", "os")).Output.Trim());
    }

    [Fact]
    public async Task A_store_whose_journal_disk_is_full_does_not_start_and_says_so_in_one_line_without_waiting()
    {
        // Imported by a process that then ends, so the journal is closed as after any stop (no WAL file left open).
        var import = await RunProcessAsync("image", "import", await RealImages.UnifiedAsync(_root.Path, "kept", "1"), "--alias", "kept");
        Assert.True(import.ExitCode == 0, import.Error);
        var kept = ImportOutput.Fingerprint(import.Output);
        await _disk.FillAsync();

        // A real process: what Akka would print on its own (an actor that failed to start, with its stack) shows here.
        var (exit, output, error) = await RunProcessAsync("image", "list");

        Assert.Equal(1, exit);
        Assert.DoesNotContain("[ERROR]", output + error, StringComparison.Ordinal);
        AssertOneLine(error, $"The journal {Path.Combine(_cli.Data, "journal.db")} cannot be opened", "the disk holding it is full");

        var serve = await RunProcessAsync("serve", "--https", "127.0.0.1:0");
        Assert.Equal(1, serve.ExitCode);
        AssertOneLine(serve.Error, "cannot be opened", "free space there");

        _disk.Unfill();
        await AssertStoreHoldsOnlyAsync(kept);
    }

    [Fact]
    public async Task An_export_to_a_full_disk_fails_in_one_line_and_leaves_no_partial_file()
    {
        await _disk.ResizeAsync(64 << 20);
        var large = await RealImages.LargeUnifiedAsync(_root.Path, "large", "1", 8 << 20);
        await _cli.RunAsync("image", "import", large, "--alias", "large");
        await using var target = await SmallDisk.MountAsync(Path.Combine(_root.Path, "target"), 4 << 20);
        var before = Directory.GetFiles(target.Path);

        var export = await _cli.RunAsync(false, "image", "export", "large", target.Path);

        Assert.Equal(1, export.ExitCode);
        AssertOneLine(export.Error, "No space left on device", target.Path, "free space on that disk");
        Assert.Equal(before, Directory.GetFiles(target.Path));
    }

    [Fact]
    public async Task A_copy_from_a_server_onto_a_full_disk_fails_in_one_line_and_leaves_nothing_behind()
    {
        var kept = await ImportSmallAsync("kept");
        var upstreamData = Path.Combine(_root.Path, "upstream");
        Directory.CreateDirectory(upstreamData);
        await using var upstream = await EmbeddedStores.OpenAsync(upstreamData);
        await upstream.Store.ImportAsync(new ImportRequest(new ImageSource.UnifiedFile(await RealImages.LargeUnifiedAsync(_root.Path, "large", "1", 16 << 20))) { Aliases = ["large"], Public = true });
        await upstream.Store.WaitForReadModelAsync();
        await using var server = await LoopbackServer.StartAsync(upstreamData, services: s => s.AddSingleton<IImageBackend>(new ImageStoreBackend(upstream.Store, upstream.Copier)));
        var pem = Path.Combine(_root.Path, "upstream.crt");
        await File.WriteAllTextAsync(pem, server.Server.Certificate.ExportCertificatePem());
        await _cli.RunAsync("remote", "add", "up", server.Https.ToString().TrimEnd('/'), "--protocol", "imageactors", "--public", "--certificate", pem);

        var copy = await _cli.RunAsync(false, "image", "copy", "up:large", "local:", "--alias", "large");

        Assert.Equal(1, copy.ExitCode);
        AssertOneLine(copy.Error, "Failed to copy image \"large\"", "free space in " + Path.Combine(_cli.Data, "tmp"), "free space on that disk");
        await AssertStoreHoldsOnlyAsync(kept);

        await _disk.ResizeAsync(64 << 20);
        await _cli.RunAsync("image", "copy", "up:large", "local:", "--alias", "large");
    }

    private async Task<string> ImportSmallAsync(string alias)
    {
        var image = await RealImages.UnifiedAsync(_root.Path, alias, "1");
        var import = await _cli.RunAsync("image", "import", image, "--alias", alias);
        await _cli.RunAsync("image", "set-property", alias, "os", "demo");
        return import.ImportedFingerprint();
    }

    // The store lists exactly the one image, and neither its image folder nor its temp folder holds anything else.
    private async Task AssertStoreHoldsOnlyAsync(string fingerprint)
    {
        var listed = await _cli.RunAsync("image", "list", "--format", "csv", "-c", "F");
        Assert.Equal([fingerprint], listed.Output.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries));
        Assert.Equal([Path.Combine(_cli.Data, "images", fingerprint)], Directory.GetFiles(Path.Combine(_cli.Data, "images")));
        var tmp = Path.Combine(_cli.Data, "tmp");
        Assert.Empty(Directory.Exists(tmp) ? Directory.GetFiles(tmp, "*", SearchOption.AllDirectories) : []);
    }

    private static void AssertOneLine(string error, params string[] parts)
    {
        var lines = error.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.True(lines.Length == 1, "expected one line, got: " + error);
        foreach (var part in parts)
        {
            Assert.True(lines[0].Contains(part, StringComparison.Ordinal), $"\"{part}\" is not in: {lines[0]}");
        }
    }

    private async Task<(int ExitCode, string Output, string Error)> RunProcessAsync(params string[] arguments)
    {
        var config = Path.Combine(_root.Path, "empty.hocon");
        await File.WriteAllTextAsync(config, "# defaults only\n");
        var start = new ProcessStartInfo("dotnet") { RedirectStandardOutput = true, RedirectStandardError = true, WorkingDirectory = _root.Path };
        start.ArgumentList.Add(Path.Combine(AppContext.BaseDirectory, "imageactors.dll"));
        foreach (var argument in arguments.Concat(["--config", config, "--data", _cli.Data]))
        {
            start.ArgumentList.Add(argument);
        }

        start.Environment.Remove("IMAGEACTORS_CONFIG");
        start.Environment.Remove("IMAGEACTORS_DATA");
        using var process = Process.Start(start)!;
        using var deadline = new CancellationTokenSource(Deadline);
        try
        {
            var output = process.StandardOutput.ReadToEndAsync(deadline.Token);
            var error = process.StandardError.ReadToEndAsync(deadline.Token);
            await process.WaitForExitAsync(deadline.Token);
            return (process.ExitCode, await output, await error);
        }
        catch (OperationCanceledException)
        {
            process.Kill(entireProcessTree: true);
            throw new TimeoutException($"imageactors {string.Join(' ', arguments)} did not end within {Deadline.TotalMinutes.ToString(CultureInfo.InvariantCulture)} minutes");
        }
    }
}
