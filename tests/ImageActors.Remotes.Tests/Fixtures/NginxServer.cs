using System.Diagnostics;
using System.Net;
using System.Net.Sockets;

namespace ImageActors.Remotes.Tests.Fixtures;

/// <summary>
/// A private nginx (the Debian package) serving a folder on a free loopback port, logging each
/// request's Range header, so our client meets a real server's Range and static-file behaviour.
/// </summary>
public sealed class NginxServer : IAsyncDisposable
{
    private readonly Process _process;
    private readonly string _prefix;

    private NginxServer(Process process, string prefix, int port)
    {
        _process = process;
        _prefix = prefix;
        Port = port;
    }

    public int Port { get; }

    public Uri BaseUri => new($"http://127.0.0.1:{Port}/");

    public static bool IsInstalled => File.Exists("/usr/sbin/nginx");

    public string AccessLog => Path.Combine(_prefix, "access.log");

    public static async Task<NginxServer> StartAsync(string root, string prefix)
    {
        var port = FreePort();
        var user = Environment.UserName == "root" ? "user root;" : "";
        var config = $$"""
            {{user}}
            daemon off;
            worker_processes 1;
            pid {{prefix}}/nginx.pid;
            error_log {{prefix}}/error.log;
            events { worker_connections 256; }
            http {
              log_format ranges '$request_method $uri "$http_range" $status $body_bytes_sent';
              access_log {{prefix}}/access.log ranges;
              client_body_temp_path {{prefix}}/client_body;
              proxy_temp_path {{prefix}}/proxy;
              fastcgi_temp_path {{prefix}}/fastcgi;
              uwsgi_temp_path {{prefix}}/uwsgi;
              scgi_temp_path {{prefix}}/scgi;
              sendfile on;
              tcp_nopush on;
              default_type application/octet-stream;
              server {
                listen 127.0.0.1:{{port}};
                root {{root}};
              }
            }
            """;
        var configPath = Path.Combine(prefix, "nginx.conf");
        await File.WriteAllTextAsync(configPath, config);
        var process = Process.Start(new ProcessStartInfo("/usr/sbin/nginx", ["-c", configPath, "-p", prefix, "-e", Path.Combine(prefix, "error.log")])
        {
            RedirectStandardError = true,
            UseShellExecute = false,
        })!;
        var server = new NginxServer(process, prefix, port);
        await server.WaitUntilListeningAsync();
        return server;
    }

    public async Task<string> WaitForLogLineAsync(string contains)
    {
        var deadline = DateTime.UtcNow.AddSeconds(10);
        while (true)
        {
            // nginx writes the line when the request ends, which may be just after the client saw its last byte.
            var line = File.Exists(AccessLog) ? (await File.ReadAllLinesAsync(AccessLog)).FirstOrDefault(l => l.Contains(contains, StringComparison.Ordinal)) : null;
            if (line is not null)
            {
                return line;
            }

            if (DateTime.UtcNow > deadline)
            {
                throw new TimeoutException($"nginx never logged '{contains}'. Log:\n{(File.Exists(AccessLog) ? await File.ReadAllTextAsync(AccessLog) : "")}");
            }

            await Task.Delay(20);
        }
    }

    public async ValueTask DisposeAsync()
    {
        if (!_process.HasExited)
        {
            _process.Kill(entireProcessTree: true);
            await _process.WaitForExitAsync();
        }

        _process.Dispose();
    }

    private static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }

    private async Task WaitUntilListeningAsync()
    {
        var deadline = DateTime.UtcNow.AddSeconds(10);
        while (true)
        {
            if (_process.HasExited)
            {
                throw new InvalidOperationException($"nginx exited: {await _process.StandardError.ReadToEndAsync()}");
            }

            try
            {
                using var client = new TcpClient();
                await client.ConnectAsync(IPAddress.Loopback, Port);
                return;
            }
            catch (SocketException) when (DateTime.UtcNow < deadline)
            {
                await Task.Delay(20);
            }
        }
    }
}
