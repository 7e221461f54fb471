using System.Diagnostics;

namespace ImageActors.Cli.Tests;

/// <summary>The built <c>imageactors</c> executable, run as a process.</summary>
public sealed class ExecutableTests
{
    private static async Task<(int ExitCode, string Output, string Error)> RunAsync(params string[] args)
    {
        var start = new ProcessStartInfo("dotnet")
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            WorkingDirectory = Path.GetTempPath(),
        };
        start.ArgumentList.Add(Path.Combine(AppContext.BaseDirectory, "imageactors.dll"));
        foreach (var arg in args)
        {
            start.ArgumentList.Add(arg);
        }

        start.Environment.Remove("IMAGEACTORS_CONFIG");
        start.Environment.Remove("IMAGEACTORS_DATA");
        using var process = Process.Start(start)!;
        using var deadline = new CancellationTokenSource(TimeSpan.FromMinutes(2));
        var output = process.StandardOutput.ReadToEndAsync(deadline.Token);
        var error = process.StandardError.ReadToEndAsync(deadline.Token);
        await process.WaitForExitAsync(deadline.Token);
        return (process.ExitCode, await output, await error);
    }

    [Fact]
    public async Task The_executable_finds_the_akka_hocon_shipped_next_to_it_from_any_directory()
    {
        var (exitCode, output, _) = await RunAsync("config", "show", "images.remote_cache_expiry", "--format", "json");

        Assert.Equal(ExitCodes.Success, exitCode);
        Assert.Contains("\"10d\"", output, StringComparison.Ordinal);
        Assert.Contains("akka.hocon\"", output, StringComparison.Ordinal);
    }

    [Fact]
    public async Task The_executable_exits_non_zero_on_a_misspelt_key_and_says_which()
    {
        var (exitCode, output, error) = await RunAsync("config", "show", "--set", "images.auto_update_intervall=1h");

        Assert.Equal(ExitCodes.InvalidConfiguration, exitCode);
        Assert.Empty(output);
        Assert.Contains("images.auto_update_intervall (--set): unknown key; did you mean images.auto_update_interval?", error, StringComparison.Ordinal);
    }
}
