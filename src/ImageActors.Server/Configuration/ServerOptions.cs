using System.Net;
using ImageActors.Images.Configuration;
using ImageActors.Server.Hosting;

namespace ImageActors.Server.Configuration;

/// <summary>Where the server listens (HTTPS, optional HTTP, unix socket) and its certificate.</summary>
public sealed record ServerOptions
{
    /// <summary>The keys this class reads.</summary>
    public static class Keys
    {
        /// <summary><c>server.https_address</c>.</summary>
        public static ConfigKey HttpsAddress { get; } = ConfigKey.Text(
            "server.https_address", "127.0.0.1:8443", "HTTPS listen address, ADDR:PORT ([::]:8443 or :8443 for every address)", CheckAddress);

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
    public IPEndPoint HttpsAddress { get; init; } = new(IPAddress.Loopback, 8443);

    /// <summary>The plain HTTP listen address; null = no HTTP.</summary>
    public IPEndPoint? HttpAddress { get; init; }

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
            HttpsAddress = ListenSettings.ParseEndpoint(config.GetString(Keys.HttpsAddress)!),
            HttpAddress = http is null ? null : ListenSettings.ParseEndpoint(http),
            UnixSocket = socket,
            Certificate = config.GetString(Keys.Certificate) ?? Path.Combine(data, "server.crt"),
            CertificateKey = config.GetString(Keys.CertificateKey) ?? Path.Combine(data, "server.key"),
        };
    }

    // The same parser as --https/--http, so a file accepts exactly what the command line does.
    private static string? CheckAddress(string text)
    {
        try
        {
            ListenSettings.ParseEndpoint(text);
            return null;
        }
        catch (Exception e) when (e is FormatException or ArgumentException)
        {
            return $"'{text}' is not a listen address (ADDR:PORT, e.g. 127.0.0.1:8443, [::1]:8443 or :8443)";
        }
    }
}
