using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using Microsoft.Win32.SafeHandles;

namespace ImageActors.Streaming.Storage;

/// <summary>
/// A new file written front to back, as image files are. Writes of whole <see cref="Alignment"/> blocks from an
/// <see cref="AlignedBuffer"/> go straight to the disk (Linux direct I/O): no copy into the page cache, no page
/// taken per byte, and nothing left for the fsync at commit but the disk's own cache. The first write that is not
/// aligned (the tail of a file, a partial read before a resume) switches the file to ordinary writes for the rest;
/// those start writeback as they go and drop written-back pages behind them, so the final fsync waits for little
/// and a long write recycles a few MiB of memory. A file system without direct I/O (tmpfs) gets the ordinary path.
/// </summary>
public sealed class SequentialFileWriter : IDisposable
{
    /// <summary>Alignment of memory, offsets and lengths for direct writes (the largest logical block size in use).</summary>
    public const int Alignment = 4096;

    // Writeback of ordinary writes is started every few MiB so that the fsync at commit has little left to wait for.
    private const long WritebackInterval = 8L << 20;

    // Written-back pages further than this behind the end are dropped from the page cache: on virtual machines whose
    // host reclaims idle memory a fresh page costs several times a recycled one, and a multi-GiB write does not evict
    // everything else from the cache. Dirty pages are never dropped, so this changes nothing about durability.
    private const long DropBehind = 32L << 20;

    private readonly bool _directWanted;
    private SafeFileHandle? _handle;
    private long _writebackStart;
    private long _droppedUpTo;

    private SequentialFileWriter(string path, SafeFileHandle handle, bool direct)
    {
        Path = path;
        _handle = handle;
        _directWanted = direct;
        IsDirect = direct && Posix.TrySetDirect(handle, true);
    }

    /// <summary>The file's path.</summary>
    public string Path { get; }

    /// <summary>Bytes written so far (the offset of the next write).</summary>
    public long Length { get; private set; }

    /// <summary>Whether writes still bypass the page cache.</summary>
    public bool IsDirect { get; private set; }

    /// <summary>The open file.</summary>
    public SafeFileHandle Handle => _handle ?? throw new ObjectDisposedException(Path);

    /// <summary>Creates the file (it must not exist).</summary>
    /// <param name="path">The new file.</param>
    /// <param name="direct">Whether aligned writes may bypass the page cache.</param>
    /// <param name="preallocate">Bytes to reserve on the disk up front (0: none).</param>
    public static SequentialFileWriter Create(string path, bool direct = true, long preallocate = 0)
    {
        var handle = File.OpenHandle(path, FileMode.CreateNew, FileAccess.Write, FileShare.Read, FileOptions.None, preallocate);
        return new SequentialFileWriter(path, handle, direct);
    }

    /// <summary>
    /// Opens a file written before (a download kept to be resumed) to append to it after its first
    /// <paramref name="length"/> bytes; anything beyond them is cut off. Writes go through the page cache.
    /// </summary>
    public static SequentialFileWriter Append(string path, long length)
    {
        var handle = File.OpenHandle(path, FileMode.Open, FileAccess.Write, FileShare.Read);
        try
        {
            RandomAccess.SetLength(handle, length);
        }
        catch
        {
            handle.Dispose();
            throw;
        }

        return new SequentialFileWriter(path, handle, direct: false) { Length = length, _writebackStart = length, _droppedUpTo = length };
    }

    /// <summary>Appends <paramref name="bytes"/> at <see cref="Length"/>.</summary>
    public void Write(ReadOnlySpan<byte> bytes)
    {
        var handle = Handle;
        if (IsDirect && !IsAligned(bytes))
        {
            SwitchToBuffered(handle);
        }

        try
        {
            RandomAccess.Write(handle, bytes, Length);
        }
        catch (IOException e) when (IsDirect && e.HResult == Posix.EINVAL)
        {
            // A file system that took the flag but refuses this write (its blocks are larger, or it is a FUSE mount).
            SwitchToBuffered(handle);
            RandomAccess.Write(handle, bytes, Length);
        }

        Length += bytes.Length;
        if (!IsDirect && Length - _writebackStart >= WritebackInterval)
        {
            Posix.StartWriteback(handle, _writebackStart, Length - _writebackStart);
            _writebackStart = Length;
            while (_writebackStart - _droppedUpTo > DropBehind)
            {
                var n = Math.Min(WritebackInterval, _writebackStart - _droppedUpTo);
                Posix.WaitWriteback(handle, _droppedUpTo, n);
                Posix.DropCache(handle, _droppedUpTo, n);
                _droppedUpTo += n;
            }
        }
    }

    /// <summary>Drops everything written, to start over.</summary>
    public void Truncate()
    {
        var handle = Handle;
        RandomAccess.SetLength(handle, 0);
        Length = 0;
        _writebackStart = 0;
        _droppedUpTo = 0;
        if (_directWanted && !IsDirect)
        {
            IsDirect = Posix.TrySetDirect(handle, true);
        }
    }

    /// <summary>Makes the written bytes durable (fdatasync).</summary>
    public void Flush() => Posix.FlushToDisk(Handle);

    /// <summary>Closes the file (it stays on disk).</summary>
    public void Dispose()
    {
        _handle?.Dispose();
        _handle = null;
    }

    private void SwitchToBuffered(SafeFileHandle handle)
    {
        IsDirect = false;
        Posix.TrySetDirect(handle, false);
        _writebackStart = Length;
        _droppedUpTo = Length;
    }

    private unsafe bool IsAligned(ReadOnlySpan<byte> bytes) =>
        Length % Alignment == 0
        && bytes.Length % Alignment == 0
        && (nuint)Unsafe.AsPointer(ref MemoryMarshal.GetReference(bytes)) % Alignment == 0;
}
