using System.Text.Json.Serialization;

namespace ImageActors.Remotes.Incus;

/// <summary>The image object of the Incus REST API (<c>GET /1.0/images/&lt;fp&gt;</c>).</summary>
public sealed record Image
{
    /// <summary>Whether the image refreshes itself from <see cref="UpdateSource"/>.</summary>
    public bool AutoUpdate { get; init; }

    /// <summary>Image properties (<c>os</c>, <c>release</c>, <c>description</c>, ...).</summary>
    public IReadOnlyDictionary<string, string> Properties { get; init; } = new Dictionary<string, string>();

    /// <summary>Whether untrusted clients can see the image.</summary>
    public bool Public { get; init; }

    /// <summary>When the image stops being supported; the zero time when unset.</summary>
    public DateTimeOffset ExpiresAt { get; init; }

    /// <summary>Profiles applied to instances created from the image.</summary>
    public IReadOnlyList<string> Profiles { get; init; } = ["default"];

    /// <summary>Aliases pointing at the image.</summary>
    public IReadOnlyList<ImageAlias> Aliases { get; init; } = [];

    /// <summary>Canonical architecture name (<c>x86_64</c>, <c>aarch64</c>, ...).</summary>
    public string Architecture { get; init; } = "";

    /// <summary>Whether the image was cached by an instance creation.</summary>
    public bool Cached { get; init; }

    /// <summary>File name of the image (unified file, or the rootfs of a split image).</summary>
    public string Filename { get; init; } = "";

    /// <summary>The 64 lowercase hex digits of the fingerprint.</summary>
    public string Fingerprint { get; init; } = "";

    /// <summary>Size in bytes (metadata + rootfs for split images).</summary>
    public long Size { get; init; }

    /// <summary>Where the image came from, omitted when unknown.</summary>
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public ImageSource? UpdateSource { get; init; }

    /// <summary><c>container</c> or <c>virtual-machine</c>; clients treat empty as container.</summary>
    public string Type { get; init; } = ImageTypes.Container;

    /// <summary>When the image was built.</summary>
    public DateTimeOffset CreatedAt { get; init; }

    /// <summary>When an instance last used the image; the zero time when never.</summary>
    public DateTimeOffset LastUsedAt { get; init; }

    /// <summary>When the image arrived on this server.</summary>
    public DateTimeOffset UploadedAt { get; init; }

    /// <summary>The project of the image.</summary>
    public string Project { get; init; } = "default";

    /// <summary>Cluster members holding the image.</summary>
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public IReadOnlyList<string>? Locations { get; init; }

    /// <summary>
    /// This server's cache rules applied to the image (an ImageActors extension under its own name: Incus and LXD
    /// clients ignore fields they do not know); omitted by servers without cache rules.
    /// </summary>
    [JsonPropertyName("imageactors_retention")]
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public ImageRetentionInfo? Retention { get; init; }
}

/// <summary>Why an ImageActors server keeps an image, or when its cache rules would remove it.</summary>
public sealed record ImageRetentionInfo
{
    /// <summary>Whether the image was fetched on a client's behalf (the cache rules apply); an image imported by hand is never removed by them.</summary>
    public bool Cached { get; init; }

    /// <summary>The last recorded use (export, file served); omitted when never used.</summary>
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public DateTimeOffset? LastUsedAt { get; init; }

    /// <summary>When the expiry rules remove the image unless it is used again or pinned; omitted when they never do.</summary>
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public DateTimeOffset? RemovableAfter { get; init; }

    /// <summary>The rule behind <see cref="RemovableAfter"/>: <c>unused for …</c> or <c>expires_at</c>.</summary>
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public string? RemovableBecause { get; init; }

    /// <summary>Users' aliases that keep the image.</summary>
    public IReadOnlyList<string> PinnedBy { get; init; } = [];

    /// <summary>Aliases the server created when it fetched the image by that name: they go with it and keep nothing.</summary>
    public IReadOnlyList<string> FollowsImage { get; init; } = [];

    /// <summary>Whether <c>images.cache_max_size</c> may evict the image, least recently used first.</summary>
    public bool SizeBounded { get; init; }
}

/// <summary>An alias as listed on an image: <c>{"name":"debian/12","description":""}</c>.</summary>
public sealed record ImageAlias
{
    /// <summary>The alias name; may contain <c>/</c>.</summary>
    public string Name { get; init; } = "";

    /// <summary>Free-form description.</summary>
    public string Description { get; init; } = "";
}

/// <summary>The recorded source of an image (<c>update_source</c>), used by auto-update.</summary>
public sealed record ImageSource
{
    /// <summary>Alias the image was obtained through.</summary>
    public string Alias { get; init; } = "";

    /// <summary>PEM of the source server's certificate when not CA-signed.</summary>
    public string Certificate { get; init; } = "";

    /// <summary><c>incus</c>, <c>lxd</c>, <c>simplestreams</c>, <c>direct</c> or <c>oci</c>.</summary>
    public string Protocol { get; init; } = "";

    /// <summary>URL of the source server.</summary>
    public string Server { get; init; } = "";

    /// <summary><c>container</c> or <c>virtual-machine</c>.</summary>
    public string ImageType { get; init; } = "";
}

/// <summary>Values of the image <c>type</c> field.</summary>
public static class ImageTypes
{
    /// <summary>A system container image.</summary>
    public const string Container = "container";

    /// <summary>A virtual-machine image.</summary>
    public const string VirtualMachine = "virtual-machine";
}
