using System.Net;
using System.Net.Security;
using System.Security.Authentication;
using System.Security.Cryptography.X509Certificates;
using ImageActors.Remotes.Tls;

namespace ImageActors.Remotes;

/// <summary>How to reach a remote: TLS trust, client identity, timeouts.</summary>
public sealed record RemoteConnection
{
    /// <summary>
    /// PEM of the server's certificate. When set, exactly that certificate is accepted (whatever its
    /// issuer and names) and the system CAs are not consulted, as Incus does for pinned remotes.
    /// </summary>
    public string? ServerCertificatePem { get; init; }

    /// <summary>Client certificate with its private key, for remotes that trust us.</summary>
    public X509Certificate2? ClientCertificate { get; init; }

    /// <summary>TLS versions; TLS 1.3 only, like the Incus and LXD clients.</summary>
    public SslProtocols TlsProtocols { get; init; } = SslProtocols.Tls13;

    /// <summary>Time to establish a connection.</summary>
    public TimeSpan ConnectTimeout { get; init; } = TimeSpan.FromSeconds(10);

    /// <summary>Time for a whole JSON request (not for file downloads, which stream without a limit).</summary>
    public TimeSpan RequestTimeout { get; init; } = TimeSpan.FromSeconds(30);

    /// <summary>
    /// Connections open at once to one server (scheme, host and port); further requests wait for a free one.
    /// Bounds what thousands of concurrent copies can do to a source (and to ourselves): without it every waiting
    /// request opens its own TLS connection and the handshakes alone outlast the request timeout under load.
    /// </summary>
    public int MaxConnectionsPerServer { get; init; } = 16;

    /// <summary>
    /// Whether file downloads over https run their TLS in OpenSSL on the socket (<c>libssl.so.3</c>) instead of
    /// <see cref="SslStream"/>: the same certificate checks, half the CPU per byte. Off, or when OpenSSL 3 cannot be
    /// loaded, every request uses <see cref="SslStream"/>.
    /// </summary>
    public bool OpenSslDownloads { get; init; } = true;

    /// <summary>
    /// Marks a request as a bulk file transfer (<see cref="OpenSslDownloads"/>). Only downloads set it; API calls stay
    /// on the ordinary connections.
    /// </summary>
    public static HttpRequestOptionsKey<bool> BulkTransfer { get; } = new("ImageActors.BulkTransfer");

    /// <summary>The User-Agent sent.</summary>
    public string UserAgent { get; init; } = "ImageActors/1.0";

    /// <summary>Builds an HTTP client with these settings; the caller owns it.</summary>
    public HttpClient CreateClient() => CreateClient(abandonUnreadBodies: false);

    /// <summary>
    /// Builds an HTTP client with these settings that closes the connection of a reply disposed before its body was
    /// read, instead of reading up to 1 MiB of it to keep the connection: for requests that only want the headers
    /// (an export probe's reply may be a whole image). Plain <see cref="SslStream"/>, no bulk transfers.
    /// </summary>
    public HttpClient CreateHeadersOnlyClient() => CreateClient(abandonUnreadBodies: true);

    private HttpClient CreateClient(bool abandonUnreadBodies)
    {
        var handler = new SocketsHttpHandler
        {
            ConnectTimeout = ConnectTimeout,
            AutomaticDecompression = DecompressionMethods.None,
            PooledConnectionIdleTimeout = TimeSpan.FromSeconds(30),
            MaxConnectionsPerServer = MaxConnectionsPerServer > 0 ? MaxConnectionsPerServer : throw new InvalidOperationException($"MaxConnectionsPerServer must be at least 1, not {MaxConnectionsPerServer}"),
            AllowAutoRedirect = true,
            SslOptions = new SslClientAuthenticationOptions
            {
                EnabledSslProtocols = TlsProtocols,
                ApplicationProtocols = [SslApplicationProtocol.Http11],
            },
        };
        if (abandonUnreadBodies)
        {
            handler.MaxResponseDrainSize = 0;
        }

        if (ClientCertificate is not null)
        {
            handler.SslOptions.ClientCertificates = [ClientCertificate];
            handler.SslOptions.LocalCertificateSelectionCallback = (_, _, _, _, _) => ClientCertificate;
        }

        if (ServerCertificatePem is { Length: > 0 } pem)
        {
            var pinned = X509Certificate2.CreateFromPem(pem);
            handler.SslOptions.RemoteCertificateValidationCallback = (_, certificate, _, _) =>
                certificate is not null && certificate.GetRawCertData().AsSpan().SequenceEqual(pinned.RawData);
        }

        HttpMessageHandler pipeline = OpenSslDownloads && !abandonUnreadBodies && OpenSslTransport.CanCarry(this)
            ? new OpenSslTransport(handler, this, handler.SslOptions.RemoteCertificateValidationCallback)
            : handler;
        var client = new HttpClient(pipeline, disposeHandler: true)
        {
            Timeout = Timeout.InfiniteTimeSpan,
            DefaultRequestVersion = HttpVersion.Version11,
            DefaultVersionPolicy = HttpVersionPolicy.RequestVersionExact,
        };
        client.DefaultRequestHeaders.UserAgent.ParseAdd(UserAgent);
        return client;
    }
}
