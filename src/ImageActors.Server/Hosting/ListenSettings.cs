using System.Net;

namespace ImageActors.Server.Hosting;

/// <summary>
/// Where the server keeps its files and where it listens: HTTPS endpoints (the default is
/// 127.0.0.1:8443), optional plain-HTTP endpoints (for a loopback or a proxy), and the unix
/// socket under the data directory for local, trusted use; and the limits it applies to clients.
/// </summary>
public sealed record ListenSettings
{
    /// <summary>The default HTTPS endpoint, as Incus uses it.</summary>
    public static readonly IPEndPoint DefaultHttps = new(IPAddress.Loopback, 8443);

    /// <summary>The data directory: certificates, trust store, unix socket, images.</summary>
    public required string DataDirectory { get; init; }

    /// <summary>HTTPS endpoints. Port 0 picks a free port (see <see cref="ImageActorsServer.HttpsEndpoints"/>).</summary>
    public IReadOnlyList<IPEndPoint> Https { get; init; } = [DefaultHttps];

    /// <summary>Plain-HTTP endpoints; none by default.</summary>
    public IReadOnlyList<IPEndPoint> Http { get; init; } = [];

    /// <summary>Whether to listen on <c>&lt;data&gt;/unix.socket</c>.</summary>
    public bool UnixSocket { get; init; } = true;

    /// <summary>Bearer tokens that make a caller trusted (for hosting platforms).</summary>
    public IReadOnlyList<string> TrustedTokens { get; init; } = [];

    /// <summary>What a client may cost the server: concurrent uploads, request sizes, slow clients, connections.</summary>
    public ServerLimits Limits { get; init; } = new();

    /// <summary>The path of the unix socket.</summary>
    public string UnixSocketPath => Path.Combine(DataDirectory, "unix.socket");

    /// <summary>
    /// Parses <c>ADDR:PORT</c>, <c>[v6]:PORT</c> or <c>:PORT</c> (all addresses), as <c>--https</c> and
    /// <c>--http</c> take them.
    /// </summary>
    /// <exception cref="FormatException">The text is not an address and port.</exception>
    public static IPEndPoint ParseEndpoint(string text)
    {
        ArgumentNullException.ThrowIfNull(text);
        if (text.StartsWith(':') && int.TryParse(text.AsSpan(1), out var anyPort) && anyPort is >= 0 and <= 65535)
        {
            return new IPEndPoint(IPAddress.IPv6Any, anyPort);
        }

        if (IPEndPoint.TryParse(text, out var endpoint) && text.Contains(':', StringComparison.Ordinal) &&
            (endpoint.AddressFamily != System.Net.Sockets.AddressFamily.InterNetworkV6 || text.StartsWith('[')))
        {
            return endpoint;
        }

        if (text.Equals("localhost", StringComparison.OrdinalIgnoreCase) ||
            text.StartsWith("localhost:", StringComparison.OrdinalIgnoreCase))
        {
            var port = text.Length > 10 && int.TryParse(text.AsSpan(10), out var p) ? p : DefaultHttps.Port;
            return new IPEndPoint(IPAddress.Loopback, port);
        }

        throw new FormatException($"'{text}' is not an address and port: write ADDR:PORT (e.g. 127.0.0.1:8443, [::1]:8443 or :8443).");
    }
}
