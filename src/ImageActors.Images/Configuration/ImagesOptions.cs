using ImageActors.Images.Remote;
using ImageActors.Remotes;
using ImageActors.Remotes.Download;
using ImageActors.Streaming.Archives;

namespace ImageActors.Images.Configuration;

/// <summary>
/// The image store's settings. The <c>images.*</c> keys Incus also has keep Incus' names and
/// meaning (a plain number in <c>remote_cache_expiry</c> is days, in <c>auto_update_interval</c> hours).
/// </summary>
public sealed record ImagesOptions
{

    /// <summary>Protocols an <c>images.upstreams</c> entry may name.</summary>
    public static IReadOnlyList<string> UpstreamProtocols { get; } = ["incus", "lxd", "simplestreams"];

    /// <summary>The keys this class reads.</summary>
    public static class Keys
    {
        /// <summary><c>images.remote_cache_expiry</c> (Incus).</summary>
        public static ConfigKey RemoteCacheExpiry { get; } = ConfigKey.Duration(
            "images.remote_cache_expiry", "10d", "unused cached remote images are removed after this long; 0 = never (plain number = days)", DurationUnit.Days);

        /// <summary><c>images.auto_update_interval</c> (Incus).</summary>
        public static ConfigKey AutoUpdateInterval { get; } = ConfigKey.Duration(
            "images.auto_update_interval", "6h", "how often auto-update images are refreshed; 0 = never (plain number = hours)", DurationUnit.Hours);

        /// <summary><c>images.auto_update_cached</c> (Incus).</summary>
        public static ConfigKey AutoUpdateCached { get; } = ConfigKey.Boolean(
            "images.auto_update_cached", true, "images cached on first use get auto_update set");

        /// <summary><c>images.default_architecture</c> (Incus).</summary>
        public static ConfigKey DefaultArchitecture { get; } = ConfigKey.Text(
            "images.default_architecture", null, "architecture an alias on a SimpleStreams server or an image URL resolves for (unset = the host's)",
            a => Streaming.Architecture.TryParse(a, out _) ? null : $"'{a}' is not an architecture Incus knows (e.g. x86_64, aarch64)");

        /// <summary><c>images.cache_max_size</c>.</summary>
        public static ConfigKey CacheMaxSize { get; } = ConfigKey.Size(
            "images.cache_max_size", null, "cached images beyond this total size are evicted, least recently used first (unset = unbounded)", minimum: 1);

        /// <summary><c>images.eviction_interval</c>.</summary>
        public static ConfigKey EvictionInterval { get; } = ConfigKey.Duration(
            "images.eviction_interval", "1m", "how often remote_cache_expiry and expires_at are applied to cached images; 0 = only at start (cache_max_size is applied after each download)");

        /// <summary><c>images.last_used_interval</c>.</summary>
        public static ConfigKey LastUsedInterval { get; } = ConfigKey.Duration(
            "images.last_used_interval", "1m", "an image's uses are recorded at most once per this interval (the latest one kept); 0 = every use");

        /// <summary><c>images.replicas</c>.</summary>
        public static ConfigKey Replicas { get; } = ConfigKey.Integer(
            "images.replicas", 1, "nodes holding a copy of each image file in a cluster (a node alone holds the one copy, and serve says so at start)", 1, 64);

        /// <summary><c>images.download_workers</c>.</summary>
        public static ConfigKey DownloadWorkers { get; } = ConfigKey.Integer(
            "images.download_workers", 4, "downloads from remote servers running at the same time", 1, 1024);

        /// <summary><c>images.download_stall_timeout</c>.</summary>
        public static ConfigKey DownloadStallTimeout { get; } = ConfigKey.Duration(
            "images.download_stall_timeout", "60s", "a download that receives nothing for this long is cut off and resumed on a new connection (with Range); 0 = wait for ever");

        /// <summary><c>images.download_max_retry_wait</c>.</summary>
        public static ConfigKey DownloadMaxRetryWait { get; } = ConfigKey.Duration(
            "images.download_max_retry_wait", "2m", "longest wait before a retry that a remote server may ask for with Retry-After (503, 429); a longer one is cut to this");

        /// <summary><c>images.remote_lookup_timeout</c>.</summary>
        public static ConfigKey RemoteLookupTimeout { get; } = ConfigKey.Duration(
            "images.remote_lookup_timeout", "60s", "the small requests before a download (an Incus server's /1.0, alias and image lookups, a SimpleStreams index, a URL import's HEAD) end within this, all their attempts together; 0 = only each attempt is bounded (30s)");

        /// <summary><c>images.partial_download_ttl</c>.</summary>
        public static ConfigKey PartialDownloadTtl { get; } = ConfigKey.Duration(
            "images.partial_download_ttl", "1d", "the bytes of a failed download are kept this long, and the next download of the same file resumes them if the source still has it; 0 = keep nothing");

        /// <summary><c>images.max_connections_per_server</c>.</summary>
        public static ConfigKey MaxConnectionsPerServer { get; } = ConfigKey.Integer(
            "images.max_connections_per_server", 16, "connections open at once to one remote server (scheme, host and port); further requests wait for a free one", 1);

        /// <summary><c>images.openssl_downloads</c>.</summary>
        public static ConfigKey OpenSslDownloads { get; } = ConfigKey.Boolean(
            "images.openssl_downloads", true, "image files are downloaded over https with OpenSSL on the socket (libssl.so.3, half the CPU per byte); off = the .NET TLS stack for every request");

        /// <summary><c>images.unpack_workers</c>.</summary>
        public static ConfigKey UnpackWorkers { get; } = ConfigKey.Integer(
            "images.unpack_workers", 2, "image unpacks running at the same time", 1, 1024);

        /// <summary><c>images.unpack_max_size</c>.</summary>
        public static ConfigKey UnpackMaxSize { get; } = ConfigKey.Size(
            "images.unpack_max_size", "256GiB", "largest total size an unpacked image may have (decompression-bomb guard)", minimum: 1);

        /// <summary><c>images.unpack_max_entries</c>.</summary>
        public static ConfigKey UnpackMaxEntries { get; } = ConfigKey.Integer(
            "images.unpack_max_entries", 10_000_000, "most files, directories and links an unpacked image may have", 1);

        /// <summary><c>images.unpack_max_ratio</c>.</summary>
        public static ConfigKey UnpackMaxRatio { get; } = ConfigKey.Integer(
            "images.unpack_max_ratio", 200, "largest unpacked-to-packed size ratio accepted (decompression-bomb guard)", 1);

        /// <summary><c>images.upstreams</c>.</summary>
        public static ConfigKey Upstreams { get; } = ConfigKey.List(
            "images.upstreams",
            "servers asked, in order, for images the store lacks (pull-through cache): \"[incus|lxd|simplestreams:]https://host[:port]\" or { url, protocol, certificate = PEM file to pin }",
            CheckUpstreamShape);

        /// <summary><c>images.upstream_catalog_ttl</c>.</summary>
        public static ConfigKey UpstreamCatalogTtl { get; } = ConfigKey.Duration(
            "images.upstream_catalog_ttl", "10m", "how long the upstreams' image lists merged into the SimpleStreams index are reused before being fetched again");
    }

    /// <summary>The schema section of these keys.</summary>
    public static ConfigSection Section { get; } = new("images",
    [
        Keys.RemoteCacheExpiry, Keys.AutoUpdateInterval, Keys.AutoUpdateCached, Keys.DefaultArchitecture,
        Keys.CacheMaxSize, Keys.Replicas, Keys.DownloadWorkers, Keys.DownloadStallTimeout, Keys.DownloadMaxRetryWait, Keys.RemoteLookupTimeout, Keys.PartialDownloadTtl, Keys.MaxConnectionsPerServer, Keys.OpenSslDownloads, Keys.UnpackWorkers, Keys.UnpackMaxSize, Keys.UnpackMaxEntries, Keys.UnpackMaxRatio,
        Keys.Upstreams, Keys.UpstreamCatalogTtl, Keys.EvictionInterval, Keys.LastUsedInterval,
    ]);

    /// <summary>Unused cached images expire after this; <see cref="TimeSpan.Zero"/> = never.</summary>
    public TimeSpan RemoteCacheExpiry { get; init; } = TimeSpan.FromDays(10);

    /// <summary>The auto-update cadence; <see cref="TimeSpan.Zero"/> disables auto-update.</summary>
    public TimeSpan AutoUpdateInterval { get; init; } = TimeSpan.FromHours(6);

    /// <summary>Whether images cached on first use are auto-updated.</summary>
    public bool AutoUpdateCached { get; init; } = true;

    /// <summary>
    /// The architecture an alias on a SimpleStreams server or an image URL resolves for, by its canonical name
    /// (<c>amd64</c> becomes <c>x86_64</c>); null = the host's.
    /// </summary>
    public string? DefaultArchitecture { get; init; }

    /// <summary>The bound on cached images' total size in bytes; null = unbounded.</summary>
    public long? CacheMaxSize { get; init; }

    /// <summary>How often the expiry rules run over cached images; <see cref="TimeSpan.Zero"/> = only at start.</summary>
    public TimeSpan EvictionInterval { get; init; } = TimeSpan.FromMinutes(1);

    /// <summary>The shortest time between two recorded uses of one image; <see cref="TimeSpan.Zero"/> records every use.</summary>
    public TimeSpan LastUsedInterval { get; init; } = TimeSpan.FromMinutes(1);

    /// <summary>How many nodes hold each image file.</summary>
    public int Replicas { get; init; } = 1;

    /// <summary>Download worker pool size.</summary>
    public int DownloadWorkers { get; init; } = 4;

    /// <summary>How long a download may receive nothing before it is cut off and resumed.</summary>
    public TimeSpan DownloadStallTimeout { get; init; } = TimeSpan.FromSeconds(60);

    /// <summary>The longest <c>Retry-After</c> wait honoured before a retry.</summary>
    public TimeSpan DownloadMaxRetryWait { get; init; } = TimeSpan.FromMinutes(2);

    /// <summary>How long a lookup before a download may take, all its attempts together; <see cref="TimeSpan.Zero"/> bounds each attempt only.</summary>
    public TimeSpan RemoteLookupTimeout { get; init; } = TimeSpan.FromSeconds(60);

    /// <summary>How long the bytes of a failed download are kept for the next one to resume; <see cref="TimeSpan.Zero"/> keeps nothing.</summary>
    public TimeSpan PartialDownloadTtl { get; init; } = TimeSpan.FromDays(1);

    /// <summary>Connections open at once to one remote server.</summary>
    public int MaxConnectionsPerServer { get; init; } = 16;

    /// <summary>Whether file downloads over https use OpenSSL on the socket (<see cref="RemoteConnection.OpenSslDownloads"/>).</summary>
    public bool OpenSslDownloads { get; init; } = true;

    /// <summary>Unpack worker pool size.</summary>
    public int UnpackWorkers { get; init; } = 2;

    /// <summary>The largest total unpacked size, in bytes.</summary>
    public long UnpackMaxSize { get; init; } = 256L << 30;

    /// <summary>The most entries in an unpacked image.</summary>
    public long UnpackMaxEntries { get; init; } = 10_000_000;

    /// <summary>The largest unpacked-to-packed ratio.</summary>
    public int UnpackMaxRatio { get; init; } = 200;

    /// <summary>The upstream servers a request for an image the store lacks is passed to, in order; empty = no pull-through.</summary>
    public IReadOnlyList<RemoteSource> Upstreams { get; init; } = [];

    /// <summary>How long the upstreams' image lists shown in the SimpleStreams index are reused.</summary>
    public TimeSpan UpstreamCatalogTtl { get; init; } = TimeSpan.FromMinutes(10);

    /// <summary>The unpacker's decompression-bomb limits for these options.</summary>
    public UnpackLimits ToUnpackLimits() => new UnpackLimits() with
    {
        MaxTotalBytes = UnpackMaxSize,
        MaxEntries = UnpackMaxEntries,
        MaxCompressionRatio = UnpackMaxRatio,
    };

    /// <summary>How remotes are reached with these options (system CAs; a source's own pinned certificate is added per source).</summary>
    public RemoteConnection ToRemoteConnection() => new() { MaxConnectionsPerServer = MaxConnectionsPerServer, OpenSslDownloads = OpenSslDownloads };

    /// <summary>How remote files are downloaded with these options: as many at once as there are download workers, cut off when stalled.</summary>
    public DownloadOptions ToDownloadOptions() => new()
    {
        MaxParallelDownloads = DownloadWorkers,
        StallTimeout = DownloadStallTimeout,
        MaxRetryWait = DownloadMaxRetryWait,
        LookupTimeout = RemoteLookupTimeout,
        PartialDownloadTtl = PartialDownloadTtl,
    };

    /// <summary>Reads and checks the keys; absent keys take their defaults.</summary>
    /// <exception cref="ConfigurationException">A value is invalid (the message names key, file and line).</exception>
    public static ImagesOptions Bind(HoconConfig config) => new()
    {
        RemoteCacheExpiry = config.GetDuration(Keys.RemoteCacheExpiry),
        AutoUpdateInterval = config.GetDuration(Keys.AutoUpdateInterval),
        AutoUpdateCached = config.GetBoolean(Keys.AutoUpdateCached),
        DefaultArchitecture = Streaming.Architecture.Canonicalize(config.GetString(Keys.DefaultArchitecture)),
        CacheMaxSize = config.GetNullableSize(Keys.CacheMaxSize),
        Replicas = config.GetInt(Keys.Replicas),
        DownloadWorkers = config.GetInt(Keys.DownloadWorkers),
        DownloadStallTimeout = config.GetDuration(Keys.DownloadStallTimeout),
        DownloadMaxRetryWait = config.GetDuration(Keys.DownloadMaxRetryWait),
        RemoteLookupTimeout = config.GetDuration(Keys.RemoteLookupTimeout),
        PartialDownloadTtl = config.GetDuration(Keys.PartialDownloadTtl),
        MaxConnectionsPerServer = config.GetInt(Keys.MaxConnectionsPerServer),
        OpenSslDownloads = config.GetBoolean(Keys.OpenSslDownloads),
        UnpackWorkers = config.GetInt(Keys.UnpackWorkers),
        UnpackMaxSize = config.GetSize(Keys.UnpackMaxSize),
        UnpackMaxEntries = config.GetLong(Keys.UnpackMaxEntries),
        UnpackMaxRatio = config.GetInt(Keys.UnpackMaxRatio),
        Upstreams = BindUpstreams(config),
        UpstreamCatalogTtl = config.GetDuration(Keys.UpstreamCatalogTtl),
        EvictionInterval = config.GetDuration(Keys.EvictionInterval),
        LastUsedInterval = config.GetDuration(Keys.LastUsedInterval),
    };

    /// <summary>
    /// Reads one <c>images.upstreams</c> entry: <c>protocol:url</c> or a bare URL (Incus protocol).
    /// </summary>
    /// <returns>The problem, or null when <paramref name="source"/> is set.</returns>
    public static string? TryParseUpstream(string text, out RemoteSource? source)
    {
        ArgumentNullException.ThrowIfNull(text);
        source = null;
        var protocol = "incus";
        var url = text.Trim();
        var colon = url.IndexOf(':', StringComparison.Ordinal);
        if (colon > 0 && UpstreamProtocols.Contains(url[..colon], StringComparer.Ordinal))
        {
            protocol = url[..colon];
            url = url[(colon + 1)..];
        }
        else if (colon > 0 && !url.StartsWith("http", StringComparison.OrdinalIgnoreCase))
        {
            return $"'{url[..colon]}' is not one of {string.Join(", ", UpstreamProtocols)}";
        }

        if (!Uri.TryCreate(url, UriKind.Absolute, out var uri) || (uri.Scheme != Uri.UriSchemeHttp && uri.Scheme != Uri.UriSchemeHttps))
        {
            return $"'{url}' is not an http(s) URL";
        }

        source = new RemoteSource(uri, protocol);
        return null;
    }

    private static IReadOnlyList<RemoteSource> BindUpstreams(HoconConfig config)
    {
        if (config.GetValue(Keys.Upstreams.Path) is not HoconArray entries || entries.Items.Count == 0)
        {
            // The same empty list as the default, so that options bound from defaults equal new ImagesOptions().
            config.GetStringList(Keys.Upstreams);
            return [];
        }

        var upstreams = new List<RemoteSource>(entries.Items.Count);
        for (var i = 0; i < entries.Items.Count; i++)
        {
            var entry = entries.Items[i];
            if (TryBindUpstream(entry, out var source) is { } problem)
            {
                throw new ConfigurationException(new ConfigurationError(Keys.Upstreams.Path, entry.Origin, $"element {i + 1}: {problem}"));
            }

            upstreams.Add(source!);
        }

        return upstreams;
    }

    // One entry: "protocol:url", or { url, protocol, certificate } where certificate names a PEM file (relative to the
    // file that says so) holding the upstream's own certificate, which is then the only one accepted from it.
    private static string? TryBindUpstream(HoconValue entry, out RemoteSource? source)
    {
        source = null;
        if (CheckUpstreamShape(entry) is { } shape)
        {
            return shape;
        }

        if (entry is HoconScalar { Text: { } text })
        {
            return TryParseUpstream(text, out source);
        }

        var fields = (HoconObject)entry;
        var url = Field(fields, "url")!;
        var protocol = Field(fields, "protocol");
        if (TryParseUpstream(protocol is null ? url : protocol + ":" + url, out var parsed) is { } problem)
        {
            return problem;
        }

        if (Field(fields, "certificate") is not { } certificate)
        {
            source = parsed;
            return null;
        }

        fields.TryGetValue("certificate", out var certificateValue);
        var path = certificateValue!.Origin.Kind == ConfigOriginKind.File && !Path.IsPathRooted(certificate)
            ? Path.Combine(Path.GetDirectoryName(Path.GetFullPath(certificateValue.Origin.Source)) ?? string.Empty, certificate)
            : certificate;
        string pem;
        try
        {
            pem = File.ReadAllText(path);
            using var parsedCertificate = System.Security.Cryptography.X509Certificates.X509Certificate2.CreateFromPem(pem);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return $"certificate '{path}' cannot be read: {e.Message}";
        }
        catch (System.Security.Cryptography.CryptographicException)
        {
            return $"certificate '{path}' is not a PEM certificate";
        }

        source = parsed! with { Certificate = pem };
        return null;
    }

    private static string? CheckUpstreamShape(HoconValue entry)
    {
        switch (entry)
        {
            case HoconScalar { Text: { } text }:
                return TryParseUpstream(text, out _);
            case HoconObject fields:
                if (fields.Keys.FirstOrDefault(k => k is not ("url" or "protocol" or "certificate")) is { } unknown)
                {
                    return $"unknown field '{unknown}' (expected url, protocol, certificate)";
                }

                if (fields.Keys.FirstOrDefault(k => !fields.TryGetValue(k, out var v) || v is not HoconScalar { IsNull: false }) is { } notText)
                {
                    return $"field '{notText}' must be a string";
                }

                if (Field(fields, "url") is not { Length: > 0 } url)
                {
                    return "an upstream object needs a url";
                }

                if (Field(fields, "protocol") is { } protocol && !UpstreamProtocols.Contains(protocol, StringComparer.Ordinal))
                {
                    return $"protocol '{protocol}' is not one of {string.Join(", ", UpstreamProtocols)}";
                }

                return Uri.TryCreate(url, UriKind.Absolute, out var uri) && (uri.Scheme == Uri.UriSchemeHttp || uri.Scheme == Uri.UriSchemeHttps)
                    ? null
                    : $"'{url}' is not an http(s) URL";
            default:
                return "expected \"[protocol:]url\" or { url, protocol, certificate }";
        }
    }

    private static string? Field(HoconObject fields, string name) =>
        fields.TryGetValue(name, out var value) && value is HoconScalar { Text: { } text } ? text : null;
}
