using System.Text.Json.Serialization;

namespace ImageActors.Remotes.SimpleStreams;

/// <summary>A products file (<c>streams/v1/images.json</c>).</summary>
public sealed record ProductsFile
{
    /// <summary>Content id, e.g. <c>images</c>.</summary>
    public string ContentId { get; set; } = "images";

    /// <summary>Always <c>image-downloads</c>.</summary>
    public string Datatype { get; set; } = "image-downloads";

    /// <summary>Always <c>products:1.0</c>.</summary>
    public string Format { get; set; } = "products:1.0";

    /// <summary>When the file was written.</summary>
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public string? Updated { get; init; }

    /// <summary>Products by key (e.g. <c>debian:bookworm:amd64:default</c>).</summary>
    public IReadOnlyDictionary<string, Product> Products { get; set; } = new Dictionary<string, Product>();
}

/// <summary>One product: an OS release, variant and architecture, with its versions.</summary>
public sealed record Product
{
    /// <summary>Comma-separated alias names.</summary>
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public string? Aliases { get; init; }

    /// <summary>Raw architecture name as the distribution spells it (<c>amd64</c>, <c>arm64</c>, ...).</summary>
    [JsonPropertyName("arch")]
    public string Architecture { get; set; } = "";

    /// <summary>Operating system name.</summary>
    [JsonPropertyName("os")]
    public string OperatingSystem { get; set; } = "";

    /// <summary>Release name.</summary>
    public string Release { get; set; } = "";

    /// <summary>Release codename.</summary>
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public string? ReleaseCodename { get; init; }

    /// <summary>Release title used in descriptions.</summary>
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public string? ReleaseTitle { get; init; }

    /// <summary>Whether the release is supported.</summary>
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public bool? Supported { get; init; }

    /// <summary>End of support, <c>YYYY-MM-DD</c>; becomes <c>expires_at</c>.</summary>
    [JsonPropertyName("support_eol")]
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public string? SupportEol { get; init; }

    /// <summary>Release version (e.g. <c>24.04</c>).</summary>
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public string? Version { get; init; }

    /// <summary>Variant (<c>default</c>, <c>cloud</c>, ...).</summary>
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public string? Variant { get; init; }

    /// <summary>Requirements as Incus reads them (<c>requirements</c>).</summary>
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public IReadOnlyDictionary<string, string>? Requirements { get; init; }

    /// <summary>Requirements as LXD reads them (<c>lxd_requirements</c>, read first by newer LXD).</summary>
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public IReadOnlyDictionary<string, string>? LxdRequirements { get; init; }

    /// <summary>Versions by serial (<c>YYYYMMDD_hh:mm</c>, <c>YYYYMMDDhhmm</c>, ...).</summary>
    public IReadOnlyDictionary<string, ProductVersion> Versions { get; set; } = new Dictionary<string, ProductVersion>();
}

/// <summary>One version (build) of a product.</summary>
public sealed record ProductVersion
{
    /// <summary>Files by free-form key; only each item's <c>ftype</c> matters.</summary>
    public IReadOnlyDictionary<string, ProductVersionItem> Items { get; set; } = new Dictionary<string, ProductVersionItem>();

    /// <summary>Label (e.g. <c>release</c>), shown in descriptions.</summary>
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public string? Label { get; init; }

    /// <summary>Publication name.</summary>
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public string? Pubname { get; init; }
}

/// <summary>One file of a version, with its hash and, on a metadata item, the combined fingerprints.</summary>
public sealed record ProductVersionItem
{
    /// <summary>File type: <c>incus.tar.xz</c>, <c>lxd.tar.xz</c>, <c>squashfs</c>, <c>root.tar.xz</c>, <c>disk-kvm.img</c>, ...</summary>
    [JsonPropertyName("ftype")]
    public string FileType { get; set; } = "";

    /// <summary>Path relative to the server root.</summary>
    public string Path { get; set; } = "";

    /// <summary>SHA-256 of the file (hex).</summary>
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public string? Sha256 { get; init; }

    /// <summary>Size in bytes.</summary>
    public long Size { get; init; }

    /// <summary>MD5 of the file (hex), informational.</summary>
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public string? Md5 { get; init; }

    /// <summary>For a delta: the version it applies to.</summary>
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public string? DeltaBase { get; init; }

    /// <summary>Legacy combined fingerprint (metadata + root tarball).</summary>
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public string? CombinedSha256 { get; init; }

    /// <summary>Fingerprint of metadata + <c>root.tar.xz</c>.</summary>
    [JsonPropertyName("combined_rootxz_sha256")]
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public string? CombinedRootXzSha256 { get; init; }

    /// <summary>Fingerprint of metadata + <c>squashfs</c>.</summary>
    [JsonPropertyName("combined_squashfs_sha256")]
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public string? CombinedSquashfsSha256 { get; init; }

    /// <summary>Fingerprint of metadata + <c>disk-kvm.img</c>.</summary>
    [JsonPropertyName("combined_disk-kvm-img_sha256")]
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public string? CombinedDiskKvmImgSha256 { get; init; }

    /// <summary>Fingerprint of metadata + <c>disk1.img</c>.</summary>
    [JsonPropertyName("combined_disk1-img_sha256")]
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public string? CombinedDisk1ImgSha256 { get; init; }

    /// <summary>Fingerprint of metadata + <c>uefi1.img</c>.</summary>
    [JsonPropertyName("combined_uefi1-img_sha256")]
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public string? CombinedUefi1ImgSha256 { get; init; }

    /// <summary>Image type of a unified item (Incus only): <c>container</c> or <c>virtual-machine</c>.</summary>
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public string? CombinedType { get; init; }
}

/// <summary>Item <c>ftype</c> values.</summary>
public static class FileTypes
{
    /// <summary>Incus metadata tarball.</summary>
    public const string IncusMetadata = "incus.tar.xz";

    /// <summary>LXD metadata tarball (same file).</summary>
    public const string LxdMetadata = "lxd.tar.xz";

    /// <summary>Incus unified tarball.</summary>
    public const string IncusCombined = "incus_combined.tar.gz";

    /// <summary>LXD unified tarball (same file).</summary>
    public const string LxdCombined = "lxd_combined.tar.gz";

    /// <summary>Container rootfs as squashfs.</summary>
    public const string Squashfs = "squashfs";

    /// <summary>Container rootfs as an xz tarball.</summary>
    public const string RootTarXz = "root.tar.xz";

    /// <summary>VM disk (qcow2).</summary>
    public const string DiskKvmImg = "disk-kvm.img";

    /// <summary>Legacy VM disk.</summary>
    public const string Disk1Img = "disk1.img";

    /// <summary>Legacy UEFI VM disk.</summary>
    public const string Uefi1Img = "uefi1.img";

    /// <summary>A squashfs delta against an older version.</summary>
    public const string SquashfsDelta = "squashfs.vcdiff";
}
