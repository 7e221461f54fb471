using System.Security.Cryptography;

namespace ImageActors.Server.Tests.Support;

/// <summary>Image files for tests: random bytes behind the magic numbers the format sniffer looks for.</summary>
public static class TestImages
{
    private static readonly byte[] Xz = [0xFD, 0x37, 0x7A, 0x58, 0x5A, 0x00];
    private static readonly byte[] SquashFs = "hsqs"u8.ToArray();
    private static readonly byte[] Qcow2 = [0x51, 0x46, 0x49, 0xFB];

    public static string Unified(string directory, int size = 200_000) => Write(directory, "image.tar.xz", Xz, size);

    public static (string Metadata, string Rootfs) Split(string directory, bool vm = false, int size = 300_000) =>
        (Write(directory, "meta.tar.xz", Xz, 4_000), vm ? Write(directory, "disk.qcow2", Qcow2, size) : Write(directory, "rootfs.squashfs", SquashFs, size));

    public static string Sha256Hex(params byte[][] parts)
    {
        using var hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        foreach (var part in parts)
        {
            hash.AppendData(part);
        }

        return Convert.ToHexStringLower(hash.GetHashAndReset());
    }

    private static string Write(string directory, string name, byte[] magic, int size)
    {
        var bytes = new byte[size];
        RandomNumberGenerator.Fill(bytes);
        magic.CopyTo(bytes, 0);
        var path = Path.Combine(directory, Guid.NewGuid().ToString("N")[..8] + "-" + name);
        File.WriteAllBytes(path, bytes);
        return path;
    }
}
