using System.Formats.Tar;
using System.Globalization;
using System.Security.Cryptography;
using System.Text;

namespace ImageActors.LoadTests.Scenarios;

/// <summary>Unified images (plain tar: <c>metadata.yaml</c> and a rootfs) made up for a run, each different from every other.</summary>
public static class GeneratedImages
{
    /// <summary>A small image: metadata and one 64-byte file.</summary>
    public static byte[] Small(string prefix, long number) => Unified(prefix, number, Encoding.UTF8.GetBytes($"{prefix}-{number}".PadRight(64, '.')));

    /// <summary>An image whose rootfs holds <paramref name="size"/> random bytes (so compression cannot shrink it).</summary>
    public static byte[] OfSize(string prefix, long number, int size)
    {
        var payload = new byte[size];
        new Random(HashCode.Combine(prefix, number)).NextBytes(payload);
        return Unified(prefix, number, payload);
    }

    /// <summary>The fingerprint of a unified image: SHA-256 of the file.</summary>
    public static string Fingerprint(byte[] image) => Convert.ToHexStringLower(SHA256.HashData(image));

    private static byte[] Unified(string prefix, long number, byte[] payload)
    {
        using var tar = new MemoryStream();
        using (var writer = new TarWriter(tar, TarEntryFormat.Pax, leaveOpen: true))
        {
            var yaml = string.Create(
                CultureInfo.InvariantCulture,
                $"architecture: x86_64\ncreation_date: {1700000000 + number}\nproperties:\n  os: Bench\n  release: \"{number}\"\n  description: {prefix} {number}\n");
            Add(writer, TarEntryType.RegularFile, "metadata.yaml", Encoding.UTF8.GetBytes(yaml));
            Add(writer, TarEntryType.Directory, "rootfs/", null);
            Add(writer, TarEntryType.RegularFile, "rootfs/data", payload);
        }

        return tar.ToArray();
    }

    private static void Add(TarWriter writer, TarEntryType type, string name, byte[]? data)
    {
        var entry = new PaxTarEntry(type, name) { ModificationTime = DateTimeOffset.UnixEpoch.AddSeconds(1700000000) };
        if (data is not null)
        {
            entry.DataStream = new MemoryStream(data);
        }

        writer.WriteEntry(entry);
    }
}
