namespace ImageActors.Remotes.Download;

/// <summary>How the <see cref="ImageDownloader"/> behaves; one instance is shared by all remotes of a node.</summary>
public sealed record DownloadOptions
{
    /// <summary>Downloads running at once; further ones wait their turn.</summary>
    public int MaxParallelDownloads { get; init; } = 4;

    /// <summary>
    /// Attempts per file without progress before giving up. An attempt that received at least
    /// <see cref="MinAttemptProgress"/> bytes resets the count; one that received fewer counts as failed.
    /// </summary>
    public int MaxAttempts { get; init; } = 5;

    /// <summary>
    /// Bytes an attempt must receive to count as progress (and give the download <see cref="MaxAttempts"/> again): a
    /// server that sends a few bytes on each connection and then cuts it is given up on like one that sends nothing.
    /// </summary>
    public long MinAttemptProgress { get; init; } = 1 << 20;

    /// <summary>Delay before the first retry; doubled on each further retry.</summary>
    public TimeSpan InitialBackoff { get; init; } = TimeSpan.FromMilliseconds(500);

    /// <summary>Longest delay between retries.</summary>
    public TimeSpan MaxBackoff { get; init; } = TimeSpan.FromSeconds(30);

    /// <summary>Random extra delay as a fraction of the backoff, so many clients do not retry in step.</summary>
    public double BackoffJitter { get; init; } = 0.2;

    /// <summary>Bytes read from the network per chunk (a ring of four such buffers is in use per download).</summary>
    public int ChunkSize { get; init; } = 1 << 20;

    /// <summary>Longest wait for response headers (Incus allows 30 s).</summary>
    public TimeSpan ResponseHeaderTimeout { get; init; } = TimeSpan.FromSeconds(30);

    /// <summary>
    /// Longest time a download may receive nothing before its connection is given up and the transfer resumes on a new
    /// one (with <c>Range</c>): a server that goes silent without closing must not hold a download slot forever.
    /// <see cref="TimeSpan.Zero"/> waits for ever.
    /// </summary>
    public TimeSpan StallTimeout { get; init; } = TimeSpan.FromSeconds(60);

    /// <summary>
    /// Longest time a small request before a download (an Incus server's <c>/1.0</c>, alias and image lookups, a
    /// SimpleStreams index, a URL import's <c>HEAD</c>) may take, all its attempts and the waits between them together:
    /// a server that holds requests open without answering fails the lookup after this, in one line.
    /// <see cref="TimeSpan.Zero"/> bounds only each attempt (by the request timeout).
    /// </summary>
    public TimeSpan LookupTimeout { get; init; } = TimeSpan.FromSeconds(60);

    /// <summary>
    /// Longest wait before a retry that a server may ask for with <c>Retry-After</c> (on 503, 429, ...); a longer
    /// request is cut to this. Shorter requests are waited in full, or the backoff when that is longer.
    /// </summary>
    public TimeSpan MaxRetryWait { get; init; } = TimeSpan.FromMinutes(2);

    /// <summary>
    /// How long the bytes of a failed or cancelled download are kept (in <c>partial/</c> under its temp folder, keyed by
    /// the file's SHA-256) so that the next download of the same file resumes them when the source still has the same
    /// file (same <c>ETag</c>, <c>Last-Modified</c> and length). <see cref="TimeSpan.Zero"/> keeps nothing.
    /// </summary>
    public TimeSpan PartialDownloadTtl { get; init; } = TimeSpan.FromDays(1);

    /// <summary>Shortest time between two progress reports of one download.</summary>
    public TimeSpan ProgressInterval { get; init; } = TimeSpan.FromMilliseconds(500);

    /// <summary>Called before each retry, after the delay was chosen and before it is waited; for logs and metrics.</summary>
    public Func<DownloadRetry, ValueTask>? OnRetry { get; init; }
}

/// <summary>A retry about to happen.</summary>
/// <param name="Url">The URL that failed.</param>
/// <param name="Attempt">The number of the attempt that failed, from 1.</param>
/// <param name="BytesOnDisk">Bytes kept; the next attempt asks for the rest with <c>Range</c>.</param>
/// <param name="Delay">The wait before the next attempt.</param>
/// <param name="Error">What went wrong.</param>
public sealed record DownloadRetry(Uri Url, int Attempt, long BytesOnDisk, TimeSpan Delay, Exception Error);

/// <summary>
/// Settings one request may give its own download (<c>--set</c> through a running server); null keeps the node's.
/// A download that other requests join runs with the settings of the request that started it.
/// </summary>
public sealed record DownloadSettings
{
    /// <summary>Overrides <see cref="DownloadOptions.StallTimeout"/>.</summary>
    public TimeSpan? StallTimeout { get; init; }

    /// <summary>Overrides <see cref="DownloadOptions.MaxRetryWait"/>.</summary>
    public TimeSpan? MaxRetryWait { get; init; }
}
