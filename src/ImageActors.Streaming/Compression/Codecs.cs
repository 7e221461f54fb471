using System.IO.Compression;
using ICSharpCode.SharpZipLib.BZip2;
using ImageActors.Streaming.Formats;

namespace ImageActors.Streaming.Compression;

/// <summary>Options for compressing.</summary>
/// <param name="Level">Codec level; null picks the codec's usual default (gzip 6, xz 6, zstd 3, lz4 0, bzip2 9).</param>
/// <param name="Threads">Worker threads for codecs that have them (zstd, xz); 0 or 1 compresses inline.</param>
public sealed record CompressionOptions(int? Level = null, int Threads = 0);

/// <summary>
/// Opens decoding and encoding streams for every image compression. zstd and lz4 go through the system libzstd and
/// liblz4 rather than ZstdSharp.Port and K4os.Compression.LZ4: measured in one run (perf/RESULTS.md, "zstd and lz4:
/// native or managed"), libzstd decodes 1.7–2× and encodes 1.4–1.7× as fast as ZstdSharp, and liblz4 encodes
/// 1.17–1.26× as fast as K4os (decoding: a tie, then 1.11×); perf/streaming/codecs.sh measures it again.
/// </summary>
public static class Codecs
{
    /// <summary>Threads the xz decoder uses for multi-block files.</summary>
    public static int XzDecoderThreads { get; set; } = Math.Min(Environment.ProcessorCount, 2);

    /// <summary>
    /// A stream of the decompressed bytes of <paramref name="compressed"/> in <paramref name="format"/>
    /// (<see cref="ImageFileFormat.Tar"/> passes the bytes through).
    /// </summary>
    public static Stream Decompress(Stream compressed, ImageFileFormat format, bool leaveOpen = false) => format switch
    {
        ImageFileFormat.Tar => leaveOpen ? new NonClosingStream(compressed) : compressed,
        ImageFileFormat.Gzip => new GzipDecoderStream(compressed, leaveOpen),
        ImageFileFormat.Xz => new LzmaDecoderStream(compressed, lzmaAlone: false, XzDecoderThreads, leaveOpen),
        ImageFileFormat.Lzma => new LzmaDecoderStream(compressed, lzmaAlone: true, 1, leaveOpen),
        ImageFileFormat.Zstd => new ZstdDecoderStream(compressed, leaveOpen),
        ImageFileFormat.Lz4 => new Lz4DecoderStream(compressed, leaveOpen),
        ImageFileFormat.Bzip2 => new Bzip2DecoderStream(compressed, leaveOpen),
        _ => throw new UnsupportedImageFormatException(),
    };

    /// <summary>Sniffs the format of <paramref name="source"/> and returns its decompressed bytes.</summary>
    /// <exception cref="UnsupportedImageFormatException">The bytes are no tarball in a known compression.</exception>
    public static Stream DecompressTarball(Stream source, out ImageFileFormat format, bool leaveOpen = false)
    {
        var peekable = source as PeekableStream ?? new PeekableStream(source, leaveOpen);
        format = FormatSniffer.Detect(peekable.Peek(FormatSniffer.HeaderLength));
        if (!format.IsTarball())
        {
            if (!ReferenceEquals(peekable, source))
            {
                peekable.Dispose();
            }

            throw new UnsupportedImageFormatException();
        }

        return Decompress(peekable, format, leaveOpen: ReferenceEquals(peekable, source) && leaveOpen);
    }

    /// <summary>A stream that compresses what is written to it into <paramref name="destination"/>; dispose it to finish.</summary>
    public static Stream Compress(Stream destination, CompressionAlgorithm algorithm, CompressionOptions? options = null, bool leaveOpen = false)
    {
        options ??= new CompressionOptions();
        return algorithm switch
        {
            CompressionAlgorithm.None => leaveOpen ? new NonClosingStream(destination) : destination,
            CompressionAlgorithm.Gzip => new GZipStream(destination, new ZLibCompressionOptions { CompressionLevel = options.Level ?? 6 }, leaveOpen),
            CompressionAlgorithm.Xz => new LzmaEncoderStream(destination, lzmaAlone: false, options.Level ?? 6, options.Threads, leaveOpen),
            CompressionAlgorithm.Lzma => new LzmaEncoderStream(destination, lzmaAlone: true, options.Level ?? 6, 1, leaveOpen),
            CompressionAlgorithm.Zstd => new ZstdEncoderStream(destination, options.Level ?? 3, options.Threads, leaveOpen),
            CompressionAlgorithm.Lz4 => new Lz4EncoderStream(destination, options.Level ?? 0, leaveOpen),
            CompressionAlgorithm.Bzip2 => new BZip2OutputStream(destination, options.Level ?? 9) { IsStreamOwner = !leaveOpen },
            _ => throw new ArgumentOutOfRangeException(nameof(algorithm)),
        };
    }
}
