using System.Diagnostics;
using System.Globalization;
using System.Security.Cryptography;
using System.Text;
using ImageActors.Cli;
using ImageActors.Images.Hosting;
using ImageActors.IntegrationTests.Support;
using ImageActors.Server.Tests.Support;

namespace ImageActors.IntegrationTests;

/// <summary>
/// One owner per data directory, between real processes: the built <c>imageactors</c> holds the store in one process
/// while this one runs a second command on the same directory.
/// </summary>
public sealed class DataDirectoryOwnerTests : IDisposable
{
    private static readonly TimeSpan Deadline = TimeSpan.FromMinutes(2);
    private readonly TempDirectory _root = new();
    private readonly ImageActorsCli _cli;
    private readonly List<Process> _started = [];

    public DataDirectoryOwnerTests() => _cli = new ImageActorsCli(_root.Path);

    public void Dispose()
    {
        // The processes a test started (a server, an import a failed test left waiting) end with it.
        foreach (var process in _started)
        {
            if (!process.HasExited)
            {
                process.Kill(entireProcessTree: true);
                process.WaitForExit();
            }

            process.Dispose();
        }

        _root.Dispose();
    }

    [Fact]
    public async Task A_command_beside_a_process_importing_into_the_store_is_refused_naming_it_and_the_import_completes()
    {
        var image = await File.ReadAllBytesAsync(await RealImages.UnifiedAsync(_root.Path, "owner", "1"));
        var fifo = await FifoAsync("upload.fifo");
        var importer = Start("image", "import", fifo);
        await using var upload = await OpenWriterAsync(fifo, importer);
        await upload.WriteAsync(image.AsMemory(0, image.Length / 2));
        await upload.FlushAsync();
        var part = await InFlightPartAsync(importer);

        var second = await _cli.RunAsync(false, "image", "list");

        Assert.Equal(1, second.ExitCode);
        Assert.Contains($"the data directory {_cli.Data} is in use by process {importer.Id.ToString(CultureInfo.InvariantCulture)}", second.Error, StringComparison.Ordinal);
        Assert.Single(second.Error.Split('\n', StringSplitOptions.RemoveEmptyEntries));
        Assert.True(File.Exists(part), "the refused command swept the import's .part file");

        await upload.WriteAsync(image.AsMemory(image.Length / 2));
        await upload.DisposeAsync();
        var (exit, output, error) = await EndAsync(importer);
        Assert.True(exit == 0, $"the import failed: {output}{error}");
        Assert.Contains("Image imported with fingerprint: " + Convert.ToHexStringLower(SHA256.HashData(image)), output, StringComparison.Ordinal);
        var listed = await _cli.RunAsync("image", "list", "--format", "csv", "-c", "F");
        Assert.Contains(Convert.ToHexStringLower(SHA256.HashData(image)), listed.Output, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_command_beside_a_serving_process_goes_through_its_socket_while_an_import_is_in_flight()
    {
        var image = await File.ReadAllBytesAsync(await RealImages.UnifiedAsync(_root.Path, "served", "2"));
        var earlier = await RealImages.UnifiedAsync(_root.Path, "earlier", "3");
        var server = await ServeAsync();
        var fifo = await FifoAsync("upload.fifo");
        var importer = Start("image", "import", fifo);
        await using var upload = await OpenWriterAsync(fifo, importer);
        await upload.WriteAsync(image.AsMemory(0, image.Length / 2));
        await upload.FlushAsync();
        var part = await InFlightPartAsync(importer);

        // A write through the socket too: the command uses the serving process's store, not one of its own.
        await _cli.RunAsync("image", "import", earlier, "--alias", "earlier");
        var listed = await _cli.RunAsync("image", "list", "--format", "csv", "-c", "l");

        Assert.Contains("earlier", listed.Output, StringComparison.Ordinal);
        Assert.True(File.Exists(part), "the second command swept the import's .part file");
        await upload.WriteAsync(image.AsMemory(image.Length / 2));
        await upload.DisposeAsync();
        var (exit, output, error) = await EndAsync(importer);
        Assert.True(exit == 0, $"the import failed: {output}{error}");
        Assert.Contains("Image imported with fingerprint: " + Convert.ToHexStringLower(SHA256.HashData(image)), output, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_store_whose_owner_was_killed_with_SIGKILL_opens_at_the_next_command()
    {
        var image = await RealImages.UnifiedAsync(_root.Path, "after-kill", "4");
        var fifo = await FifoAsync("never.fifo");
        var owner = Start("image", "import", fifo);
        await using var upload = await OpenWriterAsync(fifo, owner);
        var refused = await _cli.RunAsync(false, "image", "list");
        Assert.Contains($"in use by process {owner.Id.ToString(CultureInfo.InvariantCulture)}", refused.Error, StringComparison.Ordinal);

        owner.Kill();
        await owner.WaitForExitAsync().WaitAsync(Deadline);

        var imported = await _cli.RunAsync("image", "import", image, "--alias", "after-kill");
        var listed = await _cli.RunAsync("image", "list", "--format", "csv", "-c", "l");

        Assert.Contains("Image imported with fingerprint:", imported.Output, StringComparison.Ordinal);
        Assert.Contains("after-kill", listed.Output, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Serve_on_an_owned_data_directory_stops_at_once_with_one_line_naming_the_owner()
    {
        using var owner = DataDirectoryLock.Acquire(_cli.Data);
        var output = new StringWriter();
        var error = new StringWriter();

        var exit = await ImageActorsCommand.InvokeAsync(["serve", "--config", Config(), "--data", _cli.Data, "--https", "127.0.0.1:0"], new CliHost(output, error, _ => null));

        Assert.Equal(ExitCodes.Failure, exit);
        Assert.Equal(
            $"error: the data directory {_cli.Data} is in use by process {Environment.ProcessId.ToString(CultureInfo.InvariantCulture)}; stop it or choose another data directory",
            error.ToString().TrimEnd('\n'));
    }

    private Process Start(params string[] arguments)
    {
        var start = new ProcessStartInfo("dotnet")
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            WorkingDirectory = _root.Path,
        };
        start.ArgumentList.Add(Path.Combine(AppContext.BaseDirectory, "imageactors.dll"));
        foreach (var argument in arguments.Concat(["--config", Config(), "--data", _cli.Data]))
        {
            start.ArgumentList.Add(argument);
        }

        start.Environment.Remove("IMAGEACTORS_CONFIG");
        start.Environment.Remove("IMAGEACTORS_DATA");
        var process = Process.Start(start)!;
        _started.Add(process);
        return process;
    }

    private async Task<Process> ServeAsync()
    {
        var server = Start("serve", "--https", "127.0.0.1:0");
        var seen = new StringBuilder();
        using var deadline = new CancellationTokenSource(Deadline);
        while (await server.StandardOutput.ReadLineAsync(deadline.Token) is { } line)
        {
            seen.AppendLine(line);
            if (line.StartsWith("Certificate fingerprint:", StringComparison.Ordinal))
            {
                return server;
            }
        }

        var error = await server.StandardError.ReadToEndAsync(deadline.Token);
        server.Dispose();
        throw new InvalidOperationException($"imageactors serve did not start: {seen}{error}");
    }

    private string Config()
    {
        var config = Path.Combine(_root.Path, "empty.hocon");
        if (!File.Exists(config))
        {
            File.WriteAllText(config, "# defaults only\n");
        }

        return config;
    }

    private async Task<string> FifoAsync(string name)
    {
        var path = Path.Combine(_root.Path, name);
        using var mkfifo = Process.Start("mkfifo", [path]);
        await mkfifo.WaitForExitAsync().WaitAsync(Deadline);
        Assert.Equal(0, mkfifo.ExitCode);
        return path;
    }

    // Opening a FIFO for writing waits for its reader: the importing process, once its store runs.
    private static async Task<FileStream> OpenWriterAsync(string fifo, Process reader)
    {
        var open = Task.Run(() => new FileStream(fifo, FileMode.Open, FileAccess.Write, FileShare.ReadWrite, 1));
        var first = await Task.WhenAny(open, reader.WaitForExitAsync()).WaitAsync(Deadline);
        if (first != open)
        {
            Assert.Fail($"the importing process ended before it read its file: {await reader.StandardOutput.ReadToEndAsync()}{await reader.StandardError.ReadToEndAsync()}");
        }

        return await open;
    }

    // The import's temp file in the owner's data directory (empty until the owner's write buffer first fills).
    private async Task<string> InFlightPartAsync(Process importer)
    {
        var tmp = Path.Combine(_cli.Data, "tmp");
        using var deadline = new CancellationTokenSource(Deadline);
        while (true)
        {
            var parts = Directory.Exists(tmp) ? Directory.GetFiles(tmp, "*.part") : [];
            if (parts.Length == 1)
            {
                return parts[0];
            }

            Assert.False(importer.HasExited, "the importing process ended early");
            await Task.Delay(50, deadline.Token);
        }
    }

    private static async Task<(int ExitCode, string Output, string Error)> EndAsync(Process process)
    {
        using var deadline = new CancellationTokenSource(Deadline);
        var output = process.StandardOutput.ReadToEndAsync(deadline.Token);
        var error = process.StandardError.ReadToEndAsync(deadline.Token);
        await process.WaitForExitAsync(deadline.Token);
        return (process.ExitCode, await output, await error);
    }
}
