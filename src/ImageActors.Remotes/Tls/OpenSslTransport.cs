using System.Net;
using System.Net.Security;
using System.Net.Sockets;
using System.Security.Authentication;

namespace ImageActors.Remotes.Tls;

/// <summary>
/// Sends the https requests marked <see cref="RemoteConnection.BulkTransfer"/> (file downloads) over
/// <see cref="OpenSslStream"/> connections, and everything else through the ordinary handler. The HTTP
/// layer stays the framework's: a marked request is handed to a second <see cref="SocketsHttpHandler"/> as
/// <c>http://host:port</c> with its original <c>Host</c>, whose every connection is an OpenSSL TLS
/// connection to that host, checked exactly as the ordinary handler checks it. Redirects are followed
/// here, so that one leading to another scheme goes to the right handler.
/// </summary>
internal sealed class OpenSslTransport : DelegatingHandler
{
    private const int MaxRedirects = 10;

    private static readonly HttpRequestOptionsKey<string> TlsHost = new("ImageActors.TlsHost");

    private readonly HttpMessageInvoker _native;
    private readonly SafeSslContextHandle _context;
    private int _handshakes;

    public OpenSslTransport(SocketsHttpHandler primary, RemoteConnection connection, RemoteCertificateValidationCallback? validate)
        : base(primary)
    {
        var (min, max) = Versions(connection.TlsProtocols);
        _context = LibSsl.NewClientContext(min, max);
        var context = _context;
        var clientCertificate = connection.ClientCertificate;
        var native = new SocketsHttpHandler
        {
            ConnectTimeout = primary.ConnectTimeout,
            AutomaticDecompression = DecompressionMethods.None,
            PooledConnectionIdleTimeout = primary.PooledConnectionIdleTimeout,
            MaxConnectionsPerServer = primary.MaxConnectionsPerServer,
            AllowAutoRedirect = false,
            UseProxy = false,

            // A download's body is abandoned only when it is cut (a stall, a cancellation, a bad byte): close the
            // connection then. Draining it would read the stream under a read still blocked on another thread, and
            // could put the connection back in the pool with that read waiting until the pool dropped it.
            MaxResponseDrainSize = 0,
            ConnectCallback = async (request, cancellationToken) =>
            {
                var host = request.InitialRequestMessage.Options.TryGetValue(TlsHost, out var name) ? name : request.DnsEndPoint.Host;
                var socket = new Socket(SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
                try
                {
                    await socket.ConnectAsync(request.DnsEndPoint, cancellationToken).ConfigureAwait(false);
                    var stream = await OpenSslStream.ConnectAsync(socket, context, host, clientCertificate, validate, cancellationToken).ConfigureAwait(false);
                    Interlocked.Increment(ref _handshakes);
                    return stream;
                }
                catch
                {
                    socket.Dispose();
                    throw;
                }
            },
        };
        _native = new HttpMessageInvoker(native, disposeHandler: true);
    }

    /// <summary>TLS connections made and accepted so far.</summary>
    public int Handshakes => Volatile.Read(ref _handshakes);

    /// <summary>Whether OpenSSL can carry this connection's downloads (it is loadable and the protocol range is one it speaks).</summary>
    public static bool CanCarry(RemoteConnection connection) =>
        LibSsl.IsAvailable && (connection.TlsProtocols & (SslProtocols.Tls12 | SslProtocols.Tls13)) != 0;

    protected override async Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
    {
        if (!IsBulkHttps(request))
        {
            return await base.SendAsync(request, cancellationToken).ConfigureAwait(false);
        }

        for (var redirects = 0; ; redirects++)
        {
            var target = request.RequestUri!;
            HttpResponseMessage response;
            if (target.Scheme == Uri.UriSchemeHttps && HttpClient.DefaultProxy.GetProxy(target) is null)
            {
                var host = target.HostNameType == UriHostNameType.IPv6 ? target.Host : target.IdnHost;
                request.RequestUri = new UriBuilder(target) { Scheme = Uri.UriSchemeHttp, Port = target.Port }.Uri;
                request.Headers.Host = target.IsDefaultPort ? host : $"{host}:{target.Port}";
                request.Options.Set(TlsHost, target.HostNameType == UriHostNameType.IPv6 ? target.DnsSafeHost : target.IdnHost);
                try
                {
                    response = await _native.SendAsync(request, cancellationToken).ConfigureAwait(false);
                }
                finally
                {
                    request.RequestUri = target;
                    request.Headers.Host = null;
                }
            }
            else
            {
                return await base.SendAsync(request, cancellationToken).ConfigureAwait(false);
            }

            if (RedirectTarget(response, target) is not { } next || redirects >= MaxRedirects
                || (request.Method != HttpMethod.Get && request.Method != HttpMethod.Head))
            {
                return response;
            }

            response.Dispose();
            request.RequestUri = next;
        }
    }

    protected override void Dispose(bool disposing)
    {
        if (disposing)
        {
            _native.Dispose();
            _context.Dispose();
        }

        base.Dispose(disposing);
    }

    private static bool IsBulkHttps(HttpRequestMessage request) =>
        request.RequestUri is { Scheme: "https" }
        && request.Options.TryGetValue(RemoteConnection.BulkTransfer, out var bulk) && bulk;

    private static Uri? RedirectTarget(HttpResponseMessage response, Uri from)
    {
        if (response.StatusCode is not (HttpStatusCode.MovedPermanently or HttpStatusCode.Found or HttpStatusCode.SeeOther
            or HttpStatusCode.TemporaryRedirect or HttpStatusCode.PermanentRedirect))
        {
            return null;
        }

        if (response.Headers.Location is not { } location)
        {
            return null;
        }

        var next = location.IsAbsoluteUri ? location : new Uri(from, location);
        return next.Scheme is "http" or "https" ? next : null;
    }

    private static (int Min, int Max) Versions(SslProtocols protocols)
    {
        var tls12 = (protocols & SslProtocols.Tls12) != 0;
        var tls13 = (protocols & SslProtocols.Tls13) != 0;
        return (tls12 ? LibSsl.Tls12Version : LibSsl.Tls13Version, tls13 ? LibSsl.Tls13Version : LibSsl.Tls12Version);
    }
}
