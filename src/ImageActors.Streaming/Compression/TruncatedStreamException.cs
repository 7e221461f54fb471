namespace ImageActors.Streaming.Compression;

/// <summary>A compressed stream ended before its format said it would: the file is incomplete.</summary>
public sealed class TruncatedStreamException : IOException
{
    /// <summary>Creates the error for the named format (for example "xz").</summary>
    public TruncatedStreamException(string format)
        : base($"The {format} stream is truncated: it ended before its end marker.") => Format = format;

    /// <summary>The compression format whose stream was cut short.</summary>
    public string Format { get; }
}

/// <summary>A compressed stream holds bytes its decoder rejects.</summary>
public sealed class CorruptStreamException : IOException
{
    /// <summary>Creates the error for the named format with the decoder's reason.</summary>
    public CorruptStreamException(string format, string reason)
        : base($"The {format} stream is corrupt: {reason}.")
    {
        Format = format;
        Reason = reason;
    }

    /// <summary>The compression format.</summary>
    public string Format { get; }

    /// <summary>What the decoder reported.</summary>
    public string Reason { get; }
}
