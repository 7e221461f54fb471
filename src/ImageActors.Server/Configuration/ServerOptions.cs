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

        /// <summary><c>server.max_concurrent_uploads</c>.</summary>
        public static ConfigKey MaxConcurrentUploads { get; } = ConfigKey.Integer(
            "server.max_concurrent_uploads", 16, "image uploads (POST /1.0/images) running at once; the others wait for a slot", 1, 4096);

        /// <summary><c>server.upload_queue_timeout</c>.</summary>
        public static ConfigKey UploadQueueTimeout { get; } = ConfigKey.Duration(
            "server.upload_queue_timeout", "30s", "how long an upload waits for a slot before it is answered 503 with Retry-After; 0 = answer at once (a plain number is seconds)", DurationUnit.Seconds);

        /// <summary><c>server.max_upload_size</c>.</summary>
        public static ConfigKey MaxUploadSize { get; } = ConfigKey.Size(
            "server.max_upload_size", null, "largest image upload body (unset = no limit; free disk space still applies)", 1);

        /// <summary><c>server.max_request_body_size</c>.</summary>
        public static ConfigKey MaxRequestBodySize { get; } = ConfigKey.Size(
            "server.max_request_body_size", "1MiB", "largest body of any other request (JSON: properties, aliases, copy requests)", 1024);

        /// <summary><c>server.request_buffer_size</c>.</summary>
        public static ConfigKey RequestBufferSize { get; } = ConfigKey.Size(
            "server.request_buffer_size", "256KiB", "bytes of a request body read ahead per connection (what an upload waiting for a slot holds); at least max_request_headers_size", 4096);

        /// <summary><c>server.max_request_headers_size</c>.</summary>
        public static ConfigKey MaxRequestHeadersSize { get; } = ConfigKey.Size(
            "server.max_request_headers_size", "32KiB", "largest total size of a request's headers", 1024, 16 << 20);

        /// <summary><c>server.request_headers_timeout</c>.</summary>
        public static ConfigKey RequestHeadersTimeout { get; } = ConfigKey.Duration(
            "server.request_headers_timeout", "30s", "a client that has not sent its request headers within this time is cut off; 0 = never (a plain number is seconds)", DurationUnit.Seconds);

        /// <summary><c>server.min_request_body_rate</c>.</summary>
        public static ConfigKey MinRequestBodyRate { get; } = ConfigKey.Size(
            "server.min_request_body_rate", "240", "a request body arriving slower than this many bytes per second, after 5 s, is cut off; 0 = no minimum");

        /// <summary><c>server.max_connections</c>.</summary>
        public static ConfigKey MaxConnections { get; } = ConfigKey.Integer(
            "server.max_connections", 4096, "connections open at once on each listening address; further ones are closed at once; 0 = no limit", 0, int.MaxValue);
    }

    /// <summary>The schema section of these keys.</summary>
    public static ConfigSection Section { get; } = new("server",
        [Keys.HttpsAddress, Keys.HttpAddress, Keys.UnixSocket, Keys.Certificate, Keys.CertificateKey,
         Keys.MaxConcurrentUploads, Keys.UploadQueueTimeout, Keys.MaxUploadSize, Keys.MaxRequestBodySize, Keys.RequestBufferSize, Keys.MaxRequestHeadersSize,
         Keys.RequestHeadersTimeout, Keys.MinRequestBodyRate, Keys.MaxConnections]);

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

    /// <summary>What a client may cost the server (uploads at once, request sizes, slow clients, connections).</summary>
    public ServerLimits Limits { get; init; } = new();

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
            Limits = BindLimits(config),
        };
    }

    private static ServerLimits BindLimits(HoconConfig config)
    {
        var headersTimeout = config.GetDuration(Keys.RequestHeadersTimeout);
        var connections = config.GetLong(Keys.MaxConnections);
        return new ServerLimits
        {
            MaxConcurrentUploads = config.GetInt(Keys.MaxConcurrentUploads),
            UploadQueueTimeout = config.GetDuration(Keys.UploadQueueTimeout),
            MaxUploadSize = config.GetNullableSize(Keys.MaxUploadSize),
            MaxRequestBodySize = config.GetSize(Keys.MaxRequestBodySize),
            RequestBufferSize = config.GetSize(Keys.RequestBufferSize),
            MaxRequestHeadersSize = checked((int)config.GetSize(Keys.MaxRequestHeadersSize)),
            RequestHeadersTimeout = headersTimeout == TimeSpan.Zero ? Timeout.InfiniteTimeSpan : headersTimeout,
            MinRequestBodyRate = config.GetSize(Keys.MinRequestBodyRate),
            MaxConnections = connections == 0 ? null : connections,
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
