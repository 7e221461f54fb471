using System.Diagnostics;
using System.Globalization;
using System.Net.Security;
using System.Security.Cryptography.X509Certificates;
using System.Text.RegularExpressions;

namespace ImageActors.LoadTests.Scenarios;

/// <summary>
/// <c>imageactors serve</c> as a child process, on its own data directory and a loopback port the OS picks, stopped
/// with SIGTERM as an operator stops it. Gives a trusted client over its unix socket and an https client that pins its
/// certificate, and reads the process's memory, threads and open files for gauges.
/// </summary>
public sealed partial class ServeProcess : IAsyncDisposable
{
    private readonly Process _process;

    private ServeProcess(Process process, string data, Uri https)
    {
        _process = process;
        Data = data;
        Https = https;
    }

    /// <summary>The served data directory.</summary>
    public string Data { get; }

    /// <summary>The https address, e.g. <c>https://127.0.0.1:41234</c>.</summary>
    public Uri Https { get; }

    /// <summary>The server's certificate (PEM).</summary>
    public string CertificatePath => Path.Combine(Data, "server.crt");

    /// <summary>The trusted unix socket.</summary>
    public string Socket => Path.Combine(Data, "unix.socket");

    /// <summary>The server's process id.</summary>
    public int Pid => _process.Id;

    /// <summary>Starts <paramref name="binary"/> serving <paramref name="data"/> with <paramref name="configuration"/> and each <c>--set</c>.</summary>
    public static async Task<ServeProcess> StartAsync(string binary, string data, string configuration, IEnumerable<string> settings, TextWriter log)
    {
        Directory.CreateDirectory(data);
        var config = Path.Combine(data, "..", Path.GetFileName(data) + ".hocon");
        await File.WriteAllTextAsync(config, configuration);
        var start = new ProcessStartInfo(binary)
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        foreach (var arg in (IEnumerable<string>)["serve", "--data", data, "--config", config, "--https", "127.0.0.1:0", .. settings.SelectMany(s => (string[])["--set", s])])
        {
            start.ArgumentList.Add(arg);
        }

        var process = Process.Start(start) ?? throw new InvalidOperationException($"could not start {binary}");
        var listening = new TaskCompletionSource<Uri>(TaskCreationOptions.RunContinuationsAsynchronously);
        var ready = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var output = new System.Collections.Concurrent.ConcurrentQueue<string>();
        process.OutputDataReceived += (_, e) =>
        {
            if (e.Data is null)
            {
                return;
            }

            output.Enqueue(e.Data);
            if (ListeningOn().Match(e.Data) is { Success: true } m)
            {
                listening.TrySetResult(new Uri(m.Groups[1].Value));
            }

            if (e.Data.StartsWith("Certificate fingerprint:", StringComparison.Ordinal))
            {
                ready.TrySetResult();
            }
        };
        process.ErrorDataReceived += (_, e) =>
        {
            if (e.Data is not null)
            {
                output.Enqueue(e.Data);
            }
        };
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();

        var started = Task.WhenAll(listening.Task, ready.Task);
        if (await Task.WhenAny(started, process.WaitForExitAsync(), Task.Delay(TimeSpan.FromMinutes(2))) != started)
        {
            if (!process.HasExited)
            {
                process.Kill(entireProcessTree: true);
            }

            // Until its output ends, so that the last lines (the reason it stopped) are in the message.
            await process.WaitForExitAsync();
            var exit = process.ExitCode;
            throw new InvalidOperationException($"imageactors serve ({data}) did not start (exit code {exit}): {string.Join(Environment.NewLine, output)}");
        }

        await log.WriteLineAsync($"imageactors serve: {listening.Task.Result} (pid {process.Id}, {data})");
        return new ServeProcess(process, data, listening.Task.Result);
    }

    /// <summary>The body of <c>POST /1.0/images</c> that pulls <paramref name="alias"/> from this server (Incus protocol, its certificate pinned).</summary>
    public System.Text.Json.Nodes.JsonObject PullRequest(string certificate, string alias) => new()
    {
        ["source"] = new System.Text.Json.Nodes.JsonObject
        {
            ["type"] = "image",
            ["mode"] = "pull",
            ["server"] = Https.ToString().TrimEnd('/'),
            ["protocol"] = "incus",
            ["certificate"] = certificate,
            ["alias"] = alias,
        },
    };

    /// <summary>A trusted client over the unix socket, as the command line is.</summary>
    public HttpClient SocketClient() => Http.ForUnixSocket(Socket);

    /// <summary>An https client that trusts this server's certificate and nothing else (an untrusted client: public images only).</summary>
    public HttpClient HttpsClient()
    {
        using var pinned = X509Certificate2.CreateFromPem(File.ReadAllText(CertificatePath));
        var thumbprint = pinned.Thumbprint;
        var handler = new SocketsHttpHandler
        {
            MaxConnectionsPerServer = 1024,
            SslOptions = new SslClientAuthenticationOptions
            {
                RemoteCertificateValidationCallback = (_, certificate, _, _) => certificate is not null && certificate.GetCertHashString() == thumbprint,
            },
        };
        return new HttpClient(handler) { BaseAddress = Https, Timeout = TimeSpan.FromMinutes(10) };
    }

    /// <summary>Resident memory (MiB), threads and open file descriptors of the server process, from /proc.</summary>
    public IReadOnlyDictionary<string, double> ProcessGauges()
    {
        var result = new Dictionary<string, double>(StringComparer.Ordinal);
        try
        {
            foreach (var line in File.ReadLines($"/proc/{Pid}/status"))
            {
                if (line.StartsWith("VmRSS:", StringComparison.Ordinal))
                {
                    result["server RSS (MiB)"] = double.Parse(line.Split(' ', StringSplitOptions.RemoveEmptyEntries)[1], CultureInfo.InvariantCulture) / 1024;
                }
                else if (line.StartsWith("Threads:", StringComparison.Ordinal))
                {
                    result["server threads"] = double.Parse(line.Split('\t', ' ', StringSplitOptions.RemoveEmptyEntries)[1], CultureInfo.InvariantCulture);
                }
            }

            result["server open files"] = Directory.GetFileSystemEntries($"/proc/{Pid}/fd").Length;
        }
        catch (IOException)
        {
            // The process ended; the gauges stop.
        }

        return result;
    }

    /// <summary>Kills the server with SIGKILL (no stop, no flush, no clean-up) and waits until it is gone.</summary>
    public void Kill()
    {
        if (!_process.HasExited)
        {
            _process.Kill();
            _process.WaitForExit();
        }
    }

    /// <inheritdoc />
    public async ValueTask DisposeAsync()
    {
        if (!_process.HasExited)
        {
            using var term = Process.Start("kill", ["-TERM", Pid.ToString(CultureInfo.InvariantCulture)]);
            await term.WaitForExitAsync();
            if (await Task.WhenAny(_process.WaitForExitAsync(), Task.Delay(TimeSpan.FromSeconds(60))) is not Task { IsCompleted: true } || !_process.HasExited)
            {
                _process.Kill(entireProcessTree: true);
            }
        }

        _process.Dispose();
    }

    [GeneratedRegex(@"Listening on (https://[^/\s]+)/?")]
    private static partial Regex ListeningOn();
}
