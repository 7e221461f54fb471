using System.Runtime.InteropServices;
using System.Text.Json;

namespace ImageActors.Cli.Tests;

public sealed class VersionCommandTests
{
    [Fact]
    public async Task Version_prints_the_product_version_runtime_os_and_architecture()
    {
        var run = await CliRun.InvokeAsync("version");

        Assert.Equal(ExitCodes.Success, run.ExitCode);
        var lines = run.Output.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
        Assert.Matches(@"^imageactors \d+\.\d+\.\d+", lines[0]);
        Assert.Equal($"runtime:      {RuntimeInformation.FrameworkDescription}", lines[1]);
        Assert.Equal($"os:           {RuntimeInformation.OSDescription}", lines[2]);
        Assert.StartsWith("architecture: ", lines[3], StringComparison.Ordinal);
        Assert.Empty(run.Error);
    }

    [Fact]
    public async Task Version_names_the_architecture_as_Incus_does()
    {
        var run = await CliRun.InvokeAsync("version", "--format", "json");

        using var json = JsonDocument.Parse(run.Output);
        var expected = RuntimeInformation.OSArchitecture switch
        {
            Architecture.X64 => "x86_64",
            Architecture.Arm64 => "aarch64",
            var other => Commands.VersionCommand.IncusArchitecture(other),
        };
        Assert.Equal(expected, json.RootElement.GetProperty("architecture").GetString());
        Assert.Equal(RuntimeInformation.FrameworkDescription, json.RootElement.GetProperty("runtime").GetString());
        Assert.False(string.IsNullOrEmpty(json.RootElement.GetProperty("version").GetString()));
    }
}
