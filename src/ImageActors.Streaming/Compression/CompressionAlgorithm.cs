namespace ImageActors.Streaming.Compression;

/// <summary>A compressor for producing image tarballs: the values of <c>images.compression_algorithm</c>.</summary>
public enum CompressionAlgorithm
{
    /// <summary>No compression: a plain tarball.</summary>
    None = 0,

    /// <summary>bzip2.</summary>
    Bzip2,

    /// <summary>gzip (Incus' <c>pigz</c> too).</summary>
    Gzip,

    /// <summary>LZ4 frame.</summary>
    Lz4,

    /// <summary>Legacy lzma (<c>xz --format=lzma</c>).</summary>
    Lzma,

    /// <summary>xz (Incus' <c>pxz</c> too).</summary>
    Xz,

    /// <summary>zstd (Incus' <c>pzstd</c> too).</summary>
    Zstd,
}

/// <summary>Parsing and naming of <see cref="CompressionAlgorithm"/>.</summary>
public static class CompressionAlgorithms
{
    /// <summary>
    /// Parses a configuration value: <c>bzip2 gzip lz4 lzma xz zstd none</c>; the parallel tool names <c>pigz</c>,
    /// <c>pzstd</c> and <c>pxz</c> map to their formats (we always use threads where the codec has them).
    /// </summary>
    public static bool TryParse(string? text, out CompressionAlgorithm algorithm)
    {
        algorithm = text?.Trim().ToLowerInvariant() switch
        {
            "none" or "" => CompressionAlgorithm.None,
            "bzip2" => CompressionAlgorithm.Bzip2,
            "gzip" or "pigz" => CompressionAlgorithm.Gzip,
            "lz4" => CompressionAlgorithm.Lz4,
            "lzma" => CompressionAlgorithm.Lzma,
            "xz" or "pxz" => CompressionAlgorithm.Xz,
            "zstd" or "pzstd" => CompressionAlgorithm.Zstd,
            _ => (CompressionAlgorithm)(-1),
        };
        return (int)algorithm >= 0;
    }

    /// <summary>Parses like <see cref="TryParse"/> or throws with the accepted values.</summary>
    public static CompressionAlgorithm Parse(string text) =>
        TryParse(text, out var algorithm)
            ? algorithm
            : throw new ArgumentException($"Unsupported compression algorithm '{text}': use one of bzip2, gzip, lz4, lzma, xz, zstd, none.", nameof(text));

    /// <summary>The file format a compressor produces.</summary>
    public static Formats.ImageFileFormat Format(this CompressionAlgorithm algorithm) => algorithm switch
    {
        CompressionAlgorithm.None => Formats.ImageFileFormat.Tar,
        CompressionAlgorithm.Bzip2 => Formats.ImageFileFormat.Bzip2,
        CompressionAlgorithm.Gzip => Formats.ImageFileFormat.Gzip,
        CompressionAlgorithm.Lz4 => Formats.ImageFileFormat.Lz4,
        CompressionAlgorithm.Lzma => Formats.ImageFileFormat.Lzma,
        CompressionAlgorithm.Xz => Formats.ImageFileFormat.Xz,
        CompressionAlgorithm.Zstd => Formats.ImageFileFormat.Zstd,
        _ => throw new ArgumentOutOfRangeException(nameof(algorithm)),
    };
}
