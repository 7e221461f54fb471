using ImageActors.Remotes.Incus;
using ImageActors.Streaming;

namespace ImageActors.Remotes;

/// <summary>An image as a remote describes it, with where its files are.</summary>
public sealed record RemoteImage
{
    /// <summary>The image's fingerprint.</summary>
    public required Fingerprint Fingerprint { get; init; }

    /// <summary>The image object (synthesised for SimpleStreams and URL remotes): type, properties, aliases, size, dates.</summary>
    public required Image Info { get; init; }

    /// <summary>The files to fetch.</summary>
    public required IReadOnlyList<RemoteImageFile> Files { get; init; }

    /// <summary>The alias the image was resolved through, when it was.</summary>
    public string? Alias { get; init; }

    /// <summary>Secret giving access to a private image (Incus REST).</summary>
    public string? Secret { get; init; }

    /// <summary>Things the user should know (e.g. plain http without integrity of transport).</summary>
    public IReadOnlyList<string> Warnings { get; init; } = [];

    /// <summary>Settings the download of this image runs with instead of the downloader's (a request's own); null for none.</summary>
    public Download.DownloadSettings? DownloadSettings { get; init; }

    /// <summary><c>container</c> or <c>virtual-machine</c>.</summary>
    public string Type => Info.Type.Length == 0 ? ImageTypes.Container : Info.Type;
}

/// <summary>One file of a remote image.</summary>
public sealed record RemoteImageFile
{
    /// <summary>What the file is.</summary>
    public required RemoteFileRole Role { get; init; }

    /// <summary>URLs of the file, tried in order.</summary>
    public required IReadOnlyList<Uri> Sources { get; init; }

    /// <summary>Size, when announced.</summary>
    public long? Size { get; init; }

    /// <summary>SHA-256 (hex), when announced; for an <see cref="RemoteFileRole.Export"/>, the fingerprint.</summary>
    public string? Sha256 { get; init; }

    /// <summary>File name, when known before the download.</summary>
    public string? FileName { get; init; }
}

/// <summary>The part a file plays in an image.</summary>
public enum RemoteFileRole
{
    /// <summary>A unified tarball (metadata and rootfs in one file).</summary>
    Unified,

    /// <summary>The metadata tarball of a split image.</summary>
    Metadata,

    /// <summary>The rootfs (squashfs, tarball or qcow2 disk) of a split image.</summary>
    Rootfs,

    /// <summary>An Incus export: unified or split is known only from the reply.</summary>
    Export,
}

/// <summary>
/// A downloaded, verified image: one unified file, or metadata plus rootfs. The files are temp
/// files; the caller moves them into the store (or deletes them).
/// </summary>
/// <param name="Fingerprint">SHA-256 of the file, or of metadata followed by rootfs.</param>
/// <param name="Type"><c>container</c> or <c>virtual-machine</c>.</param>
/// <param name="Metadata">The unified file, or the metadata file of a split image.</param>
/// <param name="Rootfs">The rootfs file of a split image.</param>
public sealed record DownloadedImage(Fingerprint Fingerprint, string Type, Download.DownloadedFile Metadata, Download.DownloadedFile? Rootfs)
{
    /// <summary>Whether the image came as two files.</summary>
    public bool IsSplit => Rootfs is not null;

    /// <summary>Total bytes.</summary>
    public long Size => Metadata.Size + (Rootfs?.Size ?? 0);

    /// <summary>Removes the temp files (after a failure further up, or once copied elsewhere).</summary>
    public void DeleteFiles()
    {
        File.Delete(Metadata.Path);
        if (Rootfs is not null)
        {
            File.Delete(Rootfs.Path);
        }
    }
}
