using ImageActors.Images.Domain;
using ImageActors.Images.Filtering;
using ImageActors.Streaming;

namespace ImageActors.Server.Images;

/// <summary>
/// The backend of a server started without an image store: it holds no images, and writes fail
/// with a 503 error that says so.
/// </summary>
public sealed class NoImageBackend : IImageBackend
{
    /// <summary>The message of every write.</summary>
    public const string Message = "This server has no image store configured";

    /// <inheritdoc />
    public ImageRecord? Find(ProjectName project, Fingerprint fingerprint) => null;

    /// <inheritdoc />
    public ImageRecord GetByPrefix(ProjectName project, string prefix) => throw new ImageNotFoundException(prefix);

    /// <inheritdoc />
    public IReadOnlyList<ImageRecord> List(ProjectName project, ImageFilter? filter) => [];

    /// <inheritdoc />
    public AliasRecord? FindAlias(ProjectName project, AliasName name) => null;

    /// <inheritdoc />
    public IReadOnlyList<AliasRecord> ListAliases(ProjectName project) => [];

    /// <inheritdoc />
    public ValueTask<ImageExport> OpenExportAsync(ProjectName project, Fingerprint fingerprint, CancellationToken cancellationToken) =>
        throw new ImageNotFoundException(fingerprint.ToString());

    /// <inheritdoc />
    public Task<ImageRecord> ImportAsync(ImageUpload upload, CancellationToken cancellationToken) => throw Unavailable();

    /// <inheritdoc />
    public Task<ImageRecord> UpdateAsync(ProjectName project, Fingerprint fingerprint, ImageChanges changes, CancellationToken cancellationToken) => throw Unavailable();

    /// <inheritdoc />
    public Task DeleteAsync(ProjectName project, Fingerprint fingerprint, CancellationToken cancellationToken) => throw Unavailable();

    /// <inheritdoc />
    public Task<AliasRecord> CreateAliasAsync(ProjectName project, AliasName name, Fingerprint target, string description, CancellationToken cancellationToken) => throw Unavailable();

    /// <inheritdoc />
    public Task<AliasRecord> UpdateAliasAsync(ProjectName project, AliasName name, Fingerprint target, string description, CancellationToken cancellationToken) => throw Unavailable();

    /// <inheritdoc />
    public Task<AliasRecord> RenameAliasAsync(ProjectName project, AliasName name, AliasName newName, CancellationToken cancellationToken) => throw Unavailable();

    /// <inheritdoc />
    public Task DeleteAliasAsync(ProjectName project, AliasName name, CancellationToken cancellationToken) => throw Unavailable();

    private static BadHttpRequestException Unavailable() => new(Message, StatusCodes.Status503ServiceUnavailable);
}
