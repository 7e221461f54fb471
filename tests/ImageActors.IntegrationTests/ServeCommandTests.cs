using System.Net;
using System.Net.Sockets;
using System.Text.Json;
using ImageActors.Cli;
using ImageActors.IntegrationTests.Support;
using ImageActors.Server.Tests.Support;

namespace ImageActors.IntegrationTests;

public sealed class ServeCommandTests
{
    [Fact]
    public async Task Serve_listens_on_https_and_the_unix_socket_and_stops_on_cancel()
    {
        using var data = new TempDirectory();
        var port = FreePort();
        var output = new SignallingWriter("Certificate fingerprint:");
        var host = new CliHost(TextWriter.Synchronized(output), TextWriter.Synchronized(new StringWriter()), _ => null);
        using var stop = new CancellationTokenSource();
        var config = Path.Combine(data.Path, "empty.hocon");
        await File.WriteAllTextAsync(config, "# defaults only\n");

        var run = ImageActorsCommand.InvokeAsync(["serve", "--config", config, "--data", data.Path, "--https", $"127.0.0.1:{port}"], host, stop.Token);
        var socket = Path.Combine(data.Path, "unix.socket");

        using var https = new HttpClient(new HttpClientHandler { ServerCertificateCustomValidationCallback = (_, _, _, _) => true });
        var started = await Task.WhenAny(output.Seen, run).WaitAsync(TimeSpan.FromSeconds(60));
        Assert.True(started == output.Seen, "serve ended before it was listening: " + output);
        var info = await https.GetStringAsync(new Uri($"https://127.0.0.1:{port}/1.0"));
        using var document = JsonDocument.Parse(info);
        Assert.True(document.RootElement.GetProperty("metadata").GetProperty("public").GetBoolean());

        using var unix = new HttpClient(new SocketsHttpHandler
        {
            ConnectCallback = async (_, token) =>
            {
                var s = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
                await s.ConnectAsync(new UnixDomainSocketEndPoint(socket), token);
                return new NetworkStream(s, ownsSocket: true);
            },
        });
        using var trusted = JsonDocument.Parse(await unix.GetStringAsync(new Uri("http://localhost/1.0")));
        Assert.Equal("trusted", trusted.RootElement.GetProperty("metadata").GetProperty("auth").GetString());
        Assert.True(File.Exists(Path.Combine(data.Path, "server.crt")));

        await stop.CancelAsync();
        Assert.Equal(0, await run.WaitAsync(TimeSpan.FromSeconds(60)));
        Assert.Contains($"Listening on https://127.0.0.1:{port}/", output.ToString(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Serve_with_an_empty_unix_socket_setting_listens_on_https_only()
    {
        using var data = new TempDirectory();
        var port = FreePort();
        var output = new SignallingWriter("Certificate fingerprint:");
        var host = new CliHost(TextWriter.Synchronized(output), TextWriter.Synchronized(new StringWriter()), _ => null);
        using var stop = new CancellationTokenSource();
        var config = Path.Combine(data.Path, "empty.hocon");
        await File.WriteAllTextAsync(config, "# defaults only\n");

        // As typed in a shell: --set 'server.unix_socket=""'
        var run = ImageActorsCommand.InvokeAsync(["serve", "--config", config, "--data", data.Path, "--https", $"127.0.0.1:{port}", "--set", "server.unix_socket=\"\""], host, stop.Token);

        var started = await Task.WhenAny(output.Seen, run).WaitAsync(TimeSpan.FromSeconds(60));
        Assert.True(started == output.Seen, "serve ended before it was listening: " + output);
        using var https = new HttpClient(new HttpClientHandler { ServerCertificateCustomValidationCallback = (_, _, _, _) => true });
        Assert.Contains("\"public\"", await https.GetStringAsync(new Uri($"https://127.0.0.1:{port}/1.0")), StringComparison.Ordinal);
        Assert.DoesNotContain("unix:", output.ToString(), StringComparison.Ordinal);
        Assert.Empty(Directory.GetFiles(data.Path, "*socket*", SearchOption.AllDirectories));

        await stop.CancelAsync();
        Assert.Equal(0, await run.WaitAsync(TimeSpan.FromSeconds(60)));
    }

    [Fact]
    public async Task Serve_with_more_replicas_than_nodes_says_each_file_is_kept_once()
    {
        using var data = new TempDirectory();
        var port = FreePort();
        var output = new SignallingWriter("Add it with:");
        var error = new StringWriter();
        var host = new CliHost(TextWriter.Synchronized(output), TextWriter.Synchronized(error), _ => null);
        using var stop = new CancellationTokenSource();
        var config = Path.Combine(data.Path, "empty.hocon");
        await File.WriteAllTextAsync(config, "# defaults only\n");

        var run = ImageActorsCommand.InvokeAsync(["serve", "--config", config, "--data", data.Path, "--https", $"127.0.0.1:{port}", "--set", "images.replicas=2"], host, stop.Token);

        var started = await Task.WhenAny(output.Seen, run).WaitAsync(TimeSpan.FromSeconds(60));
        Assert.True(started == output.Seen, "serve ended before it was listening: " + output + error);
        await stop.CancelAsync();
        Assert.Equal(0, await run.WaitAsync(TimeSpan.FromSeconds(60)));
        Assert.Contains("warning: images.replicas = 2, but this node is the only member of its cluster: each image file is kept once, here", error.ToString(), StringComparison.Ordinal);
    }

    private static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }
}
