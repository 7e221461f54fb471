using System.Formats.Tar;
using System.Text;
using ImageActors.Images.Tests.Store;

namespace ImageActors.Images.Tests.Remote;

/// <summary>Real Incus images as bytes, for fake servers to serve.</summary>
internal static class RemoteTestImages
{
    /// <summary>A unified image with a rootfs whose random payload of <paramref name="payload"/> bytes depends on <paramref name="seed"/>.</summary>
    public static byte[] Unified(int seed, int payload = 16_384, string os = "Debian", string release = "12")
    {
        using var buffer = new MemoryStream();
        using (var tar = new TarWriter(buffer, TarEntryFormat.Pax, leaveOpen: true))
        {
            Add(tar, "metadata.yaml", Encoding.UTF8.GetBytes(TestImages.MetadataYaml(os: os, release: release)));
            tar.WriteEntry(new PaxTarEntry(TarEntryType.Directory, "rootfs/") { ModificationTime = DateTimeOffset.UnixEpoch });
            Add(tar, "rootfs/etc/payload", Random(payload, seed));
        }

        return buffer.ToArray();
    }

    /// <summary>A split image: a metadata tarball and a rootfs tarball.</summary>
    public static (byte[] Metadata, byte[] Rootfs) Split(int seed, string os = "Alpine", string release = "3.20")
    {
        using var meta = new MemoryStream();
        using (var tar = new TarWriter(meta, TarEntryFormat.Pax, leaveOpen: true))
        {
            Add(tar, "metadata.yaml", Encoding.UTF8.GetBytes(TestImages.MetadataYaml(os: os, release: release)));
        }

        using var rootfs = new MemoryStream();
        using (var tar = new TarWriter(rootfs, TarEntryFormat.Pax, leaveOpen: true))
        {
            Add(tar, "etc/payload", Random(8_192, seed));
        }

        return (meta.ToArray(), rootfs.ToArray());
    }

    private static byte[] Random(int length, int seed)
    {
        var data = new byte[length];
        new Random(seed).NextBytes(data);
        return data;
    }

    private static void Add(TarWriter tar, string name, byte[] content) =>
        tar.WriteEntry(new PaxTarEntry(TarEntryType.RegularFile, name) { DataStream = new MemoryStream(content), ModificationTime = DateTimeOffset.UnixEpoch });
}
