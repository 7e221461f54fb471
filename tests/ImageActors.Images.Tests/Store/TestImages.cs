using System.Formats.Tar;
using System.Text;

namespace ImageActors.Images.Tests.Store;

/// <summary>Builds small but real Incus images (tarballs with metadata.yaml) in a temp folder.</summary>
internal static class TestImages
{
    public static string MetadataYaml(string architecture = "x86_64", long creation = 1_767_225_600, string os = "Debian", string release = "12", long? expiry = null, params (string Key, string Value)[] extra)
    {
        var yaml = new StringBuilder()
            .Append("architecture: ").AppendLine(architecture)
            .Append("creation_date: ").AppendLine(creation.ToString(System.Globalization.CultureInfo.InvariantCulture));
        if (expiry is { } e)
        {
            yaml.Append("expiry_date: ").AppendLine(e.ToString(System.Globalization.CultureInfo.InvariantCulture));
        }

        yaml.AppendLine("properties:")
            .Append("  os: ").AppendLine(os)
            .Append("  release: \"").Append(release).AppendLine("\"")
            .Append("  description: ").Append(os).Append(' ').AppendLine(release);
        foreach (var (key, value) in extra)
        {
            yaml.Append("  ").Append(key).Append(": \"").Append(value).AppendLine("\"");
        }

        return yaml.ToString();
    }

    /// <summary>A unified container image: metadata.yaml plus a rootfs/ tree whose content depends on <paramref name="seed"/>.</summary>
    public static string Unified(string directory, string seed, string? yaml = null)
    {
        var path = Path.Combine(directory, $"unified-{seed}.tar");
        using var file = File.Create(path);
        using var tar = new TarWriter(file, TarEntryFormat.Pax, leaveOpen: false);
        Add(tar, "metadata.yaml", yaml ?? MetadataYaml());
        tar.WriteEntry(new PaxTarEntry(TarEntryType.Directory, "rootfs/") { ModificationTime = DateTimeOffset.UnixEpoch });
        Add(tar, "rootfs/etc/hostname", seed + "\n");
        Add(tar, "rootfs/etc/payload", new string('x', 4096) + seed);
        return path;
    }

    /// <summary>A split image: metadata tarball and a rootfs tarball.</summary>
    public static (string Metadata, string Rootfs) Split(string directory, string seed)
    {
        var meta = Path.Combine(directory, $"meta-{seed}.tar");
        using (var file = File.Create(meta))
        using (var tar = new TarWriter(file, TarEntryFormat.Pax, leaveOpen: false))
        {
            Add(tar, "metadata.yaml", MetadataYaml(os: "Alpine", release: "3.20"));
        }

        var rootfs = Path.Combine(directory, $"rootfs-{seed}.tar");
        using (var file = File.Create(rootfs))
        using (var tar = new TarWriter(file, TarEntryFormat.Pax, leaveOpen: false))
        {
            Add(tar, "etc/hostname", seed + "\n");
        }

        return (meta, rootfs);
    }

    private static void Add(TarWriter tar, string name, string content)
    {
        var entry = new PaxTarEntry(TarEntryType.RegularFile, name)
        {
            DataStream = new MemoryStream(Encoding.UTF8.GetBytes(content)),
            ModificationTime = DateTimeOffset.UnixEpoch,
        };
        tar.WriteEntry(entry);
    }
}
