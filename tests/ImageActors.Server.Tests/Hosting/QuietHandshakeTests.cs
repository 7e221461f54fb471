using System.Collections.Concurrent;
using System.Net;
using System.Net.Security;
using System.Net.Sockets;
using ImageActors.Server.Hosting;
using ImageActors.Server.Tests.Support;
using Microsoft.Extensions.Logging;

namespace ImageActors.Server.Tests.Hosting;

public sealed class QuietHandshakeTests
{
    [Fact]
    public async Task An_aborted_tls_handshake_and_a_plain_http_probe_log_no_warnings()
    {
        using var data = new TempDirectory();
        var sink = new WarningSink();
        await using var server = ImageActorsServer.Create(
            new ListenSettings { DataDirectory = data.Path, Https = [new IPEndPoint(IPAddress.Loopback, 0)], UnixSocket = false },
            configureLogging: logging => logging.AddProvider(sink));
        await server.StartAsync();
        var https = server.HttpsEndpoints[0];

        // What lxc remote add --accept-certificate does first: start a handshake, reject the certificate.
        using (var tcp = new TcpClient())
        {
            await tcp.ConnectAsync(https.Host, https.Port);
            await using var tls = new SslStream(tcp.GetStream());
            await Assert.ThrowsAsync<System.Security.Authentication.AuthenticationException>(() =>
                tls.AuthenticateAsClientAsync(new SslClientAuthenticationOptions { TargetHost = "127.0.0.1", RemoteCertificateValidationCallback = (_, _, _, _) => false }));
        }

        using (var plain = new HttpClient())
        {
            var probe = await plain.GetAsync(new Uri($"http://{https.Host}:{https.Port}/streams/v1/index.json"));
            Assert.Equal(HttpStatusCode.BadRequest, probe.StatusCode);
        }

        // A request served after both proves the connections above were fully handled.
        using var client = new HttpClient(new SocketsHttpHandler { SslOptions = { RemoteCertificateValidationCallback = (_, _, _, _) => true } });
        Assert.Equal("ok\n", await client.GetStringAsync(new Uri(https, "/healthz")));
        await server.StopAsync();

        Assert.Empty(sink.Entries);
    }

    private sealed class WarningSink : ILoggerProvider
    {
        public ConcurrentQueue<string> Entries { get; } = new();

        public ILogger CreateLogger(string categoryName) => new Logger(this, categoryName);

        public void Dispose()
        {
        }

        private sealed class Logger(WarningSink sink, string category) : ILogger
        {
            public IDisposable? BeginScope<TState>(TState state)
                where TState : notnull => null;

            public bool IsEnabled(LogLevel logLevel) => logLevel >= LogLevel.Warning;

            public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
            {
                if (IsEnabled(logLevel))
                {
                    sink.Entries.Enqueue($"{logLevel} {category}: {formatter(state, exception)}");
                }
            }
        }
    }
}
