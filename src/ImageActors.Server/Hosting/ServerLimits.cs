namespace ImageActors.Server.Hosting;

/// <summary>
/// What one client may cost the server: how many image uploads run at once and how long the others wait, how large
/// a request may be, and how slow a client may be before it is cut off (the <c>server.*</c> limits of
/// <c>akka.hocon</c>).
/// </summary>
public sealed record ServerLimits
{
    /// <summary>The <c>Retry-After</c> an upload refused for lack of a free slot carries.</summary>
    public static readonly TimeSpan UploadRetryAfter = TimeSpan.FromSeconds(2);

    /// <summary>
    /// The grace period before <see cref="MinRequestBodyRate"/> applies: a client may start slowly (TCP slow start,
    /// a TLS handshake just done) without being cut.
    /// </summary>
    public static readonly TimeSpan MinRequestBodyRateGrace = TimeSpan.FromSeconds(5);

    /// <summary>Image uploads (raw <c>POST /1.0/images</c>) that run at once; the memory an upload holds is this many times bounded.</summary>
    public int MaxConcurrentUploads { get; init; } = 16;

    /// <summary>How long an upload beyond <see cref="MaxConcurrentUploads"/> waits for a slot before it is answered 503; zero answers at once.</summary>
    public TimeSpan UploadQueueTimeout { get; init; } = TimeSpan.FromSeconds(30);

    /// <summary>Largest body of an image upload in bytes; null = no limit (free disk space still applies).</summary>
    public long? MaxUploadSize { get; init; }

    /// <summary>Largest body of every other request (JSON: properties, aliases, copy requests) in bytes.</summary>
    public long MaxRequestBodySize { get; init; } = 1 << 20;

    /// <summary>
    /// Bytes of a request body Kestrel reads ahead of the server per connection; an upload waiting for a slot holds up
    /// to this much (at least <see cref="MaxRequestHeadersSize"/>).
    /// </summary>
    public long RequestBufferSize { get; init; } = 256 * 1024;

    /// <summary>Largest total size of a request's headers in bytes.</summary>
    public int MaxRequestHeadersSize { get; init; } = 32 * 1024;

    /// <summary>A client that has not sent its whole request line and headers within this time is cut off.</summary>
    public TimeSpan RequestHeadersTimeout { get; init; } = TimeSpan.FromSeconds(30);

    /// <summary>A request body arriving slower than this many bytes per second (after a grace period) is cut off; zero = no minimum.</summary>
    public long MinRequestBodyRate { get; init; } = 240;

    /// <summary>Connections open at once (HTTPS, HTTP and the unix socket together); null = no limit.</summary>
    public long? MaxConnections { get; init; } = 4096;
}
