using ImageActors.Images;
using ImageActors.Images.Caching;
using ImageActors.Images.Domain;
using ImageActors.Images.Filtering;
using ImageActors.Images.Remote;
using ImageActors.Streaming;

namespace ImageActors.Server.Images;

/// <summary>
/// The embedded <see cref="ImageStore"/> as the server's image backend; with a <paramref name="copier"/> it also
/// copies images from remote servers and URLs, and with a <paramref name="pullThrough"/> it fetches images it lacks
/// from upstream servers (the cache appliance).
/// </summary>
public sealed class ImageStoreBackend(ImageStore store, RemoteImageCopier? copier = null, PullThroughResolver? pullThrough = null) : IImageBackend
{
    /// <summary>The store.</summary>
    public ImageStore Store { get; } = store ?? throw new ArgumentNullException(nameof(store));

    /// <inheritdoc />
    public ImageRecord? Find(ProjectName project, Fingerprint fingerprint) => Store.Catalog.Find(project, fingerprint);

    /// <inheritdoc />
    public ImageRecord GetByPrefix(ProjectName project, string prefix) => Store.Catalog.GetByPrefix(project, prefix);

    /// <inheritdoc />
    public IReadOnlyList<ImageRecord> List(ProjectName project, ImageFilter? filter) => Store.Catalog.List(project, filter);

    /// <inheritdoc />
    public object? ListVersion => Store.Catalog.Version;

    /// <inheritdoc />
    public AliasRecord? FindAlias(ProjectName project, AliasName name) => Store.Catalog.FindAlias(project, name);

    /// <inheritdoc />
    public IReadOnlyList<AliasRecord> ListAliases(ProjectName project) => Store.ListAliases(project);

    /// <inheritdoc />
    public async ValueTask<ImageExport> OpenExportAsync(ProjectName project, Fingerprint fingerprint, CancellationToken cancellationToken) =>
        ByPath(await Store.ExportAsync(project, fingerprint, cancellationToken));

    // The store hands out open file streams and keeps the files while the export lives; the server sends by path (the
    // kernel copies), so it only needs the names.
    private ImageExport ByPath(global::ImageActors.Images.ImageExport export)
    {
        var fingerprint = export.Image.Fingerprint;
        var metadata = export.Metadata is FileStream m ? m.Name : Store.Blobs.MetadataPath(fingerprint);
        var rootfs = export.Rootfs is null ? null : export.Rootfs is FileStream r ? r.Name : Store.Blobs.RootfsPath(fingerprint);
        return new ImageExport(export.Image, metadata, rootfs, export.DisposeAsync);
    }

    /// <inheritdoc />
    public void RecordUse(ProjectName project, Fingerprint fingerprint) => Store.RecordUse(project, fingerprint);

    /// <inheritdoc />
    public ImageRetention? RetentionOf(ImageRecord image) => Store.RetentionOf(image);

    /// <inheritdoc />
    public async Task<ImageRecord> ImportAsync(ImageUpload upload, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(upload);
        ImageSource source = upload.Rootfs is null
            ? new ImageSource.UnifiedStream(upload.Metadata, upload.Filename)
            : new ImageSource.SplitStreams(upload.Metadata, upload.Rootfs, upload.Filename);
        var image = await Store.ImportAsync(
            new ImportRequest(source)
            {
                Project = upload.Project,
                Aliases = [.. upload.Aliases.Select(a => a.Value)],
                Public = upload.Public,
                Properties = upload.Properties,
                Filename = string.IsNullOrEmpty(upload.Filename) ? null : upload.Filename,
                FailIfExists = true,
            },
            cancellationToken);

        if (upload.Expected is { } expected && expected != image.Fingerprint)
        {
            // The bytes were not what the client announced: nothing may stay behind.
            await Store.DeleteAsync(upload.Project, image.Fingerprint.ToString(), CancellationToken.None);
            throw new InvalidImageException($"fingerprints don't match, got {image.Fingerprint} expected {expected}");
        }

        if (upload.Profiles is { } profiles)
        {
            image = await Store.UpdateAsync(upload.Project, image.Fingerprint.ToString(), new ImagePut(image.Public, image.AutoUpdate, image.Properties, image.ExpiresAt, profiles), cancellationToken);
        }

        return image;
    }

    /// <inheritdoc />
    public Task<ImageRecord> UpdateAsync(ProjectName project, Fingerprint fingerprint, ImageChanges changes, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(changes);
        return Store.UpdateAsync(project, fingerprint.ToString(), new ImagePut(changes.Public, changes.AutoUpdate, changes.Properties, changes.ExpiresAt, changes.Profiles), cancellationToken);
    }

    /// <inheritdoc />
    public Task DeleteAsync(ProjectName project, Fingerprint fingerprint, CancellationToken cancellationToken) =>
        Store.DeleteAsync(project, fingerprint.ToString(), cancellationToken);

    /// <inheritdoc />
    public Task<AliasRecord> CreateAliasAsync(ProjectName project, AliasName name, Fingerprint target, string description, CancellationToken cancellationToken) =>
        Store.CreateAliasAsync(project, name.Value, target.ToString(), description, cancellationToken);

    /// <inheritdoc />
    public Task<AliasRecord> UpdateAliasAsync(ProjectName project, AliasName name, Fingerprint target, string description, CancellationToken cancellationToken) =>
        Store.RetargetAliasAsync(project, name.Value, target.ToString(), description, cancellationToken);

    /// <inheritdoc />
    public Task<AliasRecord> RenameAliasAsync(ProjectName project, AliasName name, AliasName newName, CancellationToken cancellationToken) =>
        Store.RenameAliasAsync(project, name.Value, newName.Value, cancellationToken);

    /// <inheritdoc />
    public Task<ImageRecord> CopyAsync(CopyRequest request, CancellationToken cancellationToken) =>
        copier is null
            ? throw new NotSupportedException("Copying images from another server is not configured on this server")
            : copier.CopyAsync(request, cancellationToken);

    /// <inheritdoc />
    public async Task<HeldImage?> PullThroughAsync(ProjectName project, string aliasOrFingerprint, CancellationToken cancellationToken)
    {
        if (pullThrough is null || pullThrough.Upstreams.Count == 0)
        {
            return null;
        }

        // No endpoint announces what the appliance caches on its way: the store's image-created and
        // image-alias-created go to the listeners as they are.
        Events.Lifecycle.ForwardStoreEvents();
        var pulled = await pullThrough.OpenOrFetchAsync(project, aliasOrFingerprint, null, cancellationToken);
        return new HeldImage(pulled.Image, pulled.Alias, ByPath(pulled.Export));
    }

    /// <inheritdoc />
    public async Task<IReadOnlyList<UpstreamImage>?> ListUpstreamImagesAsync(CancellationToken cancellationToken) =>
        pullThrough is null || pullThrough.Upstreams.Count == 0
            ? null
            : await pullThrough.ListUpstreamImagesAsync(cancellationToken);

    /// <inheritdoc />
    public Task<ImageRecord?> RefreshAsync(ProjectName project, Fingerprint fingerprint, CancellationToken cancellationToken) =>
        Store.RefreshAsync(project, fingerprint.ToString(), cancellationToken);

    /// <inheritdoc />
    public Task DeleteAliasAsync(ProjectName project, AliasName name, CancellationToken cancellationToken) =>
        Store.DeleteAliasAsync(project, name.Value, cancellationToken);
}
