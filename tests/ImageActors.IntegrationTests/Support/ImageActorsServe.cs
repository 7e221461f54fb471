using System.Text.RegularExpressions;
using ImageActors.Cli;

namespace ImageActors.IntegrationTests.Support;

/// <summary><c>imageactors serve</c>, in-process, on a loopback port the OS picks; stopped on dispose as Ctrl+C stops it.</summary>
public sealed partial class ImageActorsServe : IAsyncDisposable
{
    private readonly CancellationTokenSource _stop;
    private readonly Task<int> _run;
    private int _disposed;

    private ImageActorsServe(ImageActorsCli cli, Uri https, CancellationTokenSource stop, Task<int> run)
    {
        Cli = cli;
        Https = https;
        _stop = stop;
        _run = run;
    }

    /// <summary>The CLI on the served data directory.</summary>
    public ImageActorsCli Cli { get; }

    /// <summary>The HTTPS base URL, without a trailing slash.</summary>
    public Uri Https { get; }

    /// <summary>The server certificate (PEM file).</summary>
    public string CertificatePath => Path.Combine(Cli.Data, "server.crt");

    /// <summary>Starts serving <paramref name="cli"/>'s data directory on <paramref name="https"/> and waits until it listens.</summary>
    public static Task<ImageActorsServe> StartAsync(ImageActorsCli cli, string root, string https = "127.0.0.1:0") =>
        StartAsync(cli, root, "# defaults only\n", [], https);

    /// <summary>
    /// Starts serving with <paramref name="configuration"/> as its configuration file and each of
    /// <paramref name="settings"/> (<c>KEY=VALUE</c>) given with <c>--set</c>, as an operator would start it.
    /// </summary>
    public static async Task<ImageActorsServe> StartAsync(ImageActorsCli cli, string root, string configuration, IReadOnlyList<string> settings, string https = "127.0.0.1:0")
    {
        ArgumentNullException.ThrowIfNull(cli);
        ArgumentNullException.ThrowIfNull(settings);
        var config = Path.Combine(root, "serve.hocon");
        await File.WriteAllTextAsync(config, configuration);
        var output = new SignallingWriter("Certificate fingerprint:");
        var errors = new StringWriter();
        var host = new CliHost(TextWriter.Synchronized(output), TextWriter.Synchronized(errors), _ => null);
        var stop = new CancellationTokenSource();
        var run = ImageActorsCommand.InvokeAsync(["serve", "--config", config, "--data", cli.Data, "--https", https, .. settings.SelectMany(s => (string[])["--set", s])], host, stop.Token);
        var started = await Task.WhenAny(output.Seen, run).WaitAsync(TimeSpan.FromSeconds(60));
        var listening = ListeningOn().Match(output.ToString());
        if (started != output.Seen || !listening.Success)
        {
            await stop.CancelAsync();
            stop.Dispose();
            throw new InvalidOperationException($"imageactors serve did not start: {output}{errors}");
        }

        return new ImageActorsServe(cli, new Uri(listening.Groups[1].Value), stop, run);
    }

    /// <inheritdoc />
    /// <remarks>May be called again (a test that stops the server before its end); only the first call stops it.</remarks>
    public async ValueTask DisposeAsync()
    {
        if (Interlocked.Exchange(ref _disposed, 1) == 1)
        {
            return;
        }

        await _stop.CancelAsync();
        await _run.WaitAsync(TimeSpan.FromSeconds(60));
        _stop.Dispose();
    }

    [GeneratedRegex(@"Listening on (https://[^/\s]+)/")]
    private static partial Regex ListeningOn();
}
