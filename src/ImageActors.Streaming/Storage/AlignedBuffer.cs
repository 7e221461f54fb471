using System.Collections.Concurrent;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;

namespace ImageActors.Streaming.Storage;

/// <summary>
/// A pooled buffer whose first byte sits on a <see cref="SequentialFileWriter.Alignment"/> boundary of memory that
/// never moves, so that a <see cref="SequentialFileWriter"/> can hand it to the disk without a copy (direct I/O).
/// Dispose returns it to the pool; it must not be touched afterwards.
/// </summary>
public sealed class AlignedBuffer : IDisposable
{
    // Kept per size, at most this many bytes in all: a few copies' rings, not every buffer a burst ever rented.
    private const long PoolLimitBytes = 64L << 20;

    private static readonly ConcurrentDictionary<int, ConcurrentQueue<byte[]>> Pool = new();
    private static long _pooledBytes;

    private byte[]? _array;
    private readonly int _offset;

    private AlignedBuffer(byte[] array, int length)
    {
        _array = array;
        _offset = OffsetOf(array);
        Length = length;
    }

    /// <summary>The buffer's size in bytes.</summary>
    public int Length { get; }

    /// <summary>The whole buffer.</summary>
    public Memory<byte> Memory => Array.AsMemory(_offset, Length);

    /// <summary>The whole buffer.</summary>
    public Span<byte> Span => Array.AsSpan(_offset, Length);

    private byte[] Array => _array ?? throw new ObjectDisposedException(nameof(AlignedBuffer));

    /// <summary>Takes a buffer of <paramref name="length"/> bytes from the pool, or makes one.</summary>
    public static AlignedBuffer Rent(int length)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(length);
        if (Pool.TryGetValue(length, out var queue) && queue.TryDequeue(out var array))
        {
            Interlocked.Add(ref _pooledBytes, -array.Length);
            return new AlignedBuffer(array, length);
        }

        // Pinned (the pinned object heap), so the aligned address holds for the array's whole life.
        return new AlignedBuffer(GC.AllocateUninitializedArray<byte>(length + SequentialFileWriter.Alignment, pinned: true), length);
    }

    /// <summary>Gives the buffer back to the pool.</summary>
    public void Dispose()
    {
        var array = Interlocked.Exchange(ref _array, null);
        if (array is null)
        {
            return;
        }

        if (Interlocked.Add(ref _pooledBytes, array.Length) <= PoolLimitBytes)
        {
            Pool.GetOrAdd(Length, static _ => new ConcurrentQueue<byte[]>()).Enqueue(array);
        }
        else
        {
            Interlocked.Add(ref _pooledBytes, -array.Length);
        }
    }

    private static unsafe int OffsetOf(byte[] array)
    {
        var address = (nuint)Unsafe.AsPointer(ref MemoryMarshal.GetArrayDataReference(array));
        var misalignment = (int)(address % SequentialFileWriter.Alignment);
        return misalignment == 0 ? 0 : SequentialFileWriter.Alignment - misalignment;
    }
}
