namespace ImageActors.Remotes.Incus;

/// <summary>How an Incus or LXD server exports an image: as one file or as two.</summary>
public enum ExportShape
{
    /// <summary>The server did not say (an error, a timeout, a reply of neither form); ask again later.</summary>
    Unknown,

    /// <summary>One file, the unified tarball: its SHA-256 is the fingerprint.</summary>
    Unified,

    /// <summary>Two files (metadata and rootfs) in a <c>multipart/form-data</c> reply.</summary>
    Split,
}

/// <summary>What the headers of an export reply told about the image's files, read without its body.</summary>
/// <param name="Shape">One file, two, or not known.</param>
/// <param name="Length">A unified file's length, from <c>Content-Range</c> or <c>Content-Length</c>, when the reply gave it.</param>
/// <param name="FileName">A unified file's name from <c>Content-Disposition</c> (<c>&lt;fp&gt;.tar.xz</c>), when the reply gave it.</param>
public sealed record ExportProbe(ExportShape Shape, long? Length = null, string? FileName = null)
{
    /// <summary>A probe that learnt nothing.</summary>
    public static ExportProbe Unknown { get; } = new(ExportShape.Unknown);
}
