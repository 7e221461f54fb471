using ImageActors.Streaming.Compression;
using ImageActors.Streaming.Formats;

namespace ImageActors.Streaming.Tests;

public sealed class CodecTests : IDisposable
{
    private readonly TempDirectory _dir = new();

    // algorithm, our format, tool compress command, tool decompress command
    public static TheoryData<CompressionAlgorithm, string, string> Tools => new()
    {
        { CompressionAlgorithm.Gzip, "gzip -c", "gzip -dc" },
        { CompressionAlgorithm.Xz, "xz -c -T2", "xz -dc" },
        { CompressionAlgorithm.Lzma, "lzma -c", "xz --format=lzma -dc" },
        { CompressionAlgorithm.Zstd, "zstd -q -c", "zstd -q -dc" },
        { CompressionAlgorithm.Lz4, "lz4 -q -c", "lz4 -q -dc" },
        { CompressionAlgorithm.Bzip2, "bzip2 -c", "bzip2 -dc" },
    };

    public static TheoryData<CompressionAlgorithm> Algorithms =>
        new(Enum.GetValues<CompressionAlgorithm>());

    public static TheoryData<CompressionAlgorithm> ConcatenatingTools =>
        new(CompressionAlgorithm.Gzip, CompressionAlgorithm.Xz, CompressionAlgorithm.Zstd, CompressionAlgorithm.Lz4, CompressionAlgorithm.Bzip2);

    private static readonly byte[] Payload = TestData.Mixed(3 * 1024 * 1024 + 12345);

    public void Dispose() => _dir.Dispose();

    private static byte[] Compress(CompressionAlgorithm algorithm, byte[] data, CompressionOptions? options = null)
    {
        var output = new MemoryStream();
        using (var encoder = Codecs.Compress(output, algorithm, options, leaveOpen: true))
        {
            // Odd-sized writes exercise the encoder's buffering.
            for (var offset = 0; offset < data.Length; offset += 100_003)
            {
                encoder.Write(data, offset, Math.Min(100_003, data.Length - offset));
            }
        }

        return output.ToArray();
    }

    private static byte[] Decompress(byte[] compressed)
    {
        using var decoder = Codecs.DecompressTarball(new MemoryStream(compressed), out _);
        var output = new MemoryStream();
        decoder.CopyTo(output);
        return output.ToArray();
    }

    [Theory]
    [MemberData(nameof(Algorithms))]
    public void Every_codec_round_trips_and_is_recognised_by_its_magic(CompressionAlgorithm algorithm)
    {
        var data = algorithm == CompressionAlgorithm.None ? TarOf(Payload) : Payload;
        var compressed = Compress(algorithm, data, new CompressionOptions(Threads: 2));

        Assert.Equal(algorithm.Format(), FormatSniffer.Detect(compressed));
        Assert.Equal(data, Decompress(compressed));
    }

    [Theory]
    [MemberData(nameof(Tools))]
    public void Our_compressed_output_decompresses_with_the_reference_tool(CompressionAlgorithm algorithm, string compressTool, string decompressTool)
    {
        _ = compressTool;
        File.WriteAllBytes(_dir["ours"], Compress(algorithm, Payload));

        Shell.Run($"{decompressTool} < {Shell.Q(_dir["ours"])} > {Shell.Q(_dir["plain"])}");

        Assert.Equal(Payload, File.ReadAllBytes(_dir["plain"]));
    }

    [Theory]
    [MemberData(nameof(Tools))]
    public void Reference_tool_output_decompresses_with_our_codec(CompressionAlgorithm algorithm, string compressTool, string decompressTool)
    {
        _ = decompressTool;
        File.WriteAllBytes(_dir["plain"], Payload);
        Shell.Run($"{compressTool} < {Shell.Q(_dir["plain"])} > {Shell.Q(_dir["theirs"])}");
        var compressed = File.ReadAllBytes(_dir["theirs"]);

        Assert.Equal(algorithm.Format(), FormatSniffer.Detect(compressed));
        Assert.Equal(Payload, Decompress(compressed));
    }

    [Theory]
    [MemberData(nameof(ConcatenatingTools))]
    public void Concatenated_streams_decode_to_the_concatenated_data(CompressionAlgorithm algorithm)
    {
        var tool = Tools.Single(row => (CompressionAlgorithm)row[0] == algorithm)[1];
        var first = Payload.AsSpan(0, 700_000).ToArray();
        var second = Payload.AsSpan(2_000_000, 900_000).ToArray();
        File.WriteAllBytes(_dir["a"], first);
        File.WriteAllBytes(_dir["b"], second);
        Shell.Run($"{tool} < {Shell.Q(_dir["a"])} > {Shell.Q(_dir["ab"])} && {tool} < {Shell.Q(_dir["b"])} >> {Shell.Q(_dir["ab"])}");
        var ours = Compress(algorithm, first);

        Assert.Equal([.. first, .. second], Decompress(File.ReadAllBytes(_dir["ab"])));
        Assert.Equal([.. first, .. first], Decompress([.. ours, .. ours]));
    }

    [Theory]
    [MemberData(nameof(Tools))]
    public void A_truncated_stream_is_a_typed_error_naming_the_format(CompressionAlgorithm algorithm, string compressTool, string decompressTool)
    {
        _ = decompressTool;
        File.WriteAllBytes(_dir["plain"], Payload);
        Shell.Run($"{compressTool} < {Shell.Q(_dir["plain"])} > {Shell.Q(_dir["theirs"])}");
        var compressed = File.ReadAllBytes(_dir["theirs"]);

        foreach (var cut in new[] { compressed.Length - 1, compressed.Length - 5, compressed.Length / 2 })
        {
            var error = Assert.ThrowsAny<IOException>(() => Decompress(compressed[..cut]));
            var truncated = Assert.IsType<TruncatedStreamException>(error);
            Assert.Equal(algorithm.ToString().ToLowerInvariant(), truncated.Format);
        }
    }

    [Fact]
    public void Multi_block_xz_decodes_with_two_threads_to_the_same_bytes()
    {
        File.WriteAllBytes(_dir["plain"], Payload);
        Shell.Run($"xz -c -T2 --block-size=262144 < {Shell.Q(_dir["plain"])} > {Shell.Q(_dir["blocks.xz"])}");

        using var decoder = new LzmaDecoderStream(File.OpenRead(_dir["blocks.xz"]), threads: 2);
        var output = new MemoryStream();
        decoder.CopyTo(output);

        Assert.Equal(Payload, output.ToArray());
    }

    [Fact]
    public void Bytes_of_no_known_format_are_unsupported_compression()
    {
        var error = Assert.Throws<UnsupportedImageFormatException>(() => Decompress(new byte[600]));
        Assert.Equal("Unsupported compression", error.Message);
    }

    private static byte[] TarOf(byte[] content)
    {
        var output = new MemoryStream();
        using (var writer = new System.Formats.Tar.TarWriter(output, leaveOpen: true))
        {
            var entry = new System.Formats.Tar.PaxTarEntry(System.Formats.Tar.TarEntryType.RegularFile, "payload") { DataStream = new MemoryStream(content) };
            writer.WriteEntry(entry);
        }

        return output.ToArray();
    }
}
