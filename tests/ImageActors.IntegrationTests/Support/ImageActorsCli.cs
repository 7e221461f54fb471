using ImageActors.Cli;

namespace ImageActors.IntegrationTests.Support;

/// <summary>Runs <c>imageactors</c> in-process on one data directory, with default settings.</summary>
public sealed class ImageActorsCli(string root)
{
    /// <summary>The data directory (<c>--data</c>).</summary>
    public string Data => Path.Combine(root, "data");

    /// <summary>Runs a command and requires exit code 0.</summary>
    public Task<CommandResult> RunAsync(params string[] arguments) => RunAsync(true, arguments);

    /// <summary>Runs a command; with <paramref name="expectSuccess"/> a non-zero exit fails the test with what it printed.</summary>
    public Task<CommandResult> RunAsync(bool expectSuccess, params string[] arguments) => RunAsync(expectSuccess, null, arguments);

    /// <summary>Runs a command as on a terminal where a person types <paramref name="typed"/>; requires nothing of the exit code.</summary>
    public Task<CommandResult> RunOnTerminalAsync(string typed, params string[] arguments) => RunAsync(false, typed, arguments);

    private async Task<CommandResult> RunAsync(bool expectSuccess, string? typed, string[] arguments)
    {
        var config = Path.Combine(root, "empty.hocon");
        if (!File.Exists(config))
        {
            await File.WriteAllTextAsync(config, "# defaults only\n");
        }

        var output = new StringWriter();
        var error = new StringWriter();
        var exit = await ImageActorsCommand.InvokeAsync([.. arguments, "--config", config, "--data", Data], new CliHost(output, error, _ => null)
        {
            Input = new StringReader(typed ?? string.Empty),
            InputIsTerminal = typed is not null,
        });
        var result = new CommandResult(exit, output.ToString(), error.ToString());
        if (expectSuccess)
        {
            Assert.True(exit == 0, $"imageactors {string.Join(' ', arguments)} exited {exit}: {result.Error}");
        }

        return result;
    }
}

/// <summary>What an <c>imageactors</c> run printed.</summary>
public sealed record CommandResult(int ExitCode, string Output, string Error)
{
    /// <summary>The fingerprint an <c>image import</c> printed (as <c>lxc image import</c> prints it).</summary>
    public string ImportedFingerprint() => ImportOutput.Fingerprint(Output);
}

/// <summary>Reads the line both <c>imageactors image import</c> and <c>lxc image import</c> print.</summary>
public static class ImportOutput
{
    public static string Fingerprint(string output)
    {
        const string marker = "Image imported with fingerprint: ";
        var at = output.IndexOf(marker, StringComparison.Ordinal);
        Assert.True(at >= 0, "no fingerprint in: " + output);
        return output.Substring(at + marker.Length, 64);
    }
}
