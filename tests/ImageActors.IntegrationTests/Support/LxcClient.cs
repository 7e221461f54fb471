using System.Diagnostics;

namespace ImageActors.IntegrationTests.Support;

/// <summary>The real <c>lxc</c> client (Debian's lxd-client) with a private configuration folder.</summary>
public sealed class LxcClient : IDisposable
{
    private readonly ImageActors.Server.Tests.Support.TempDirectory _home = new();

    public LxcClient() => Directory.CreateDirectory(ConfigDirectory);

    /// <summary>The private <c>LXD_CONF</c>.</summary>
    public string ConfigDirectory => Path.Combine(_home.Path, "lxd-conf");

    /// <summary>Runs <c>lxc</c> with <paramref name="arguments"/> in <paramref name="workingDirectory"/>.</summary>
    public Task<LxcResult> RunAsync(string? workingDirectory, params string[] arguments) => RunAsync(workingDirectory, arguments, null);

    /// <summary>Runs <c>lxc</c>; with <paramref name="lxdDirectory"/> its <c>local:</c> remote is <c>&lt;dir&gt;/unix.socket</c>.</summary>
    public async Task<LxcResult> RunAsync(string? workingDirectory, string[] arguments, string? lxdDirectory)
    {
        var start = new ProcessStartInfo("lxc")
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            RedirectStandardInput = true,
            UseShellExecute = false,
            WorkingDirectory = workingDirectory ?? _home.Path,
        };
        foreach (var argument in arguments)
        {
            start.ArgumentList.Add(argument);
        }

        start.Environment["LXD_CONF"] = ConfigDirectory;
        start.Environment["HOME"] = _home.Path;
        start.Environment.Remove("LXD_DIR");
        if (lxdDirectory is not null)
        {
            start.Environment["LXD_DIR"] = lxdDirectory;
        }
        using var process = Process.Start(start) ?? throw new InvalidOperationException("could not start lxc");
        process.StandardInput.Close();
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        using var deadline = new CancellationTokenSource(TimeSpan.FromMinutes(2));
        try
        {
            await process.WaitForExitAsync(deadline.Token);
        }
        catch (OperationCanceledException)
        {
            process.Kill(entireProcessTree: true);
            throw new TimeoutException($"lxc {string.Join(' ', arguments)} did not finish within 2 minutes");
        }

        return new LxcResult(process.ExitCode, await stdout, await stderr);
    }

    /// <summary>Runs <c>lxc</c> and requires exit code 0.</summary>
    public Task<string> RunOkAsync(string? workingDirectory, params string[] arguments) => RunOkAsync(workingDirectory, arguments, null);

    /// <summary>Runs <c>lxc</c> and requires exit code 0.</summary>
    public async Task<string> RunOkAsync(string? workingDirectory, string[] arguments, string? lxdDirectory)
    {
        var result = await RunAsync(workingDirectory, arguments, lxdDirectory);
        Assert.True(result.ExitCode == 0, $"lxc {string.Join(' ', arguments)} exited {result.ExitCode}: {result.Stderr}{result.Stdout}");
        return result.Stdout;
    }

    public void Dispose() => _home.Dispose();
}

/// <summary>What an <c>lxc</c> run printed.</summary>
public sealed record LxcResult(int ExitCode, string Stdout, string Stderr);
