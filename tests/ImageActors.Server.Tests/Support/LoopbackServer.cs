using System.Net;
using System.Net.Security;
using System.Net.Sockets;
using System.Security.Cryptography.X509Certificates;
using ImageActors.Server.Hosting;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace ImageActors.Server.Tests.Support;

/// <summary>A real Kestrel server on loopback ports picked by the OS, with HTTPS, HTTP and the unix socket.</summary>
public sealed class LoopbackServer : IAsyncDisposable
{
    private readonly TempDirectory? _ownedData;

    private LoopbackServer(ImageActorsServer server, TempDirectory? ownedData)
    {
        Server = server;
        _ownedData = ownedData;
    }

    public ImageActorsServer Server { get; }

    public Uri Https => Server.HttpsEndpoints[0];

    public Uri Http => Server.HttpEndpoints[0];

    public string DataDirectory => Server.Listen.DataDirectory;

    public static async Task<LoopbackServer> StartAsync(
        string? dataDirectory = null,
        IReadOnlyList<string>? tokens = null,
        Action<IServiceCollection>? services = null)
    {
        var owned = dataDirectory is null ? new TempDirectory() : null;
        var listen = new ListenSettings
        {
            DataDirectory = dataDirectory ?? owned!.Path,
            Https = [new IPEndPoint(IPAddress.Loopback, 0)],
            Http = [new IPEndPoint(IPAddress.Loopback, 0)],
            TrustedTokens = tokens ?? [],
        };
        var server = ImageActorsServer.Create(listen, services, logging => logging.SetMinimumLevel(LogLevel.Warning));
        await server.StartAsync();
        return new LoopbackServer(server, owned);
    }

    /// <summary>An HTTPS client that accepts exactly this server's certificate, optionally presenting a client certificate.</summary>
    public HttpClient HttpsClient(X509Certificate2? clientCertificate = null)
    {
        var expected = Server.Certificate.RawData;
        var handler = new SocketsHttpHandler
        {
            SslOptions = new SslClientAuthenticationOptions
            {
                RemoteCertificateValidationCallback = (_, certificate, _, _) => certificate is not null && certificate.GetRawCertData().AsSpan().SequenceEqual(expected),
                ClientCertificates = clientCertificate is null ? null : [clientCertificate],
            },
        };
        return new HttpClient(handler) { BaseAddress = Https, Timeout = TimeSpan.FromSeconds(30) };
    }

    /// <summary>A client speaking HTTP over the unix socket.</summary>
    public HttpClient UnixClient()
    {
        var path = Server.Listen.UnixSocketPath;
        var handler = new SocketsHttpHandler
        {
            ConnectCallback = async (_, cancellationToken) =>
            {
                var socket = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
                await socket.ConnectAsync(new UnixDomainSocketEndPoint(path), cancellationToken);
                return new NetworkStream(socket, ownsSocket: true);
            },
        };
        return new HttpClient(handler) { BaseAddress = new Uri("http://unix.socket/"), Timeout = TimeSpan.FromSeconds(30) };
    }

    public async ValueTask DisposeAsync()
    {
        await Server.DisposeAsync();
        _ownedData?.Dispose();
    }
}
