using ImageActors.Streaming.Compression;
using ImageActors.Streaming.Formats;
using ImageActors.Streaming.Images;

namespace ImageActors.Fuzz;

/// <summary>Targets of the streaming layer: image tarballs as import inspects them, format sniffing, each decoder, metadata.yaml.</summary>
public static class StreamingTargets
{
    /// <summary>Every streaming target.</summary>
    public static IReadOnlyList<FuzzTarget> All { get; } =
    [
        new("tar", Tarball),
        new("sniff", Sniff),
        new("gzip", s => Decode(s, ImageFileFormat.Gzip)),
        new("bzip2", s => Decode(s, ImageFileFormat.Bzip2)),
        new("xz", s => Decode(s, ImageFileFormat.Xz)),
        new("lzma", s => Decode(s, ImageFileFormat.Lzma)),
        new("zstd", s => Decode(s, ImageFileFormat.Zstd)),
        new("lz4", s => Decode(s, ImageFileFormat.Lz4)),
        new("metadata-yaml", MetadataYamlFile),
    ];

    // What import does with a unified image file: sniff, decompress, read every tar header, parse metadata.yaml.
    private static void Tarball(Stream input)
    {
        try
        {
            ImageInspector.InspectUnified(input);
        }
        catch (Exception e) when (e is InvalidImageException or UnsupportedImageFormatException)
        {
        }
    }

    private static void Sniff(Stream stream)
    {
        using var input = new MemoryStream();
        stream.CopyTo(input);
        input.Position = 0;
        var head = new byte[FormatSniffer.HeaderLength];
        var length = input.ReadAtLeast(head, head.Length, throwOnEndOfStream: false);
        var format = FormatSniffer.Detect(head.AsSpan(0, length));
        if (format != ImageFileFormat.Unknown)
        {
            _ = format.Extension();
        }

        if (!format.IsTarball())
        {
            return;
        }

        // The sniffed head must be handed on whole: the decoder sees the same bytes from the start.
        input.Position = 0;
        try
        {
            using var tar = Codecs.DecompressTarball(input, out var again, leaveOpen: true);
            if (again != format)
            {
                throw new InvalidOperationException($"Sniffing the same bytes twice gave {format} then {again}");
            }

            var first = new byte[512];
            _ = tar.ReadAtLeast(first, first.Length, throwOnEndOfStream: false);
        }
        catch (Exception e) when (e is CorruptStreamException or TruncatedStreamException)
        {
        }
    }

    private static void Decode(Stream input, ImageFileFormat format)
    {
        try
        {
            using var decoded = Codecs.Decompress(input, format, leaveOpen: true);
            FuzzTarget.Drain(decoded);
        }
        catch (Exception e) when (e is CorruptStreamException or TruncatedStreamException)
        {
        }
    }

    private static void MetadataYamlFile(Stream input)
    {
        try
        {
            MetadataYaml.Read(input);
        }
        catch (InvalidImageException)
        {
        }
    }
}
