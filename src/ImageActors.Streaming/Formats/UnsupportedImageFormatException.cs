namespace ImageActors.Streaming.Formats;

/// <summary>A file whose first bytes match no known image format. The message is Incus' own.</summary>
public sealed class UnsupportedImageFormatException : IOException
{
    /// <summary>Creates the error, optionally naming the file.</summary>
    public UnsupportedImageFormatException(string? fileName = null)
        : base("Unsupported compression") => FileName = fileName;

    /// <summary>The file or upload the bytes came from, when known.</summary>
    public string? FileName { get; }
}
