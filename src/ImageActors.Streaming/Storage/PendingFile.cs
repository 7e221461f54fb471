using System.Security.Cryptography;
using Microsoft.Win32.SafeHandles;

namespace ImageActors.Streaming.Storage;

/// <summary>
/// A file being written under <c>&lt;data&gt;/tmp</c>, hashed as its bytes arrive. It becomes an image file only
/// when the blob store commits it; disposing an uncommitted one deletes it.
/// </summary>
public sealed class PendingFile : IDisposable
{
    /// <summary>
    /// Size of one read of a copy: large enough that a syscall costs nothing next to hashing it, small enough that
    /// the bytes are still in the CPU's cache when they are hashed.
    /// </summary>
    public const int ChunkSize = 1 << 20;

    // Writeback is started every few MiB so that the fsync at commit has little left to wait for.
    private const long WritebackInterval = 8L << 20;

    // Written-back pages further than this behind the end are dropped from the page cache, so a long write keeps
    // recycling a few MiB of memory instead of taking a fresh page for every byte: on virtual machines whose host
    // reclaims idle memory a fresh page costs several times a recycled one, and a multi-GiB import does not evict
    // everything else from the cache. Dirty pages are never dropped, so this changes nothing about durability.
    private const long DropBehind = 32L << 20;

    private readonly IncrementalHash _hash;
    private SafeFileHandle? _handle;
    private long _writebackStart;
    private long _droppedUpTo;

    internal PendingFile(string path, IncrementalHash hash, PendingFile? hashedAfter)
    {
        Path = path;
        _hash = hash;
        HashedAfter = hashedAfter;
        HashedAfterLength = hashedAfter?.Length ?? 0;
        _handle = File.OpenHandle(path, FileMode.CreateNew, FileAccess.Write, FileShare.Read, FileOptions.None);
    }

    /// <summary>The temp file's path.</summary>
    public string Path { get; }

    /// <summary>Bytes written so far.</summary>
    public long Length { get; private set; }

    /// <summary>The file whose bytes this file's hash continues (the metadata file of a split image).</summary>
    public PendingFile? HashedAfter { get; }

    internal long HashedAfterLength { get; }

    internal bool Committed { get; set; }

    internal SafeFileHandle Handle => _handle ?? throw new ObjectDisposedException(Path);

    /// <summary>The fingerprint of the bytes so far (after those of <see cref="HashedAfter"/>).</summary>
    public Fingerprint CurrentFingerprint()
    {
        Span<byte> digest = stackalloc byte[Fingerprint.ByteLength];
        _hash.GetCurrentHash(digest);
        return new Fingerprint(digest);
    }

    internal IncrementalHash CloneHash() => _hash.Clone();

    internal void Hash(ReadOnlySpan<byte> bytes) => _hash.AppendData(bytes);

    /// <summary>Appends bytes (hashing them).</summary>
    public void Append(ReadOnlySpan<byte> bytes)
    {
        _hash.AppendData(bytes);
        Write(bytes);
    }

    /// <summary>
    /// Copies <paramref name="source"/> to its end into this file in one pass. One stage reads and hashes (each
    /// read is hashed while it is still in the CPU's cache) and a second one, on another thread, writes: they
    /// overlap over a small ring of large pooled buffers, so the copy runs at the speed of SHA-256 and its memory
    /// does not depend on the file's size. Writeback of what was written starts as the copy goes, so that the
    /// fsync at commit has little left to wait for.
    /// </summary>
    /// <returns>The number of bytes copied.</returns>
    /// <param name="source">The bytes to append.</param>
    /// <param name="progress">Told the file's length after each piece is written (for operation progress).</param>
    /// <param name="cancellationToken">Stops the copy; the file keeps what was written (resumable) until disposed.</param>
    public async Task<long> AppendAsync(Stream source, IProgress<long>? progress = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(source);
        using var copy = new PipelinedCopy(this, progress, cancellationToken);
        return await copy.RunAsync(source).ConfigureAwait(false);
    }

    internal void Write(ReadOnlySpan<byte> bytes)
    {
        try
        {
            RandomAccess.Write(Handle, bytes, Length);
        }
        catch (IOException e) when (Posix.IsDiskFull(e))
        {
            throw new InsufficientStorageException(System.IO.Path.GetDirectoryName(Path)!, null, e);
        }

        Length += bytes.Length;
        if (Length - _writebackStart >= WritebackInterval)
        {
            Posix.StartWriteback(Handle, _writebackStart, Length - _writebackStart);
            _writebackStart = Length;
            while (_writebackStart - _droppedUpTo > DropBehind)
            {
                var n = Math.Min(WritebackInterval, _writebackStart - _droppedUpTo);
                Posix.WaitWriteback(Handle, _droppedUpTo, n);
                Posix.DropCache(Handle, _droppedUpTo, n);
                _droppedUpTo += n;
            }
        }
    }

    /// <summary>Makes the bytes durable and closes the file (before a rename).</summary>
    internal void FlushAndClose(bool durable)
    {
        if (_handle is null)
        {
            return;
        }

        if (durable)
        {
            try
            {
                Posix.FlushToDisk(_handle);
            }
            catch (IOException e) when (Posix.IsDiskFull(e))
            {
                throw new InsufficientStorageException(System.IO.Path.GetDirectoryName(Path)!, null, e);
            }
        }

        _handle.Dispose();
        _handle = null;
    }

    /// <summary>Closes the file and, unless it was committed, deletes it.</summary>
    public void Dispose()
    {
        _handle?.Dispose();
        _handle = null;
        _hash.Dispose();
        if (!Committed)
        {
            File.Delete(Path);
        }
    }

}
