using ImageActors.Streaming.Formats;

namespace ImageActors.Streaming.Tests;

public sealed class FormatSnifferTests
{
    public static TheoryData<byte[], ImageFileFormat, string> Magics => new()
    {
        { [0x42, 0x5A, 0x68], ImageFileFormat.Bzip2, ".tar.bz2" },
        { [0x1F, 0x8B, 0x08], ImageFileFormat.Gzip, ".tar.gz" },
        { [0xFD, 0x37, 0x7A, 0x58, 0x5A, 0x00], ImageFileFormat.Xz, ".tar.xz" },
        { [0x00, 0x37, 0x7A, 0x58, 0x5A, 0x00], ImageFileFormat.Lzma, ".tar.lzma" },
        { [0x5D, 0x00, 0x00, 0x80], ImageFileFormat.Lzma, ".tar.lzma" },
        { [0x28, 0xB5, 0x2F, 0xFD], ImageFileFormat.Zstd, ".tar.zst" },
        { [0x04, 0x22, 0x4D, 0x18], ImageFileFormat.Lz4, ".tar.lz4" },
        { [0x68, 0x73, 0x71, 0x73], ImageFileFormat.SquashFs, ".squashfs" },
        { [0x51, 0x46, 0x49, 0xFB], ImageFileFormat.Qcow2, ".qcow2" },
        { [0x4B, 0x44, 0x4D, 0x56], ImageFileFormat.Vmdk, ".vmdk" },
    };

    [Theory]
    [MemberData(nameof(Magics))]
    public void Each_magic_number_is_detected_with_its_export_extension(byte[] magic, ImageFileFormat expected, string extension)
    {
        var head = new byte[FormatSniffer.HeaderLength];
        magic.CopyTo(head, 0);

        var format = FormatSniffer.Detect(head);

        Assert.Equal(expected, format);
        Assert.Equal(extension, format.Extension());
    }

    [Fact]
    public void A_plain_tarball_is_detected_by_ustar_at_offset_257()
    {
        var head = new byte[FormatSniffer.HeaderLength];
        "ustar"u8.CopyTo(head.AsSpan(257));
        var shifted = new byte[FormatSniffer.HeaderLength];
        "ustar"u8.CopyTo(shifted.AsSpan(256));

        Assert.Equal(ImageFileFormat.Tar, FormatSniffer.Detect(head));
        Assert.Equal(".tar", FormatSniffer.Detect(head).Extension());
        Assert.Equal(ImageFileFormat.Unknown, FormatSniffer.Detect(shifted));
    }

    [Fact]
    public void Unknown_bytes_and_short_files_are_unsupported()
    {
        Assert.Equal(ImageFileFormat.Unknown, FormatSniffer.Detect(new byte[300]));
        Assert.Equal(ImageFileFormat.Unknown, FormatSniffer.Detect([0x1F]));
        Assert.Equal(ImageFileFormat.Unknown, FormatSniffer.Detect([]));
        Assert.Throws<UnsupportedImageFormatException>(() => ImageFileFormat.Unknown.Extension());
    }
}
