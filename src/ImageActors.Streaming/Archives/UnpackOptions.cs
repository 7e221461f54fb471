namespace ImageActors.Streaming.Archives;

/// <summary>Bounds that stop a decompression bomb before it fills the disk.</summary>
/// <param name="MaxTotalBytes">Sum of the unpacked file sizes.</param>
/// <param name="MaxEntries">Number of entries.</param>
/// <param name="MaxCompressionRatio">Unpacked bytes per compressed byte, checked once <paramref name="RatioGraceBytes"/> were unpacked.</param>
/// <param name="RatioGraceBytes">Unpacked bytes before the ratio counts (small files compress very well legitimately).</param>
public sealed record UnpackLimits(
    long MaxTotalBytes = 256L << 30,
    long MaxEntries = 10_000_000,
    double MaxCompressionRatio = 200,
    long RatioGraceBytes = 64L << 20);

/// <summary>How to unpack.</summary>
/// <param name="Limits">Bomb limits; null takes the defaults.</param>
/// <param name="AllowDevices">Create device nodes (only as root; otherwise they are skipped and counted).</param>
/// <param name="AllowAbsoluteSymlinks">
/// Keep symlinks with absolute targets. A root filesystem is full of them (<c>/etc/mtab -> /proc/self/mounts</c>)
/// and they mean a path inside the instance; unpacking never follows any symlink, so they cannot write outside.
/// </param>
/// <param name="PreserveOwners">Set numeric owners from the archive (only effective as root).</param>
/// <param name="PreserveXattrs">Set extended attributes from pax headers where the filesystem allows.</param>
public sealed record UnpackOptions(
    UnpackLimits? Limits = null,
    bool AllowDevices = false,
    bool AllowAbsoluteSymlinks = true,
    bool PreserveOwners = true,
    bool PreserveXattrs = true);

/// <summary>What an unpack did.</summary>
/// <param name="Entries">Entries unpacked.</param>
/// <param name="Bytes">File bytes written.</param>
/// <param name="SkippedDevices">Device nodes skipped (not root).</param>
/// <param name="SkippedXattrs">Extended attributes the filesystem refused or the archive held in a form we cannot keep.</param>
public sealed record UnpackResult(long Entries, long Bytes, int SkippedDevices, int SkippedXattrs);
