using System.Text.Json.Serialization;

namespace ImageActors.Remotes.Incus;

/// <summary>The JSON forms of <c>POST /1.0/images</c>: copy from a remote, import from a URL, push, publish.</summary>
public sealed record ImagesPost
{
    /// <summary>Whether the new image refreshes itself from its source.</summary>
    public bool AutoUpdate { get; init; }

    /// <summary>Properties merged over the downloaded ones.</summary>
    public IReadOnlyDictionary<string, string>? Properties { get; init; }

    /// <summary>Whether untrusted clients can see the image.</summary>
    public bool Public { get; init; }

    /// <summary>Expiry of the new image.</summary>
    public DateTimeOffset ExpiresAt { get; init; }

    /// <summary>Profiles; <c>null</c> means <c>["default"]</c>.</summary>
    public IReadOnlyList<string>? Profiles { get; init; }

    /// <summary>Stored file name.</summary>
    public string Filename { get; init; } = "";

    /// <summary>Where the image comes from.</summary>
    public ImagesPostSource? Source { get; init; }

    /// <summary>Compressor for publish (<c>xz</c>, <c>zstd</c>, <c>none</c>, ...).</summary>
    public string CompressionAlgorithm { get; init; } = "";

    /// <summary>Publish format: <c>unified</c> or <c>split</c>.</summary>
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public string? Format { get; init; }

    /// <summary>Aliases to create for the new image.</summary>
    public IReadOnlyList<ImageAlias>? Aliases { get; init; }
}

/// <summary>The <c>source</c> of <see cref="ImagesPost"/>.</summary>
public sealed record ImagesPostSource
{
    /// <summary><c>image</c>, <c>url</c>, <c>instance</c>, <c>container</c>, <c>virtual-machine</c> or <c>snapshot</c>.</summary>
    public string Type { get; init; } = "";

    /// <summary><c>pull</c> or <c>push</c>.</summary>
    public string Mode { get; init; } = "";

    /// <summary>URL of the source server.</summary>
    public string Server { get; init; } = "";

    /// <summary><c>incus</c>, <c>lxd</c>, <c>simplestreams</c>, <c>oci</c> or <c>direct</c>.</summary>
    public string Protocol { get; init; } = "";

    /// <summary>Alias at the source (used when <see cref="Fingerprint"/> is empty).</summary>
    public string Alias { get; init; } = "";

    /// <summary>Fingerprint, prefix or (as the CLI sends for public images) alias name at the source.</summary>
    public string Fingerprint { get; init; } = "";

    /// <summary>PEM of the source server's certificate when not CA-signed.</summary>
    public string Certificate { get; init; } = "";

    /// <summary>Secret for a private image at the source, or the push token.</summary>
    public string Secret { get; init; } = "";

    /// <summary><c>container</c>, <c>virtual-machine</c> or empty.</summary>
    public string ImageType { get; init; } = "";

    /// <summary>URL for <c>type: url</c> imports.</summary>
    public string Url { get; init; } = "";

    /// <summary>Instance or snapshot name for publish.</summary>
    public string Name { get; init; } = "";

    /// <summary>Project at the source.</summary>
    public string Project { get; init; } = "";
}

/// <summary><c>POST /1.0/images/&lt;fp&gt;/export</c>: push the image to another server.</summary>
public sealed record ImageExportPost
{
    /// <summary>URL of the target server.</summary>
    public string Target { get; init; } = "";

    /// <summary>Push token obtained from the target.</summary>
    public string Secret { get; init; } = "";

    /// <summary>PEM of the target's certificate.</summary>
    public string Certificate { get; init; } = "";

    /// <summary>Aliases to create on the target.</summary>
    public IReadOnlyList<ImageAlias>? Aliases { get; init; }

    /// <summary>Project on the target.</summary>
    public string Project { get; init; } = "";

    /// <summary>Profiles on the target.</summary>
    public IReadOnlyList<string>? Profiles { get; init; }
}
