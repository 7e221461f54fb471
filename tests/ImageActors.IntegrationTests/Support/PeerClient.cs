using System.Diagnostics;

namespace ImageActors.IntegrationTests.Support;

/// <summary>The real <c>lxc</c> (Debian's lxd-client) or <c>incus</c> client (incus-client) with a private configuration folder.</summary>
public sealed class PeerClient : IDisposable
{
    private readonly ImageActors.Server.Tests.Support.TempDirectory _home = new();

    public PeerClient(PeerKind kind)
    {
        Kind = kind;
        Directory.CreateDirectory(ConfigDirectory);
    }

    /// <summary>Which client this is.</summary>
    public PeerKind Kind { get; }

    /// <summary>The private <c>LXD_CONF</c> or <c>INCUS_CONF</c>.</summary>
    public string ConfigDirectory => Path.Combine(_home.Path, "client-conf");

    /// <summary>Runs the client with <paramref name="arguments"/> in <paramref name="workingDirectory"/>.</summary>
    public Task<PeerResult> RunAsync(string? workingDirectory, params string[] arguments) => RunAsync(workingDirectory, arguments, null);

    /// <summary>Runs the client; with <paramref name="daemonDirectory"/> its <c>local:</c> remote is <c>&lt;dir&gt;/unix.socket</c>.</summary>
    public async Task<PeerResult> RunAsync(string? workingDirectory, string[] arguments, string? daemonDirectory)
    {
        var start = new ProcessStartInfo(Kind.Client)
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

        start.Environment[Kind.ConfigVariable] = ConfigDirectory;
        start.Environment["HOME"] = _home.Path;
        start.Environment.Remove("LXD_DIR");
        start.Environment.Remove("INCUS_DIR");
        if (daemonDirectory is not null)
        {
            start.Environment[Kind.DirectoryVariable] = daemonDirectory;
        }

        using var process = Process.Start(start) ?? throw new InvalidOperationException("could not start " + Kind.Client);
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
            throw new TimeoutException($"{Kind.Client} {string.Join(' ', arguments)} did not finish within 2 minutes");
        }

        return new PeerResult(process.ExitCode, await stdout, await stderr);
    }

    /// <summary>Runs the client and requires exit code 0.</summary>
    public Task<string> RunOkAsync(string? workingDirectory, params string[] arguments) => RunOkAsync(workingDirectory, arguments, null);

    /// <summary>Runs the client and requires exit code 0.</summary>
    public async Task<string> RunOkAsync(string? workingDirectory, string[] arguments, string? daemonDirectory)
    {
        var result = await RunAsync(workingDirectory, arguments, daemonDirectory);
        Assert.True(result.ExitCode == 0, $"{Kind.Client} {string.Join(' ', arguments)} exited {result.ExitCode}: {result.Stderr}{result.Stdout}");
        return result.Stdout;
    }

    public void Dispose() => _home.Dispose();
}

/// <summary>What a client run printed.</summary>
public sealed record PeerResult(int ExitCode, string Stdout, string Stderr);
