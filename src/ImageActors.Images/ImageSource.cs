using ImageActors.Images.Domain;

namespace ImageActors.Images;

/// <summary>Where the bytes of an imported image come from.</summary>
public abstract record ImageSource
{
    private protected ImageSource() { }

    /// <summary>A unified image file (<c>image.tar.xz</c>, …).</summary>
    public sealed record UnifiedFile(string Path) : ImageSource;

    /// <summary>A split image: metadata tarball and rootfs (squashfs, qcow2, tarball).</summary>
    public sealed record SplitFiles(string MetadataPath, string RootfsPath) : ImageSource;

    /// <summary>An image directory (<c>metadata.yaml</c>, <c>rootfs/</c>, <c>templates/</c>), packed into a tarball as the CLI does.</summary>
    public sealed record Directory(string Path) : ImageSource;

    /// <summary>A unified image read from a stream (an upload).</summary>
    public sealed record UnifiedStream(Stream Stream, string Filename) : ImageSource;

    /// <summary>A split image read from two streams (a multipart upload).</summary>
    public sealed record SplitStreams(Stream Metadata, Stream Rootfs, string Filename) : ImageSource;
}

/// <summary>An import: the bytes and what to record with them.</summary>
/// <param name="Source">The bytes.</param>
public sealed record ImportRequest(ImageSource Source)
{
    /// <summary>The project to import into.</summary>
    public ProjectName Project { get; init; } = ProjectName.Default;

    /// <summary>Aliases to create for the image once stored (an alias already pointing at it is fine).</summary>
    public IReadOnlyList<string> Aliases { get; init; } = [];

    /// <summary>Visible to untrusted clients.</summary>
    public bool Public { get; init; }

    /// <summary>Properties added to (and overriding) those of metadata.yaml.</summary>
    public IReadOnlyDictionary<string, string> Properties { get; init; } = new Dictionary<string, string>();

    /// <summary>The file name to offer on export; by default the source's.</summary>
    public string? Filename { get; init; }

    /// <summary>Fail with <see cref="ImageExistsException"/> when the image exists (Incus' upload); by default the existing record is returned.</summary>
    public bool FailIfExists { get; init; }

    /// <summary>Receives the transfer progress.</summary>
    public IProgress<ImageProgress>? Progress { get; init; }
}

/// <summary>Progress of a transfer (Incus' <c>download_progress</c> / "Transferring image: …").</summary>
/// <param name="Stage">What is progressing (<c>transfer</c>, <c>unpack</c>).</param>
/// <param name="Processed">Bytes done.</param>
/// <param name="Total">Bytes in all, when known.</param>
public sealed record ImageProgress(string Stage, long Processed, long? Total)
{
    /// <summary>
    /// The file a download of a split image is receiving (<c>metadata</c> or <c>rootfs</c>) when the remote
    /// reports per file, as SimpleStreams downloads do; empty when the progress covers the whole image.
    /// </summary>
    public string File { get; init; } = string.Empty;

    /// <summary>Percent done (0–100) when the total is known.</summary>
    public int? Percent => Total is > 0 ? (int)Math.Min(100, Processed * 100 / Total.Value) : null;

    /// <inheritdoc />
    public override string ToString() => Percent is { } p ? $"{p}%" : $"{Processed / 1_000_000.0:F2}MB";
}

/// <summary>A lifecycle event (spec §5.6): <c>image-created</c>, <c>image-deleted</c>, <c>image-alias-created</c>, …</summary>
/// <param name="Action">The Incus action name.</param>
/// <param name="Source">The API path: <c>/1.0/images/&lt;fp&gt;</c> or <c>/1.0/images/aliases/&lt;name&gt;</c> (with <c>?project=</c> outside the default project).</param>
/// <param name="Project">The project.</param>
/// <param name="Context">Extra context (<c>type</c>, <c>target</c>, <c>old_name</c>).</param>
public sealed record ImageLifecycleEvent(string Action, string Source, ProjectName Project, IReadOnlyDictionary<string, string> Context);

/// <summary>An open export: the record and its file streams. The files stay (a delete waits) until this is disposed.</summary>
public sealed class ImageExport : IAsyncDisposable
{
    private readonly Action _release;
    private int _disposed;

    internal ImageExport(ImageRecord image, Stream metadata, Stream? rootfs, Action release)
    {
        Image = image;
        Metadata = metadata;
        Rootfs = rootfs;
        _release = release;
    }

    /// <summary>The image.</summary>
    public ImageRecord Image { get; }

    /// <summary>The unified file, or the metadata tarball of a split image.</summary>
    public Stream Metadata { get; }

    /// <summary>The rootfs of a split image, else null.</summary>
    public Stream? Rootfs { get; }

    /// <inheritdoc />
    public async ValueTask DisposeAsync()
    {
        if (Interlocked.Exchange(ref _disposed, 1) != 0)
        {
            return;
        }

        await Metadata.DisposeAsync().ConfigureAwait(false);
        if (Rootfs is not null)
        {
            await Rootfs.DisposeAsync().ConfigureAwait(false);
        }

        _release();
    }
}
