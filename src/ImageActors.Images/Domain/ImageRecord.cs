using System.Collections.Immutable;
using ImageActors.Streaming;

namespace ImageActors.Images.Domain;

/// <summary>Whether an image boots as a system container or as a virtual machine (Incus' <c>type</c>).</summary>
public enum ImageType
{
    /// <summary><c>container</c>: a rootfs (tarball or squashfs).</summary>
    Container,

    /// <summary><c>virtual-machine</c>: a disk image (<c>rootfs.img</c>, qcow2).</summary>
    VirtualMachine,
}

/// <summary>Incus' wire names for <see cref="ImageType"/>.</summary>
public static class ImageTypes
{
    /// <summary>The API name: <c>container</c> or <c>virtual-machine</c>.</summary>
    public static string ToApiName(this ImageType type) => type == ImageType.VirtualMachine ? "virtual-machine" : "container";

    /// <summary>Parses an API name; empty or missing means container, as Incus clients assume for old servers.</summary>
    public static ImageType Parse(string? name) => name switch
    {
        null or "" or "container" => ImageType.Container,
        "virtual-machine" => ImageType.VirtualMachine,
        _ => throw new ArgumentException($"Unknown image type \"{name}\"", nameof(name)),
    };
}

/// <summary>The protocol an image was obtained with (Incus' <c>images_source.protocol</c>).</summary>
public enum SourceProtocol
{
    /// <summary>Another Incus or LXD server's REST API.</summary>
    Incus,

    /// <summary>A plain URL serving <c>Incus-Image-URL</c> / <c>Incus-Image-Hash</c> headers.</summary>
    Direct,

    /// <summary>A SimpleStreams tree.</summary>
    SimpleStreams,

    /// <summary>An OCI registry.</summary>
    Oci,
}

/// <summary>Where an image came from, so auto-update can ask the same server for a newer one.</summary>
/// <param name="Server">The server URL.</param>
/// <param name="Protocol">The protocol spoken to it.</param>
/// <param name="Alias">The alias the image was asked for by (only images obtained by alias can update).</param>
/// <param name="Certificate">The server's PEM certificate, or empty for a CA-signed one.</param>
/// <param name="ImageType">The type asked for.</param>
public sealed record UpdateSource(string Server, SourceProtocol Protocol, string Alias, string Certificate, ImageType ImageType);

/// <summary>An alias as it appears inside an image record (<c>{"name":…,"description":…}</c>).</summary>
/// <param name="Name">The alias name.</param>
/// <param name="Description">Free text.</param>
public sealed record ImageAliasRef(AliasName Name, string Description);

/// <summary>
/// One image in one project, with every field Incus exposes in <c>GET /1.0/images/&lt;fp&gt;</c>.
/// Times are UTC; <see cref="DateTimeOffset.MinValue"/> is Incus' zero time ("never").
/// </summary>
public sealed record ImageRecord
{
    private readonly ImmutableArray<AliasName> _cacheAliases = [];

    /// <summary>The SHA-256 identity.</summary>
    public required Fingerprint Fingerprint { get; init; }

    /// <summary>The project holding this record.</summary>
    public ProjectName Project { get; init; } = ProjectName.Default;

    /// <summary>The file name to offer on export (e.g. <c>debian-12.tar.xz</c>).</summary>
    public string Filename { get; init; } = string.Empty;

    /// <summary>Bytes of the unified file, or metadata + rootfs of a split image.</summary>
    public long Size { get; init; }

    /// <summary>Canonical architecture name (<c>x86_64</c>, <c>aarch64</c>, …).</summary>
    public string Architecture { get; init; } = string.Empty;

    /// <summary>Container or virtual machine.</summary>
    public ImageType Type { get; init; }

    /// <summary>Whether untrusted clients may see and download it.</summary>
    public bool Public { get; init; }

    /// <summary>Whether it was downloaded implicitly (instance creation) and so may expire.</summary>
    public bool Cached { get; init; }

    /// <summary>Whether the auto-update cycle refreshes it from <see cref="UpdateSource"/>.</summary>
    public bool AutoUpdate { get; init; }

    /// <summary>Aliases pointing at it in the same project, sorted by name.</summary>
    public ImmutableArray<ImageAliasRef> Aliases { get; init; } = [];

    /// <summary>Free-form properties (<c>os</c>, <c>release</c>, <c>requirements.*</c>, …).</summary>
    public ImmutableSortedDictionary<string, string> Properties { get; init; } = ImmutableSortedDictionary<string, string>.Empty;

    /// <summary>Profiles applied to instances created from it.</summary>
    public ImmutableArray<string> Profiles { get; init; } = ["default"];

    /// <summary>When the image was built (metadata <c>creation_date</c>).</summary>
    public DateTimeOffset CreatedAt { get; init; }

    /// <summary>When it stops being supported; zero time when never. Enforced by eviction.</summary>
    public DateTimeOffset ExpiresAt { get; init; }

    /// <summary>When an instance was last created from it; zero time when never.</summary>
    public DateTimeOffset LastUsedAt { get; init; }

    /// <summary>When this server stored it.</summary>
    public DateTimeOffset UploadedAt { get; init; }

    /// <summary>Where it came from, or null when imported from a file.</summary>
    public UpdateSource? UpdateSource { get; init; }

    /// <summary>Whether it is a split image (metadata tarball + rootfs) rather than one unified tarball.</summary>
    public bool Split { get; init; }

    /// <summary>
    /// Local aliases the cache created because it fetched this image for the upstream alias of the same name, besides
    /// <see cref="UpdateSource"/>'s: like that one, they follow the image and do not keep it. Sorted by name.
    /// </summary>
    public ImmutableArray<AliasName> CacheAliases
    {
        // A record written before this field existed reads as none.
        get => _cacheAliases.IsDefault ? [] : _cacheAliases;
        init => _cacheAliases = value;
    }

    /// <summary>Whether <see cref="ExpiresAt"/> is set.</summary>
    public bool HasExpiry => ExpiresAt > DateTimeOffset.MinValue;

    /// <summary>Whether it was ever used.</summary>
    public bool WasUsed => LastUsedAt > DateTimeOffset.MinValue;

    /// <summary>This record with <paramref name="alias"/> among its <see cref="CacheAliases"/>.</summary>
    public ImageRecord WithCacheAlias(AliasName alias) =>
        CacheAliases.Contains(alias) ? this : this with { CacheAliases = [.. CacheAliases.Append(alias).Order()] };

    /// <inheritdoc />
    public bool Equals(ImageRecord? other) =>
        other is not null &&
        Fingerprint == other.Fingerprint && Project == other.Project && Filename == other.Filename && Size == other.Size &&
        Architecture == other.Architecture && Type == other.Type && Public == other.Public && Cached == other.Cached &&
        AutoUpdate == other.AutoUpdate && Aliases.SequenceEqual(other.Aliases) &&
        Properties.Count == other.Properties.Count && Properties.All(p => other.Properties.TryGetValue(p.Key, out var v) && v == p.Value) &&
        Profiles.SequenceEqual(other.Profiles) && CreatedAt == other.CreatedAt && ExpiresAt == other.ExpiresAt &&
        LastUsedAt == other.LastUsedAt && UploadedAt == other.UploadedAt && UpdateSource == other.UpdateSource && Split == other.Split &&
        CacheAliases.SequenceEqual(other.CacheAliases);

    /// <inheritdoc />
    public override int GetHashCode() => HashCode.Combine(Fingerprint, Project);
}

/// <summary>An alias entry as Incus lists it (<c>ImageAliasesEntry</c>).</summary>
/// <param name="Project">The project it lives in.</param>
/// <param name="Name">Its name.</param>
/// <param name="Target">The image it points at.</param>
/// <param name="Description">Free text.</param>
/// <param name="Type">The target's type.</param>
public sealed record AliasRecord(ProjectName Project, AliasName Name, Fingerprint Target, string Description, ImageType Type);
