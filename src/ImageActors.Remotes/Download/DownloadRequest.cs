namespace ImageActors.Remotes.Download;

/// <summary>One file to fetch into a temp file.</summary>
public sealed record DownloadRequest
{
    /// <summary>The client of the remote (with its TLS settings).</summary>
    public required HttpClient Client { get; init; }

    /// <summary>URLs of the same file, tried in order (SimpleStreams: plain http first, then https).</summary>
    public required IReadOnlyList<Uri> Sources { get; init; }

    /// <summary>Folder for the temp file (the blob store's <c>&lt;data&gt;/tmp</c>); the caller commits the file.</summary>
    public required string TempDirectory { get; init; }

    /// <summary>Announced size; a different size is an error.</summary>
    public long? ExpectedSize { get; init; }

    /// <summary>Announced SHA-256 in hex, or a prefix of it (Incus accepts fingerprint prefixes).</summary>
    public string? ExpectedSha256 { get; init; }

    /// <summary>
    /// A file whose bytes precede this one in a combined hash (the metadata file of a split image),
    /// so that <see cref="DownloadedFile.CombinedSha256"/> is sha256(prefix || this file).
    /// </summary>
    public string? CombinedHashPrefixFile { get; init; }

    /// <summary>Label for progress (<c>metadata</c>, <c>rootfs</c>) and temp file names.</summary>
    public string Label { get; init; } = "";

    /// <summary>Receives progress reports.</summary>
    public IProgress<DownloadProgress>? Progress { get; init; }

    /// <summary>Whether the server must name the file in <c>Content-Disposition</c> (Incus unified export).</summary>
    public bool RequireFileName { get; init; }

    /// <summary>Settings of this download that differ from the downloader's (per request); null keeps them all.</summary>
    public DownloadSettings? Settings { get; init; }

    /// <summary>A reply already received for the first source (the caller looked at its headers first).</summary>
    internal HttpResponseMessage? FirstResponse { get; init; }
}
