using System.Security.Authentication;
using System.Security.Cryptography.X509Certificates;
using ImageActors.Server.Trust;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Server.Kestrel.Core;
using Microsoft.AspNetCore.Server.Kestrel.Https;

namespace ImageActors.Server.Hosting;

/// <summary>
/// The ImageActors image server on Kestrel: HTTPS (self-signed certificate generated at first
/// start, TLS 1.2/1.3, HTTP/1.1, client certificates requested but optional), optional plain HTTP,
/// and the trusted unix socket <c>&lt;data&gt;/unix.socket</c>.
/// </summary>
public sealed class ImageActorsServer : IAsyncDisposable
{
    private readonly WebApplication _app;

    private ImageActorsServer(WebApplication app, ListenSettings listen, X509Certificate2 certificate)
    {
        _app = app;
        Listen = listen;
        Certificate = certificate;
    }

    /// <summary>The listen settings it was built with.</summary>
    public ListenSettings Listen { get; }

    /// <summary>The server certificate (loaded or generated).</summary>
    public X509Certificate2 Certificate { get; }

    /// <summary>The application's services.</summary>
    public IServiceProvider Services => _app.Services;

    /// <summary>The bound HTTPS base URLs (with real ports once started).</summary>
    public IReadOnlyList<Uri> HttpsEndpoints => Addresses("https://");

    /// <summary>The bound plain-HTTP base URLs (with real ports once started).</summary>
    public IReadOnlyList<Uri> HttpEndpoints => Addresses("http://").Where(u => !u.IsUnc && u.Host != "unix").ToList();

    /// <summary>
    /// Builds a server. <paramref name="configureServices"/> adds the image store and anything else
    /// the endpoints need; <paramref name="configureLogging"/> replaces the console logging default.
    /// </summary>
    public static ImageActorsServer Create(
        ListenSettings listen,
        Action<IServiceCollection>? configureServices = null,
        Action<ILoggingBuilder>? configureLogging = null)
    {
        ArgumentNullException.ThrowIfNull(listen);
        Directory.CreateDirectory(listen.DataDirectory);
        var certificate = ServerCertificate.LoadOrCreate(
            listen.DataDirectory,
            listen.Https.Concat(listen.Http).Select(e => e.Address),
            out var certificateOutcome);

        var builder = WebApplication.CreateSlimBuilder(new WebApplicationOptions
        {
            ContentRootPath = listen.DataDirectory,
            Args = [],
        });
        builder.WebHost.UseKestrelHttpsConfiguration();

        // What a connection reads ahead of the server (the socket's own buffer, before HTTP): an upload waiting for a
        // slot holds this much of its body, so it bounds what waiting clients cost.
        builder.WebHost.UseSockets(o => o.MaxReadBufferSize = Math.Max(listen.Limits.RequestBufferSize, listen.Limits.MaxRequestHeadersSize));
        builder.Logging.ClearProviders();
        if (configureLogging is null)
        {
            builder.Logging.AddSimpleConsole(o => o.SingleLine = true);
        }
        else
        {
            configureLogging(builder.Logging);
        }

        // lxc --accept-certificate aborts one handshake on purpose; scanners and plain-HTTP probes
        // end connections early too. Those are normal here, not warnings.
        builder.Logging.AddFilter("Microsoft.AspNetCore.Server.Kestrel.Https", LogLevel.Error);
        builder.Logging.AddFilter("Microsoft.AspNetCore.Server.Kestrel.Connections", LogLevel.Error);
        builder.Logging.AddFilter("Microsoft.AspNetCore.Server.Kestrel.BadRequests", LogLevel.Error);
        builder.Logging.AddFilter("Microsoft.AspNetCore.Hosting.Diagnostics", LogLevel.Warning);
        builder.Logging.AddFilter("Microsoft.AspNetCore.Routing", LogLevel.Warning);
        builder.Logging.AddFilter("Microsoft.Hosting.Lifetime", LogLevel.Warning);

        builder.WebHost.ConfigureKestrel(kestrel =>
        {
            kestrel.AddServerHeader = false;
            var limits = listen.Limits;

            // Small bodies everywhere; an image upload raises its own request's limit (server.max_upload_size).
            kestrel.Limits.MaxRequestBodySize = limits.MaxRequestBodySize;
            kestrel.Limits.MaxRequestHeadersTotalSize = limits.MaxRequestHeadersSize;

            // Kestrel refuses a read-ahead smaller than the request line or the headers it must hold.
            kestrel.Limits.MaxRequestBufferSize = Math.Max(limits.RequestBufferSize, Math.Max(limits.MaxRequestHeadersSize, kestrel.Limits.MaxRequestLineSize));
            kestrel.Limits.RequestHeadersTimeout = limits.RequestHeadersTimeout;
            kestrel.Limits.MinRequestBodyDataRate = limits.MinRequestBodyRate > 0
                ? new MinDataRate(limits.MinRequestBodyRate, ServerLimits.MinRequestBodyRateGrace)
                : null;
            kestrel.Limits.MaxConcurrentConnections = limits.MaxConnections;
            kestrel.Limits.MaxConcurrentUpgradedConnections = limits.MaxConnections;

            // Exports write 256 KiB chunks; room for a few lets reading the file overlap sending.
            kestrel.Limits.MaxResponseBufferSize = 4 * 1024 * 1024;
            foreach (var endpoint in listen.Https)
            {
                kestrel.Listen(endpoint, o => ConfigureHttps(o, certificate));
            }

            foreach (var endpoint in listen.Http)
            {
                kestrel.Listen(endpoint, o => o.Protocols = HttpProtocols.Http1);
            }

            if (listen.UnixSocket)
            {
                if (File.Exists(listen.UnixSocketPath))
                {
                    // A socket left by a process that died; a live server would own the data directory.
                    File.Delete(listen.UnixSocketPath);
                }

                kestrel.ListenUnixSocket(listen.UnixSocketPath, o =>
                {
                    o.Protocols = HttpProtocols.Http1;
                    o.Use(next => connection =>
                    {
                        connection.Items[CallerIdentification.UnixSocketItem] = true;
                        return next(connection);
                    });
                });
            }
        });

        builder.Services.AddSingleton(certificate);
        builder.Services.AddImageActorsServer(listen);
        configureServices?.Invoke(builder.Services);

        var app = builder.Build();
        LogCertificate(app.Services.GetRequiredService<ILoggerFactory>().CreateLogger<ImageActorsServer>(), certificateOutcome, certificate);
        app.UseImageActorsServer();
        return new ImageActorsServer(app, listen, certificate);
    }

    /// <summary>Starts listening.</summary>
    public async Task StartAsync(CancellationToken cancellationToken = default)
    {
        await _app.StartAsync(cancellationToken);
        if (Listen.UnixSocket && !OperatingSystem.IsWindows() && File.Exists(Listen.UnixSocketPath))
        {
            // The socket grants full trust: only the owner (and its group) may connect.
            File.SetUnixFileMode(Listen.UnixSocketPath, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.GroupRead | UnixFileMode.GroupWrite);
        }
    }

    /// <summary>Stops listening, letting requests in progress finish within the host's shutdown timeout.</summary>
    public Task StopAsync(CancellationToken cancellationToken = default) => _app.StopAsync(cancellationToken);

    /// <summary>Runs until the process is asked to stop (Ctrl+C, SIGTERM).</summary>
    public Task RunAsync(CancellationToken cancellationToken = default) => _app.RunAsync(cancellationToken);

    /// <inheritdoc />
    public async ValueTask DisposeAsync()
    {
        await _app.DisposeAsync();
        if (Listen.UnixSocket && File.Exists(Listen.UnixSocketPath))
        {
            File.Delete(Listen.UnixSocketPath);
        }

        Certificate.Dispose();
    }

    private static void LogCertificate(ILogger logger, CertificateOutcome outcome, X509Certificate2 certificate)
    {
        var missing = string.Join(", ", outcome.MissingAddresses);
        switch (outcome.Origin)
        {
            case CertificateOrigin.Created:
                logger.LogInformation("Generated the server certificate {Fingerprint}", ServerCertificate.FingerprintOf(certificate));
                break;
            case CertificateOrigin.Regenerated:
                logger.LogWarning("Generated a new server certificate {Fingerprint} because the previous one did not name {Addresses}; clients that pinned the old one must accept the new one", ServerCertificate.FingerprintOf(certificate), missing);
                break;
            case CertificateOrigin.SuppliedWithoutAddresses:
                logger.LogWarning("The supplied server certificate does not name {Addresses}; clients connecting there will reject it", missing);
                break;
        }
    }

    private static void ConfigureHttps(ListenOptions options, X509Certificate2 certificate)
    {
        options.Protocols = HttpProtocols.Http1;

        // Before TLS: a plain-HTTP request on this port gets a fast 400 (lxc tries http first).
        options.Use(PlainHttpOnTlsGuard.Wrap);
        options.UseHttps(new HttpsConnectionAdapterOptions
        {
            ServerCertificate = certificate,
            SslProtocols = SslProtocols.Tls12 | SslProtocols.Tls13,
            ClientCertificateMode = ClientCertificateMode.AllowCertificate,

            // Incus clients present self-signed certificates; trust is decided by the trust store.
            ClientCertificateValidation = static (_, _, _) => true,
            HandshakeTimeout = TimeSpan.FromSeconds(10),
        });
    }

    private List<Uri> Addresses(string scheme)
    {
        var addresses = _app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()?.Addresses ?? [];
        return addresses
            .Where(a => a.StartsWith(scheme, StringComparison.OrdinalIgnoreCase) && !a.Contains("unix:", StringComparison.Ordinal))
            .Select(a => new Uri(a.Replace("[::]", "[::1]", StringComparison.Ordinal).Replace("0.0.0.0", "127.0.0.1", StringComparison.Ordinal)))
            .ToList();
    }
}
