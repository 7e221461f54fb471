using System.Text;
using ImageActors.Streaming.Archives;
using ImageActors.Streaming.Compression;
using ImageActors.Streaming.Images;

namespace ImageActors.Streaming.Tests;

/// <summary>
/// Damaged image files, made by the real tools and then cut or bit-flipped, are reported as damaged: with the
/// codec's integrity error, or an invalid tar header and its offset; never as a missing metadata.yaml or a
/// number that does not parse.
/// </summary>
public sealed class DamagedFileTests : IDisposable
{
    private readonly TempDirectory _dir = new();

    public static TheoryData<string, string, bool> Tools => new()
    {
        // format, compress command, whether the format carries an integrity check of its own
        { "gzip", "gzip -c", true },
        { "bzip2", "bzip2 -c", true },
        { "xz", "xz -c", true },
        { "lzma", "lzma -c", false },
        { "zstd", "zstd -q -c", true },
        { "lz4", "lz4 -q -c", true },
    };

    // lzma (alone) carries no check of its own: a flipped byte in file data may decode to other data without an error.
    public static TheoryData<string, string> ChecksummedTools => new()
    {
        { "gzip", "gzip -c" },
        { "bzip2", "bzip2 -c" },
        { "xz", "xz -c" },
        { "zstd", "zstd -q -c" },
        { "lz4", "lz4 -q -c" },
    };

    public void Dispose() => _dir.Dispose();

    // metadata.yaml last, as some builders write it, so a scan for it reads through the damage; or first, as tar
    // writes it when named first, so that the damage lies after everything a scan looks for.
    private byte[] Image(string compress, bool metadataFirst = false)
    {
        var root = _dir["image"];
        Directory.CreateDirectory(Path.Combine(root, "rootfs", "etc"));
        File.WriteAllBytes(Path.Combine(root, "rootfs", "blob"), TestData.Mixed(2 * 1024 * 1024, seed: 7));
        for (var i = 0; i < 300; i++)
        {
            File.WriteAllText(Path.Combine(root, "rootfs", "etc", $"file{i}.conf"), $"# config {i}\nkey{i} = value {i}\n" + new string('x', i * 13));
        }

        File.WriteAllText(Path.Combine(root, "metadata.yaml"), "architecture: x86_64\ncreation_date: 1700000000\nproperties:\n  description: damaged\n");
        var members = metadataFirst ? "metadata.yaml rootfs" : "rootfs metadata.yaml";
        Shell.Run($"tar -cf - {members} | {compress} > {Shell.Q(_dir["image.file"])}", root);
        return File.ReadAllBytes(_dir["image.file"]);
    }

    private static byte[] Flipped(byte[] file, int at)
    {
        var copy = file.ToArray();
        copy[at] ^= 0x55;
        return copy;
    }

    private static void AssertDamaged(Exception error, string format, bool checksummed)
    {
        switch (error)
        {
            case CorruptStreamException corrupt:
                Assert.Equal(format, corrupt.Format);
                break;
            case TruncatedStreamException truncated:
                Assert.Equal(format, truncated.Format);
                break;
            case InvalidTarHeaderException when !checksummed:
                break;
            default:
                Assert.Fail($"A damaged {format} file was reported as {error.GetType().Name}: {error.Message}");
                break;
        }
    }

    [Theory]
    [MemberData(nameof(Tools))]
    public void A_bit_flipped_compressed_image_is_reported_damaged_by_its_codec_not_as_missing_metadata(string format, string compress, bool checksummed)
    {
        var image = Image(compress);
        foreach (var at in new[] { image.Length / 3, image.Length / 2, image.Length * 4 / 5 })
        {
            var damaged = Flipped(image, at);

            var inspect = Assert.Throws<InvalidImageException>(() => ImageInspector.InspectUnified(new MemoryStream(damaged)));
            Assert.DoesNotContain("missing", inspect.Message, StringComparison.OrdinalIgnoreCase);
            Assert.StartsWith("The image file is damaged: ", inspect.Message, StringComparison.Ordinal);
            AssertDamaged(inspect.InnerException!, format, checksummed);

            var unpack = Assert.ThrowsAny<IOException>(() => ArchiveUnpacker.Unpack(new MemoryStream(damaged), _dir[$"unpacked-{at}"]));
            AssertDamaged(unpack, format, checksummed);
            Assert.False(Directory.Exists(_dir[$"unpacked-{at}"]));
        }
    }

    [Theory]
    [MemberData(nameof(ChecksummedTools))]
    public void A_compressed_image_damaged_after_its_metadata_and_rootfs_is_reported_damaged_not_imported(string format, string compress)
    {
        var image = Image(compress, metadataFirst: true);
        File.WriteAllBytes(_dir["intact"], image);
        foreach (var at in new[] { image.Length / 2, image.Length * 4 / 5 })
        {
            var damaged = Flipped(image, at);
            File.WriteAllBytes(_dir[$"damaged-{at}"], damaged);

            var inspect = Assert.Throws<InvalidImageException>(() => ImageInspector.InspectUnified(new MemoryStream(damaged)));

            Assert.StartsWith("The image file is damaged: ", inspect.Message, StringComparison.Ordinal);
            AssertDamaged(inspect.InnerException!, format, checksummed: true);

            // The format's own tool agrees: the damaged file fails its test, the intact one passes.
            Assert.Equal("failed", ToolTest(format, _dir[$"damaged-{at}"]));
        }

        Assert.Equal("passed", ToolTest(format, _dir["intact"]));
    }

    [Fact]
    public void A_bzip2_image_with_any_byte_flipped_is_reported_damaged_by_bzip2_never_as_a_number_that_does_not_parse()
    {
        var image = Image("bzip2 -c", metadataFirst: true);

        // Past the 4-byte stream header: the bytes of the first block's header and tables, then 24 spread over the rest.
        foreach (var at in Enumerable.Range(4, 60).Concat(Enumerable.Range(1, 24).Select(i => (int)((long)image.Length * i / 25))))
        {
            var damaged = Flipped(image, at);

            var inspect = Assert.Throws<InvalidImageException>(() => ImageInspector.InspectUnified(new MemoryStream(damaged)));

            Assert.StartsWith("The image file is damaged: ", inspect.Message, StringComparison.Ordinal);
            Assert.DoesNotContain("parse", inspect.Message, StringComparison.OrdinalIgnoreCase);
        }
    }

    [Theory]
    [InlineData("42 5A 68 2B 31 41 59 26 53 59 DA 49 07 56 00 00 06 D1 80 00 10 40 00 03 44 82 10 20 00 41 00 01 00 00 20 C9 88 C8 78 A2")]
    [InlineData("42 5A 79 2B 31 41 59 26 53 59 E4 49 07 56 00 00 F9 D1 80 00 10 40 00 03 44 82 10 20 00 41 BB 83 27 A4 20 C9 88 C8 78 A2")]
    public void A_bzip2_block_whose_damage_leaves_a_decoding_table_unset_is_reported_damaged_not_as_a_null_reference(string hex)
    {
        // Found by fuzzing: SharpZipLib reached a table the damaged block never set up.
        var damaged = Convert.FromHexString(hex.Replace(" ", "", StringComparison.Ordinal));

        var inspect = Assert.Throws<InvalidImageException>(() => ImageInspector.InspectUnified(new MemoryStream(damaged)));

        Assert.StartsWith("The image file is damaged: ", inspect.Message, StringComparison.Ordinal);
        Assert.Contains("bzip2", inspect.Message, StringComparison.Ordinal);
    }

    [Theory]
    [MemberData(nameof(Tools))]
    public void A_truncated_compressed_image_is_reported_truncated_not_as_missing_metadata(string format, string compress, bool checksummed)
    {
        _ = checksummed;
        var image = Image(compress);
        foreach (var cut in new[] { image.Length / 2, image.Length - 1 })
        {
            var inspect = Assert.Throws<InvalidImageException>(() => ImageInspector.InspectUnified(new MemoryStream(image[..cut])));
            var truncated = Assert.IsType<TruncatedStreamException>(inspect.InnerException);
            Assert.Equal(format, truncated.Format);

            var unpack = Assert.Throws<TruncatedStreamException>(() => ArchiveUnpacker.Unpack(new MemoryStream(image[..cut]), _dir[$"unpacked-{cut}"]));
            Assert.Equal(format, unpack.Format);
        }
    }

    [Fact]
    public void A_tar_header_that_fails_its_checksum_is_an_invalid_header_at_its_offset()
    {
        var tar = Image("cat");
        var offset = HeaderOffsets(tar).ElementAt(5);
        tar[offset + 3] ^= 0x20; // a letter of the entry's name

        var error = Assert.Throws<InvalidTarHeaderException>(() => ArchiveUnpacker.Unpack(new MemoryStream(tar), _dir["unpacked"]));

        Assert.Equal(offset, error.Offset);
        Assert.Contains($"offset {offset}", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Garbage_where_a_header_should_be_is_not_taken_for_the_end_of_the_archive()
    {
        // A garbage block whose checksum field is blank is what the tar reader used to take for the end marker.
        var tar = Image("cat");
        var offset = HeaderOffsets(tar).ElementAt(3);
        var garbage = Encoding.ASCII.GetBytes(new string('g', 512));
        Array.Clear(garbage, 148, 8);
        garbage.CopyTo(tar, offset);

        var inspect = Assert.Throws<InvalidImageException>(() => ImageInspector.InspectUnified(new MemoryStream(tar)));
        var header = Assert.IsType<InvalidTarHeaderException>(inspect.InnerException);
        Assert.Equal(offset, header.Offset);
    }

    [Fact]
    public void An_intact_image_made_by_the_tools_still_unpacks_and_inspects()
    {
        var image = Image("xz -c");

        var contents = ImageInspector.InspectUnified(new MemoryStream(image));
        var result = ArchiveUnpacker.Unpack(new MemoryStream(image), _dir["unpacked"]);

        Assert.Equal("damaged", contents.Metadata.Properties["description"]);
        Assert.Equal(304, result.Entries);
    }

    [Fact]
    public void A_tar_that_stops_after_its_last_entry_without_end_blocks_is_read_as_tar_reads_it()
    {
        var tar = Image("cat");
        var end = HeaderOffsets(tar).Last();
        var size = Convert.ToInt64(Encoding.ASCII.GetString(tar, end + 124, 11).Trim('\0', ' '), 8);
        var withoutEndBlocks = tar[..(end + 512 + (int)((size + 511) / 512 * 512))];
        File.WriteAllBytes(_dir["no-end.tar"], withoutEndBlocks);
        Shell.Run($"tar -tf {Shell.Q(_dir["no-end.tar"])} > /dev/null");

        var contents = ImageInspector.InspectUnified(new MemoryStream(withoutEndBlocks));
        var result = ArchiveUnpacker.Unpack(new MemoryStream(withoutEndBlocks), _dir["unpacked"]);

        Assert.Equal("damaged", contents.Metadata.Properties["description"]);
        Assert.Equal(304, result.Entries);
    }

    private static string ToolTest(string format, string file) =>
        Shell.Run($"{format} -t -q {Shell.Q(file)} 2>/dev/null && echo passed || echo failed").Trim();

    // Offsets of the headers of a plain tar, walking entry by entry.
    private static IEnumerable<int> HeaderOffsets(byte[] tar)
    {
        var offset = 0;
        while (offset + 512 <= tar.Length && tar.AsSpan(offset, 512).ContainsAnyExcept((byte)0))
        {
            yield return offset;
            var size = Convert.ToInt64(Encoding.ASCII.GetString(tar, offset + 124, 11).Trim('\0', ' '), 8);
            offset += 512 + (int)((size + 511) / 512 * 512);
        }
    }
}
