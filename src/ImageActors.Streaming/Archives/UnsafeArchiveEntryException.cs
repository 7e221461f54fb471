namespace ImageActors.Streaming.Archives;

/// <summary>Why an archive entry was refused.</summary>
public enum UnsafeEntryReason
{
    /// <summary>The name is an absolute path.</summary>
    AbsolutePath,

    /// <summary>The name climbs out with <c>..</c>.</summary>
    PathTraversal,

    /// <summary>A symlink whose target leaves the unpack root.</summary>
    EscapingSymlink,

    /// <summary>A hard link whose target is outside the archive's tree.</summary>
    EscapingHardLink,

    /// <summary>The entry would be written through a symlink (an earlier entry or one on disk).</summary>
    ThroughSymlink,

    /// <summary>A device node, and devices are not allowed.</summary>
    DeviceNode,

    /// <summary>An entry type we do not unpack (sparse files, unknown types).</summary>
    UnsupportedType,

    /// <summary>The unpacked size passed its limit.</summary>
    TooLarge,

    /// <summary>The entry count passed its limit.</summary>
    TooManyEntries,

    /// <summary>The compression ratio passed its limit (a decompression bomb).</summary>
    CompressionRatio,
}

/// <summary>An archive refused because of one entry; nothing was left outside the target, and the target was removed.</summary>
public sealed class UnsafeArchiveEntryException : IOException
{
    /// <summary>Creates the error naming <paramref name="path"/>.</summary>
    public UnsafeArchiveEntryException(string path, UnsafeEntryReason reason, string detail)
        : base($"Unsafe archive entry '{path}': {detail}")
    {
        EntryPath = path;
        Reason = reason;
        Detail = detail;
    }

    /// <summary>The entry's name as the archive wrote it.</summary>
    public string EntryPath { get; }

    /// <summary>Why it was refused.</summary>
    public UnsafeEntryReason Reason { get; }

    /// <summary>A sentence saying why.</summary>
    public string Detail { get; }
}
