using System.Collections.Immutable;
using ImageActors.Images.Domain;
using ImageActors.Streaming;

namespace ImageActors.Images.Events;

/// <summary>An event of one image's history (persistence id = project + fingerprint).</summary>
public interface IImageEvent
{
    /// <summary>The project of the image.</summary>
    ProjectName Project { get; }

    /// <summary>The image.</summary>
    Fingerprint Fingerprint { get; }
}

/// <summary>An event of one alias' history (persistence id = project + alias name).</summary>
public interface IAliasEvent
{
    /// <summary>The project of the alias.</summary>
    ProjectName Project { get; }

    /// <summary>The alias.</summary>
    AliasName Name { get; }
}

/// <summary>
/// An import or download began; its files live under the temp folder until <see cref="ImageStored"/>.
/// Recovering an actor whose last event is this one means the process died mid-import: the temp
/// file is garbage and the image does not exist.
/// </summary>
public sealed record ImageDownloadStarted(ProjectName Project, Fingerprint Fingerprint, DateTimeOffset StartedAt, UpdateSource? Source) : IImageEvent;

/// <summary>An import or download failed or was interrupted; nothing was stored.</summary>
public sealed record ImageDownloadAbandoned(ProjectName Project, Fingerprint Fingerprint, string Reason) : IImageEvent;

/// <summary>The image's files were committed under their final names: the image exists.</summary>
/// <param name="Image">The full record (its <see cref="ImageRecord.Aliases"/> are empty: aliases have their own history).</param>
public sealed record ImageStored(ImageRecord Image) : IImageEvent
{
    /// <inheritdoc />
    public ProjectName Project => Image.Project;

    /// <inheritdoc />
    public Fingerprint Fingerprint => Image.Fingerprint;
}

/// <summary>An instance was created from the image (Incus bumps <c>last_used_at</c>).</summary>
public sealed record ImageUsed(ProjectName Project, Fingerprint Fingerprint, DateTimeOffset At) : IImageEvent;

/// <summary>The writable set (Incus' <c>ImagePut</c>) was replaced; PATCH is resolved into a full set before persisting.</summary>
public sealed record ImageUpdated(
    ProjectName Project,
    Fingerprint Fingerprint,
    bool Public,
    bool AutoUpdate,
    ImmutableSortedDictionary<string, string> Properties,
    DateTimeOffset ExpiresAt,
    ImmutableArray<string> Profiles) : IImageEvent;

/// <summary>The cached flag or the last-use time changed because an update replaced an older image.</summary>
public sealed record ImageCacheStateChanged(ProjectName Project, Fingerprint Fingerprint, bool Cached, DateTimeOffset LastUsedAt) : IImageEvent;

/// <summary>
/// The cache fetched the image for the upstream alias <paramref name="Alias"/> and names it by that alias locally: the
/// local alias follows the image and does not keep it (<see cref="ImageRecord.CacheAliases"/>). Written when the
/// image's record does not name that alias already, e.g. it was first fetched by fingerprint.
/// </summary>
public sealed record ImageCacheAliasRecorded(ProjectName Project, Fingerprint Fingerprint, AliasName Alias) : IImageEvent;

/// <summary>The image was deleted (by a user, expiry or eviction); its files are removed after this.</summary>
public sealed record ImageDeleted(ProjectName Project, Fingerprint Fingerprint, DateTimeOffset At, string Reason) : IImageEvent;

/// <summary>An alias was created.</summary>
public sealed record AliasCreated(ProjectName Project, AliasName Name, Fingerprint Target, string Description, ImageType Type) : IAliasEvent;

/// <summary>An alias now points at another image, or its description changed.</summary>
public sealed record AliasRetargeted(ProjectName Project, AliasName Name, Fingerprint Target, string Description, ImageType Type) : IAliasEvent;

/// <summary>
/// An alias was renamed: this name is gone and <paramref name="NewName"/> holds the same target.
/// The new name's own history starts with an <see cref="AliasCreated"/>.
/// </summary>
public sealed record AliasRenamed(ProjectName Project, AliasName Name, AliasName NewName, Fingerprint Target, string Description, ImageType Type) : IAliasEvent;

/// <summary>An alias was deleted (by a user, or because its image was deleted).</summary>
public sealed record AliasDeleted(ProjectName Project, AliasName Name) : IAliasEvent;

/// <summary>Journal tags and persistence ids of the image domain.</summary>
public static class ImageJournal
{
    /// <summary>Every image and alias event carries this tag, so one query feeds the read model in global order.</summary>
    public const string CatalogTag = "image-catalog";

    /// <summary>The tags every image and alias event is written with.</summary>
    public static IReadOnlyList<string> CatalogTags { get; } = [CatalogTag];

    /// <summary>Persistence id of an image actor.</summary>
    public static string ImagePersistenceId(ProjectName project, Fingerprint fingerprint) => $"image|{project.Value}|{fingerprint}";

    /// <summary>Persistence id of an alias actor.</summary>
    public static string AliasPersistenceId(ProjectName project, AliasName name) => $"alias|{project.Value}|{name.Value}";

    /// <summary>Persistence id of the read model's snapshots.</summary>
    public const string CatalogPersistenceId = "image-catalog";
}
