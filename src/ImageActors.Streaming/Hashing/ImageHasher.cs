using System.Buffers;
using System.Security.Cryptography;
using Microsoft.Win32.SafeHandles;

namespace ImageActors.Streaming.Hashing;

/// <summary>Fingerprints of image files: unified (one file) and split (metadata bytes then rootfs bytes).</summary>
public static class ImageHasher
{
    /// <summary>Read size for hashing files: large enough that syscalls cost nothing next to SHA-256.</summary>
    public const int ReadSize = 1 << 20;

    /// <summary>The fingerprint of a unified image file.</summary>
    public static Task<Fingerprint> HashFileAsync(string path, CancellationToken cancellationToken = default) =>
        HashFilesAsync([path], cancellationToken);

    /// <summary>The fingerprint of a split image: SHA-256 of the metadata file followed by the rootfs file.</summary>
    public static Task<Fingerprint> HashSplitAsync(string metadataPath, string rootfsPath, CancellationToken cancellationToken = default) =>
        HashFilesAsync([metadataPath, rootfsPath], cancellationToken);

    /// <summary>The SHA-256 of the files' bytes one after the other.</summary>
    public static async Task<Fingerprint> HashFilesAsync(IReadOnlyList<string> paths, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(paths);
        using var hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        var buffers = new[] { ArrayPool<byte>.Shared.Rent(ReadSize), ArrayPool<byte>.Shared.Rent(ReadSize) };
        try
        {
            foreach (var path in paths)
            {
                using var handle = File.OpenHandle(path, FileMode.Open, FileAccess.Read, FileShare.Read, FileOptions.SequentialScan);
                await HashHandleAsync(handle, hash, buffers, cancellationToken).ConfigureAwait(false);
            }
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(buffers[0]);
            ArrayPool<byte>.Shared.Return(buffers[1]);
        }

        return Finish(hash);
    }

    // Reads the next block while the current one is hashed: the read is a copy from the page cache or a disk wait,
    // either of which overlaps the SHA-256.
    private static async Task HashHandleAsync(SafeFileHandle handle, IncrementalHash hash, byte[][] buffers, CancellationToken cancellationToken)
    {
        long offset = 0;
        var current = 0;
        var pending = RandomAccess.ReadAsync(handle, buffers[current], offset, cancellationToken);
        while (true)
        {
            var n = await pending.ConfigureAwait(false);
            if (n == 0)
            {
                return;
            }

            offset += n;
            var full = buffers[current];
            current ^= 1;
            pending = RandomAccess.ReadAsync(handle, buffers[current], offset, cancellationToken);
            hash.AppendData(full, 0, n);
        }
    }

    /// <summary>The fingerprint of what <paramref name="hash"/> has seen; the hash is reset.</summary>
    public static Fingerprint Finish(IncrementalHash hash)
    {
        ArgumentNullException.ThrowIfNull(hash);
        Span<byte> digest = stackalloc byte[Fingerprint.ByteLength];
        hash.GetHashAndReset(digest);
        return new Fingerprint(digest);
    }
}
