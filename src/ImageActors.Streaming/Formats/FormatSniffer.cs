namespace ImageActors.Streaming.Formats;

/// <summary>Detects an image file's format from its first bytes, with exactly the rules of Incus (spec §1.6).</summary>
public static class FormatSniffer
{
    /// <summary>How many leading bytes the rules look at (<c>ustar</c> sits at offset 257).</summary>
    public const int HeaderLength = 263;

    /// <summary>Detects the format from the first bytes of a file (give at least <see cref="HeaderLength"/> when there are).</summary>
    public static ImageFileFormat Detect(ReadOnlySpan<byte> head)
    {
        // The order follows Incus' detectCompression: the first matching rule wins.
        if (head.StartsWith("BZ"u8))
        {
            return ImageFileFormat.Bzip2;
        }

        if (head.StartsWith((ReadOnlySpan<byte>)[0x1F, 0x8B]))
        {
            return ImageFileFormat.Gzip;
        }

        if (head.Length >= 5 && head[1..5].SequenceEqual("7zXZ"u8))
        {
            return head[0] == 0xFD ? ImageFileFormat.Xz : ImageFileFormat.Lzma;
        }

        if (head.StartsWith((ReadOnlySpan<byte>)[0x5D, 0x00, 0x00]))
        {
            return ImageFileFormat.Lzma;
        }

        if (head.StartsWith((ReadOnlySpan<byte>)[0x28, 0xB5, 0x2F, 0xFD]))
        {
            return ImageFileFormat.Zstd;
        }

        if (head.StartsWith((ReadOnlySpan<byte>)[0x04, 0x22, 0x4D, 0x18]))
        {
            return ImageFileFormat.Lz4;
        }

        if (head.Length >= 262 && head.Slice(257, 5).SequenceEqual("ustar"u8))
        {
            return ImageFileFormat.Tar;
        }

        if (head.StartsWith("hsqs"u8))
        {
            return ImageFileFormat.SquashFs;
        }

        if (head.StartsWith("QFI"u8))
        {
            return ImageFileFormat.Qcow2;
        }

        if (head.StartsWith("KDMV"u8))
        {
            return ImageFileFormat.Vmdk;
        }

        return ImageFileFormat.Unknown;
    }

    /// <summary>Detects the format of a file on disk.</summary>
    public static ImageFileFormat DetectFile(string path)
    {
        using var handle = File.OpenHandle(path);
        Span<byte> head = stackalloc byte[HeaderLength];
        var n = 0;
        while (n < head.Length)
        {
            var read = RandomAccess.Read(handle, head[n..], n);
            if (read == 0)
            {
                break;
            }

            n += read;
        }

        return Detect(head[..n]);
    }

    /// <summary>The extension Incus gives an exported file of this format (<c>.tar.xz</c>, <c>.squashfs</c>, ...).</summary>
    public static string Extension(this ImageFileFormat format) => format switch
    {
        ImageFileFormat.Bzip2 => ".tar.bz2",
        ImageFileFormat.Gzip => ".tar.gz",
        ImageFileFormat.Xz => ".tar.xz",
        ImageFileFormat.Lzma => ".tar.lzma",
        ImageFileFormat.Zstd => ".tar.zst",
        ImageFileFormat.Lz4 => ".tar.lz4",
        ImageFileFormat.Tar => ".tar",
        ImageFileFormat.SquashFs => ".squashfs",
        ImageFileFormat.Qcow2 => ".qcow2",
        ImageFileFormat.Vmdk => ".vmdk",
        _ => throw new UnsupportedImageFormatException(),
    };

    /// <summary>Whether the format is a tarball (compressed or not), as opposed to a filesystem or disk image.</summary>
    public static bool IsTarball(this ImageFileFormat format) =>
        format is ImageFileFormat.Bzip2 or ImageFileFormat.Gzip or ImageFileFormat.Xz or ImageFileFormat.Lzma
            or ImageFileFormat.Zstd or ImageFileFormat.Lz4 or ImageFileFormat.Tar;
}
