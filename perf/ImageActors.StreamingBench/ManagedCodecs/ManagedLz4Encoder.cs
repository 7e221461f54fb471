using K4os.Compression.LZ4;
using K4os.Compression.LZ4.Streams;

namespace ImageActors.StreamingBench.ManagedCodecs;

/// <summary>Encodes one LZ4 frame (content checksum on, as lz4(1) writes) through K4os.Compression.LZ4.</summary>
public static class ManagedLz4Encoder
{
    /// <summary>A stream that compresses into <paramref name="destination"/> at <paramref name="level"/> (0 = fast, 3–12 = high compression).</summary>
    public static Stream Create(Stream destination, int level = 0, bool leaveOpen = false) =>
        LZ4Stream.Encode(destination, new LZ4EncoderSettings
        {
            ContentChecksum = true,
            BlockSize = 4 << 20, // lz4(1)'s default block size
            CompressionLevel = level <= 0 ? LZ4Level.L00_FAST : (LZ4Level)Math.Min(level, (int)LZ4Level.L12_MAX),
        }, leaveOpen);
}
