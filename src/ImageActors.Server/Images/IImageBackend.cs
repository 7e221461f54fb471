using ImageActors.Images.Caching;
using ImageActors.Images.Domain;
using ImageActors.Images.Filtering;
using ImageActors.Images.Remote;
using ImageActors.Streaming;

namespace ImageActors.Server.Images;

/// <summary>
/// What the HTTP layer asks of the image store: reads from the read model, the files of an image,
/// and the writes. The server translates HTTP into these calls and nothing more; the embedded
/// <c>ImageStore</c> is adapted onto it.
/// </summary>
public interface IImageBackend
{
    /// <summary>The image with this exact fingerprint in the project, or null.</summary>
    ImageRecord? Find(ProjectName project, Fingerprint fingerprint);

    /// <summary>The image whose fingerprint starts with <paramref name="prefix"/>.</summary>
    /// <exception cref="ImageNotFoundException">No image matches.</exception>
    /// <exception cref="AmbiguousFingerprintException">More than one image matches.</exception>
    ImageRecord GetByPrefix(ProjectName project, string prefix);

    /// <summary>The project's images, optionally filtered (Incus <c>filter=</c> expressions).</summary>
    IReadOnlyList<ImageRecord> List(ProjectName project, ImageFilter? filter);

    /// <summary>
    /// An identity of what <see cref="List"/> answers now, compared by reference: while it stays the same object,
    /// a list made after reading it is still current. Null when the backend cannot tell (then nothing is cached).
    /// </summary>
    object? ListVersion => null;

    /// <summary>The alias, or null.</summary>
    AliasRecord? FindAlias(ProjectName project, AliasName name);

    /// <summary>The project's aliases, sorted by name.</summary>
    IReadOnlyList<AliasRecord> ListAliases(ProjectName project);

    /// <summary>
    /// Opens an image's files for export. While the returned export is not disposed the files stay
    /// on disk even if the image is deleted meanwhile.
    /// </summary>
    /// <exception cref="ImageNotFoundException">The image does not exist (or its files are gone).</exception>
    ValueTask<ImageExport> OpenExportAsync(ProjectName project, Fingerprint fingerprint, CancellationToken cancellationToken);

    /// <summary>
    /// Records that a client used the image (an export, a SimpleStreams file served) for <c>last_used_at</c> and the
    /// cache rules; returns at once (the store coalesces uses). Does nothing on backends without cache rules.
    /// </summary>
    void RecordUse(ProjectName project, Fingerprint fingerprint)
    {
    }

    /// <summary>
    /// Why the image is kept or when the cache rules would remove it (cached, last use, removable after, the aliases
    /// that keep it); null on backends without cache rules.
    /// </summary>
    ImageRetention? RetentionOf(ImageRecord image) => null;

    /// <summary>Imports an uploaded image, reading its streams once, front to back.</summary>
    /// <exception cref="ImageExistsException">The project already has an image with that fingerprint.</exception>
    Task<ImageRecord> ImportAsync(ImageUpload upload, CancellationToken cancellationToken);

    /// <summary>Replaces the writable fields of an image.</summary>
    Task<ImageRecord> UpdateAsync(ProjectName project, Fingerprint fingerprint, ImageChanges changes, CancellationToken cancellationToken);

    /// <summary>Deletes an image (and the aliases pointing at it).</summary>
    Task DeleteAsync(ProjectName project, Fingerprint fingerprint, CancellationToken cancellationToken);

    /// <summary>Creates an alias.</summary>
    /// <exception cref="AliasExistsException">The name is taken.</exception>
    Task<AliasRecord> CreateAliasAsync(ProjectName project, AliasName name, Fingerprint target, string description, CancellationToken cancellationToken);

    /// <summary>Points an alias at <paramref name="target"/> with <paramref name="description"/>.</summary>
    Task<AliasRecord> UpdateAliasAsync(ProjectName project, AliasName name, Fingerprint target, string description, CancellationToken cancellationToken);

    /// <summary>Renames an alias.</summary>
    Task<AliasRecord> RenameAliasAsync(ProjectName project, AliasName name, AliasName newName, CancellationToken cancellationToken);

    /// <summary>Deletes an alias.</summary>
    Task DeleteAliasAsync(ProjectName project, AliasName name, CancellationToken cancellationToken);

    /// <summary>Copies an image from a remote server, or imports the image a URL names (spec §2.9, §4).</summary>
    /// <exception cref="ImageCopyException">The source does not have it, cannot be reached or sent wrong bytes.</exception>
    /// <exception cref="NotSupportedException">This backend does not reach remotes.</exception>
    Task<ImageRecord> CopyAsync(CopyRequest request, CancellationToken cancellationToken) =>
        throw new NotSupportedException("Copying images from another server is not supported by this server");

    /// <summary>
    /// The cache appliance's way in: the image an alias or fingerprint (prefix) names, from the project or — when it
    /// lacks it and upstream servers are configured — fetched from them once (however many requests ask at once) and
    /// stored as cached. The image is held for the request until the result is disposed (its files open, safe from the
    /// cache rules), so the caller answers from it, not from a second lookup an eviction may have overtaken. Every
    /// call counts a cache hit or miss.
    /// </summary>
    /// <returns>The held image, or null when there are no upstreams.</returns>
    /// <exception cref="ImageNotFoundException">Neither the project nor any upstream has it.</exception>
    Task<HeldImage?> PullThroughAsync(ProjectName project, string aliasOrFingerprint, CancellationToken cancellationToken) =>
        Task.FromResult<HeldImage?>(null);

    /// <summary>
    /// For the cache appliance's SimpleStreams index: the images its upstream servers list (reused for
    /// <c>images.upstream_catalog_ttl</c>); null when this backend has no upstreams.
    /// </summary>
    Task<IReadOnlyList<UpstreamImage>?> ListUpstreamImagesAsync(CancellationToken cancellationToken) =>
        Task.FromResult<IReadOnlyList<UpstreamImage>?>(null);

    /// <summary>Refreshes an image from its recorded source now (spec §2.10); the replacement, or null when up to date.</summary>
    /// <exception cref="NotSupportedException">This backend does not reach remotes.</exception>
    Task<ImageRecord?> RefreshAsync(ProjectName project, Fingerprint fingerprint, CancellationToken cancellationToken) =>
        throw new NotSupportedException("Refreshing images is not supported by this server");
}

/// <summary>The files of an image being exported; dispose when the response is done.</summary>
/// <param name="Image">The image.</param>
/// <param name="MetadataPath">The unified file, or the metadata file of a split image.</param>
/// <param name="RootfsPath">The rootfs file of a split image, else null.</param>
/// <param name="Release">Called once when the export ends (the store may then delete the files).</param>
public sealed record ImageExport(ImageRecord Image, string MetadataPath, string? RootfsPath, Func<ValueTask>? Release = null) : IAsyncDisposable
{
    private int _released;

    /// <summary>Whether the image is split (exported as multipart).</summary>
    public bool IsSplit => RootfsPath is not null;

    /// <inheritdoc />
    public ValueTask DisposeAsync() =>
        Interlocked.Exchange(ref _released, 1) == 0 && Release is not null ? Release() : ValueTask.CompletedTask;
}

/// <summary>An image the cache appliance found or fetched for a request, held until disposed.</summary>
/// <param name="Image">The image's record.</param>
/// <param name="Alias">The alias the request named, as it points at the image now; null when it named a fingerprint.</param>
/// <param name="Export">The image's files, open until this is disposed: an export is answered from them.</param>
public sealed record HeldImage(ImageRecord Image, AliasRecord? Alias, ImageExport Export) : IAsyncDisposable
{
    /// <inheritdoc />
    public ValueTask DisposeAsync() => Export.DisposeAsync();
}

/// <summary>An uploaded image (spec §2.8): one unified stream, or a metadata stream and a rootfs stream.</summary>
public sealed record ImageUpload
{
    /// <summary>Target project.</summary>
    public ProjectName Project { get; init; } = ProjectName.Default;

    /// <summary>The unified file, or the metadata file of a split upload.</summary>
    public required Stream Metadata { get; init; }

    /// <summary>The rootfs of a split upload; read only after <see cref="Metadata"/> reached its end.</summary>
    public Stream? Rootfs { get; init; }

    /// <summary>
    /// For split uploads, the type named by the rootfs part (<c>rootfs.img</c> → VM); known once
    /// <see cref="Rootfs"/> has been opened (first read), null before.
    /// </summary>
    public Func<ImageType?>? SplitType { get; init; }

    /// <summary>The fingerprint the client expects (<c>X-Incus-fingerprint</c>); a mismatch fails the import.</summary>
    public Fingerprint? Expected { get; init; }

    /// <summary>Stored file name.</summary>
    public string Filename { get; init; } = string.Empty;

    /// <summary>Whether untrusted clients may see it.</summary>
    public bool Public { get; init; }

    /// <summary>Properties merged over those of metadata.yaml.</summary>
    public IReadOnlyDictionary<string, string> Properties { get; init; } = new Dictionary<string, string>();

    /// <summary>Profiles; null means <c>["default"]</c>.</summary>
    public IReadOnlyList<string>? Profiles { get; init; }

    /// <summary>Aliases to create once stored.</summary>
    public IReadOnlyList<AliasName> Aliases { get; init; } = [];
}

/// <summary>The writable fields of an image (Incus' <c>ImagePut</c>), all given.</summary>
/// <param name="Public">Public flag.</param>
/// <param name="AutoUpdate">Auto-update flag.</param>
/// <param name="Properties">The complete new property set.</param>
/// <param name="ExpiresAt">New expiry; <c>MinValue</c> keeps the existing one.</param>
/// <param name="Profiles">Profiles.</param>
public sealed record ImageChanges(
    bool Public,
    bool AutoUpdate,
    IReadOnlyDictionary<string, string> Properties,
    DateTimeOffset ExpiresAt,
    IReadOnlyList<string> Profiles);
