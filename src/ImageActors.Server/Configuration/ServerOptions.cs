using System.Globalization;
using ImageActors.Actors.Configuration;

namespace ImageActors.Server.Configuration;

/// <summary>Where the server listens (HTTPS, optional HTTP, unix socket) and its certificate.</summary>
public sealed record ServerOptions
{
    /// <summary>The keys this class reads.</summary>
    public static class Keys
    {
        /// <summary><c>server.https_address</c>.</summary>
        public static ConfigKey HttpsAddress { get; } = ConfigKey.Text(
            "server.https_address", "127.0.0.1:8443", "HTTPS listen address, host:port ([::]:8443 for every IPv6 and IPv4 address)", CheckAddress);

        /// <summary><c>server.http_address</c>.</summary>
        public static ConfigKey HttpAddress { get; } = ConfigKey.Text(
            "server.http_address", null, "plain HTTP listen address for a loopback or a proxy (unset = no HTTP)", CheckAddress);

        /// <summary><c>server.unix_socket</c>.</summary>
        public static ConfigKey UnixSocket { get; } = ConfigKey.Text(
            "server.unix_socket", null, "unix socket path for local clients (unset = <data_dir>/unix.socket; \"\" = none)");

        /// <summary><c>server.certificate</c>.</summary>
        public static ConfigKey Certificate { get; } = ConfigKey.Text(
            "server.certificate", null, "server certificate, PEM; generated self-signed on first start (unset = <data_dir>/server.crt)");

        /// <summary><c>server.certificate_key</c>.</summary>
        public static ConfigKey CertificateKey { get; } = ConfigKey.Text(
            "server.certificate_key", null, "private key of the server certificate, PEM (unset = <data_dir>/server.key)");
    }

    /// <summary>The schema section of these keys.</summary>
    public static ConfigSection Section { get; } = new("server",
        [Keys.HttpsAddress, Keys.HttpAddress, Keys.UnixSocket, Keys.Certificate, Keys.CertificateKey]);

    /// <summary>The HTTPS listen address.</summary>
    public ListenAddress HttpsAddress { get; init; } = new("127.0.0.1", 8443);

    /// <summary>The plain HTTP listen address; null = no HTTP.</summary>
    public ListenAddress? HttpAddress { get; init; }

    /// <summary>The unix socket path; null = no socket.</summary>
    public string? UnixSocket { get; init; } = Path.Combine("./data", "unix.socket");

    /// <summary>The server certificate file (PEM).</summary>
    public string Certificate { get; init; } = Path.Combine("./data", "server.crt");

    /// <summary>The server certificate's private key file (PEM).</summary>
    public string CertificateKey { get; init; } = Path.Combine("./data", "server.key");

    /// <summary>Reads and checks the keys; absent keys take their defaults (paths under <c>data_dir</c>).</summary>
    /// <exception cref="ConfigurationException">A value is invalid (the message names key, file and line).</exception>
    public static ServerOptions Bind(HoconConfig config)
    {
        var data = NodeOptions.Bind(config).DataDirectory;
        var http = config.GetString(Keys.HttpAddress);

        // An explicit empty string turns the socket off; unset means the default path.
        var socketValue = config.GetValue(Keys.UnixSocket.Path);
        var socket = socketValue is HoconScalar { Text: "" } ? null : config.GetString(Keys.UnixSocket) ?? Path.Combine(data, "unix.socket");
        return new ServerOptions
        {
            HttpsAddress = ListenAddress.Parse(config.GetString(Keys.HttpsAddress)!),
            HttpAddress = http is null ? null : ListenAddress.Parse(http),
            UnixSocket = socket,
            Certificate = config.GetString(Keys.Certificate) ?? Path.Combine(data, "server.crt"),
            CertificateKey = config.GetString(Keys.CertificateKey) ?? Path.Combine(data, "server.key"),
        };
    }

    private static string? CheckAddress(string text) =>
        ListenAddress.TryParse(text, out _) ? null : $"'{text}' is not a listen address (host:port, [ipv6]:port, port 1-65535)";

    /// <summary>A host (name, IPv4, or IPv6 without brackets) and a port.</summary>
    /// <param name="Host">The host to bind; <c>0.0.0.0</c> or <c>::</c> for every address.</param>
    /// <param name="Port">The TCP port, 1-65535.</param>
    public sealed record ListenAddress(string Host, int Port)
    {
        /// <summary>Parses <c>host:port</c> or <c>[ipv6]:port</c>.</summary>
        public static bool TryParse(string text, [System.Diagnostics.CodeAnalysis.NotNullWhen(true)] out ListenAddress? address)
        {
            address = null;
            var colon = text.LastIndexOf(':');
            if (colon <= 0 || !int.TryParse(text.AsSpan(colon + 1), NumberStyles.None, CultureInfo.InvariantCulture, out var port) || port is < 1 or > 65535)
            {
                return false;
            }

            var host = text[..colon];
            if (host.StartsWith('[') && host.EndsWith(']'))
            {
                host = host[1..^1];
                if (!System.Net.IPAddress.TryParse(host, out _))
                {
                    return false;
                }
            }
            else if (host.Contains(':', StringComparison.Ordinal) || host.Any(char.IsWhiteSpace))
            {
                return false;
            }

            address = new ListenAddress(host, port);
            return host.Length > 0;
        }

        /// <summary>Parses <c>host:port</c> or <c>[ipv6]:port</c>.</summary>
        /// <exception cref="FormatException">The text is not a listen address.</exception>
        public static ListenAddress Parse(string text) =>
            TryParse(text, out var address) ? address : throw new FormatException($"'{text}' is not a listen address (host:port)");

        /// <inheritdoc/>
        public override string ToString() => Host.Contains(':', StringComparison.Ordinal) ? $"[{Host}]:{Port}" : $"{Host}:{Port}";
    }
}
