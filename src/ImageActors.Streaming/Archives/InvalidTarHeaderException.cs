namespace ImageActors.Streaming.Archives;

/// <summary>
/// A tar header that is not one: its checksum does not match, a field does not parse, or a block that should end
/// the archive holds data. <see cref="Offset"/> is where the header starts in the unpacked (decompressed) tar.
/// </summary>
public sealed class InvalidTarHeaderException : IOException
{
    /// <summary>Creates the error for the header at <paramref name="offset"/>.</summary>
    public InvalidTarHeaderException(long offset, string reason, Exception? inner = null)
        : base($"The tar archive is damaged: invalid tar header at offset {offset}: {reason}.", inner)
    {
        Offset = offset;
        Reason = reason;
    }

    /// <summary>Byte offset of the header in the unpacked tar.</summary>
    public long Offset { get; }

    /// <summary>What is wrong with it.</summary>
    public string Reason { get; }
}
