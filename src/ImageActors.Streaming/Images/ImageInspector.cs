using System.Formats.Tar;
using ImageActors.Streaming.Archives;
using ImageActors.Streaming.Compression;
using ImageActors.Streaming.Formats;

namespace ImageActors.Streaming.Images;

/// <summary>The kind of instance an image makes (API field <c>type</c>).</summary>
public enum ImageType
{
    /// <summary>No root marker was found (Incus says "unknown" too).</summary>
    Unknown = 0,

    /// <summary>A system container: the image has a <c>rootfs/</c> tree (or a squashfs / tarball rootfs).</summary>
    Container,

    /// <summary>A virtual machine: the image has a <c>rootfs.img</c> qcow2 disk.</summary>
    VirtualMachine,
}

/// <summary>What an image's files hold.</summary>
/// <param name="Metadata">The parsed metadata.yaml.</param>
/// <param name="Type">Container or virtual machine.</param>
/// <param name="IsSplit">Two files (metadata + rootfs) rather than one.</param>
/// <param name="MetadataFormat">Format of the unified or metadata file (<see cref="ImageFileFormat.Unknown"/> for a directory).</param>
/// <param name="RootfsFormat">Format of a split image's rootfs file.</param>
/// <param name="TemplateFiles">Files seen under <c>templates/</c>.</param>
public sealed record ImageContents(
    ImageMetadata Metadata,
    ImageType Type,
    bool IsSplit,
    ImageFileFormat MetadataFormat,
    ImageFileFormat? RootfsFormat,
    IReadOnlyList<string> TemplateFiles);

/// <summary>
/// Reads an image's metadata and type from its files. A tarball is read to its end, so that a file damaged anywhere
/// (a flipped byte in the rootfs after metadata.yaml too) is refused by its codec's integrity check or its tar headers
/// before it becomes an image.
/// </summary>
public static class ImageInspector
{
    /// <summary>The API name of an image type: <c>container</c>, <c>virtual-machine</c>.</summary>
    public static string ApiName(this ImageType type) => type switch
    {
        ImageType.Container => "container",
        ImageType.VirtualMachine => "virtual-machine",
        _ => "unknown",
    };

    /// <summary>Inspects a unified image, a split image (when <paramref name="rootfsPath"/> is given) or an image directory.</summary>
    public static ImageContents Inspect(string path, string? rootfsPath = null)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        if (Directory.Exists(path))
        {
            return InspectDirectory(path);
        }

        using var file = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read, 1 << 16, FileOptions.SequentialScan);
        if (rootfsPath is null)
        {
            return InspectUnified(file);
        }

        var rootfsFormat = FormatSniffer.DetectFile(rootfsPath);
        return InspectSplit(file, rootfsFormat);
    }

    /// <summary>
    /// Reads a unified tarball (any compression) to its end: metadata.yaml, the root marker (<c>rootfs/</c> or
    /// <c>rootfs.img</c>), every tar header's checksum and, at the end, the codec's own integrity check.
    /// </summary>
    public static ImageContents InspectUnified(Stream image)
    {
        var scan = Scan(image, out var format);
        if (scan.Metadata is null)
        {
            throw new InvalidImageException(MetadataYaml.MissingMessage);
        }

        return new ImageContents(scan.Metadata, scan.Type, false, format, null, scan.Templates);
    }

    /// <summary>
    /// Reads a split image's metadata tarball; the rootfs format decides the type (qcow2 is a virtual machine,
    /// anything else a container), as the Incus client does.
    /// </summary>
    public static ImageContents InspectSplit(Stream metadataTarball, ImageFileFormat rootfsFormat)
    {
        var scan = Scan(metadataTarball, out var format);
        if (scan.Metadata is null)
        {
            throw new InvalidImageException(MetadataYaml.MissingMessage);
        }

        var type = rootfsFormat == ImageFileFormat.Qcow2 ? ImageType.VirtualMachine : ImageType.Container;
        return new ImageContents(scan.Metadata, type, true, format, rootfsFormat, scan.Templates);
    }

    /// <summary>Reads an unpacked image directory: <c>metadata.yaml</c>, <c>rootfs/</c> or <c>rootfs.img</c>, <c>templates/</c>.</summary>
    public static ImageContents InspectDirectory(string directory)
    {
        var yaml = Path.Combine(directory, "metadata.yaml");
        if (!File.Exists(yaml))
        {
            throw new InvalidImageException(MetadataYaml.MissingMessage);
        }

        ImageMetadata metadata;
        using (var stream = File.OpenRead(yaml))
        {
            metadata = MetadataYaml.Read(stream);
        }

        var type = Directory.Exists(Path.Combine(directory, "rootfs")) ? ImageType.Container
            : File.Exists(Path.Combine(directory, "rootfs.img")) ? ImageType.VirtualMachine
            : ImageType.Unknown;
        var templatesDir = Path.Combine(directory, "templates");
        var templates = Directory.Exists(templatesDir)
            ? Directory.EnumerateFiles(templatesDir, "*", SearchOption.AllDirectories).Select(f => Path.GetRelativePath(templatesDir, f)).Order(StringComparer.Ordinal).ToList()
            : [];
        return new ImageContents(metadata, type, false, ImageFileFormat.Unknown, null, templates);
    }

    /// <summary>An entry name without a leading <c>./</c> (both spellings are valid in images).</summary>
    public static string NormalizeEntryName(string name)
    {
        ArgumentNullException.ThrowIfNull(name);
        while (name.StartsWith("./", StringComparison.Ordinal))
        {
            name = name[2..];
        }

        return name;
    }

    // A damaged file is reported as damaged, in the image error the API answers 400 with, keeping the codec's or tar's error inside.
    private static ScanResult Scan(Stream image, out ImageFileFormat format)
    {
        try
        {
            return ScanEntries(image, out format);
        }
        catch (Exception e) when (e is CorruptStreamException or TruncatedStreamException or InvalidTarHeaderException)
        {
            throw new InvalidImageException("The image file is damaged: " + e.Message, e);
        }
    }

    private static ScanResult ScanEntries(Stream image, out ImageFileFormat format)
    {
        using var tar = Codecs.DecompressTarball(image, out format, leaveOpen: true);
        using var reader = new CheckedTarReader(tar, new UnpackLimits().MaxTotalBytes);
        ImageMetadata? metadata = null;
        var type = ImageType.Unknown;
        var templates = new List<string>();
        while (reader.GetNextEntry() is { } entry)
        {
            var name = NormalizeEntryName(entry.Name);
            if (name == "metadata.yaml" && entry.DataStream is { } data)
            {
                metadata = MetadataYaml.Read(data);
            }
            else if (name.StartsWith("rootfs/", StringComparison.Ordinal))
            {
                type = ImageType.Container;
            }
            else if (name == "rootfs.img")
            {
                type = ImageType.VirtualMachine;
            }
            else if (name.StartsWith("templates/", StringComparison.Ordinal) && entry.EntryType is TarEntryType.RegularFile or TarEntryType.V7RegularFile)
            {
                templates.Add(name["templates/".Length..]);
            }

        }

        return new ScanResult(metadata, type, templates);
    }

    private sealed record ScanResult(ImageMetadata? Metadata, ImageType Type, List<string> Templates);
}
