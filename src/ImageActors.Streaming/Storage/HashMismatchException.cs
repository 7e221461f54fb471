namespace ImageActors.Streaming.Storage;

/// <summary>Bytes whose SHA-256 is not the fingerprint they were supposed to have. Nothing of them was kept.</summary>
public sealed class HashMismatchException : IOException
{
    /// <summary>Creates the error; the message is the one Incus gives.</summary>
    public HashMismatchException(Fingerprint expected, Fingerprint actual, string source)
        : base($"Image fingerprint doesn't match. Got {actual} expected {expected} ({source})")
    {
        Expected = expected;
        Actual = actual;
        SourceName = source;
    }

    /// <summary>The fingerprint the bytes should have had.</summary>
    public Fingerprint Expected { get; }

    /// <summary>The fingerprint they had.</summary>
    public Fingerprint Actual { get; }

    /// <summary>Where the bytes came from (a URL, a file, "upload").</summary>
    public string SourceName { get; }
}

/// <summary>The disk (or a quota) is too full for an image. Nothing partial was kept.</summary>
public sealed class InsufficientStorageException : IOException
{
    /// <summary>Creates the error for <paramref name="directory"/>.</summary>
    public InsufficientStorageException(string directory, long? neededBytes, Exception? inner = null)
        : base(neededBytes is { } n
            ? $"Not enough free space in {directory} for {n} bytes; free space on that disk (or move the data directory) and try again"
            : $"No space left in {directory}; free space on that disk (or move the data directory) and try again", inner)
    {
        Directory = directory;
        NeededBytes = neededBytes;
    }

    /// <summary>Whether an I/O error means the disk (or a quota) is full.</summary>
    public static bool IsDiskFull(IOException error)
    {
        ArgumentNullException.ThrowIfNull(error);
        return Posix.IsDiskFull(error);
    }

    /// <summary>The directory that ran out of space.</summary>
    public string Directory { get; }

    /// <summary>How many bytes were needed, when known in advance.</summary>
    public long? NeededBytes { get; }
}
