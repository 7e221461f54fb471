using System.Buffers;
using System.Security.Cryptography;
using System.Threading.Channels;
using Microsoft.Win32.SafeHandles;

namespace ImageActors.Streaming.Storage;

/// <summary>
/// A file being written under <c>&lt;data&gt;/tmp</c>, hashed as its bytes arrive. It becomes an image file only
/// when the blob store commits it; disposing an uncommitted one deletes it.
/// </summary>
public sealed class PendingFile : IDisposable
{
    /// <summary>Size of the pieces a copy moves: large enough that per-piece overhead vanishes, small enough to stay cache-friendly.</summary>
    public const int ChunkSize = 1 << 20;

    // Writeback is started every few MiB so that the fsync at commit has little left to wait for.
    private const long WritebackInterval = 8L << 20;

    private readonly IncrementalHash _hash;
    private SafeFileHandle? _handle;
    private long _writebackStart;

    internal PendingFile(string path, IncrementalHash hash, PendingFile? hashedAfter, bool resume = false)
    {
        Path = path;
        _hash = hash;
        HashedAfter = hashedAfter;
        HashedAfterLength = hashedAfter?.Length ?? 0;
        if (!resume)
        {
            _handle = File.OpenHandle(path, FileMode.CreateNew, FileAccess.Write, FileShare.Read, FileOptions.None);
            return;
        }

        // A resumed download: the bytes already there are hashed once more, then new bytes are appended.
        _handle = File.OpenHandle(path, FileMode.Open, FileAccess.ReadWrite, FileShare.Read, FileOptions.SequentialScan);
        var buffer = ArrayPool<byte>.Shared.Rent(ChunkSize);
        try
        {
            int n;
            while ((n = RandomAccess.Read(_handle, buffer.AsSpan(0, ChunkSize), Length)) > 0)
            {
                _hash.AppendData(buffer, 0, n);
                Length += n;
            }
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(buffer);
        }

        _writebackStart = Length;
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

    /// <summary>Appends bytes (hashing them).</summary>
    public void Append(ReadOnlySpan<byte> bytes)
    {
        _hash.AppendData(bytes);
        Write(bytes);
    }

    /// <summary>
    /// Copies <paramref name="source"/> to its end into this file. Reading, hashing and writing run as a pipeline
    /// on separate threads over pooled 1 MiB pieces, so the copy runs at the speed of the slowest of the three
    /// (SHA-256) and its memory does not depend on the file's size.
    /// </summary>
    /// <returns>The number of bytes copied.</returns>
    /// <param name="source">The bytes to append.</param>
    /// <param name="progress">Told the file's length after each piece is written (for operation progress).</param>
    /// <param name="cancellationToken">Stops the copy; the file keeps what was written (resumable) until disposed.</param>
    public async Task<long> AppendAsync(Stream source, IProgress<long>? progress = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(source);
        using var stop = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        var toHash = Channel.CreateBounded<Piece>(new BoundedChannelOptions(4) { SingleReader = true, SingleWriter = true });
        var toWrite = Channel.CreateBounded<Piece>(new BoundedChannelOptions(4) { SingleReader = true, SingleWriter = true });
        var hasher = Task.Run(() => HashStageAsync(toHash.Reader, toWrite.Writer, stop), CancellationToken.None);
        var writer = Task.Run(() => WriteStageAsync(toWrite.Reader, progress, stop), CancellationToken.None);
        long total = 0;
        try
        {
            while (true)
            {
                var buffer = ArrayPool<byte>.Shared.Rent(ChunkSize);
                var filled = 0;
                while (filled < ChunkSize)
                {
                    var n = await source.ReadAsync(buffer.AsMemory(filled, ChunkSize - filled), stop.Token).ConfigureAwait(false);
                    if (n == 0)
                    {
                        break;
                    }

                    filled += n;
                }

                if (filled == 0)
                {
                    ArrayPool<byte>.Shared.Return(buffer);
                    break;
                }

                total += filled;
                await toHash.Writer.WriteAsync(new Piece(buffer, filled), stop.Token).ConfigureAwait(false);
            }

            toHash.Writer.Complete();
        }
        catch (Exception e)
        {
            toHash.Writer.TryComplete(e);
            await stop.CancelAsync().ConfigureAwait(false);
            await Task.WhenAll(hasher, writer).ContinueWith(_ => { }, TaskScheduler.Default).ConfigureAwait(false);
            ThrowStageFailure(hasher, writer, cancellationToken);
            throw;
        }

        try
        {
            await Task.WhenAll(hasher, writer).ConfigureAwait(false);
        }
        catch (OperationCanceledException)
        {
            ThrowStageFailure(hasher, writer, cancellationToken);
            throw;
        }

        return total;
    }

    // A stage that failed cancels the others; the caller should see the failure (disk full), not the cancellation.
    private static void ThrowStageFailure(Task hasher, Task writer, CancellationToken cancellationToken)
    {
        if (cancellationToken.IsCancellationRequested)
        {
            return;
        }

        foreach (var stage in new[] { writer, hasher })
        {
            if (stage.Exception?.InnerException is { } failure and not OperationCanceledException)
            {
                System.Runtime.ExceptionServices.ExceptionDispatchInfo.Throw(failure);
            }
        }
    }

    private async Task HashStageAsync(ChannelReader<Piece> input, ChannelWriter<Piece> output, CancellationTokenSource stop)
    {
        try
        {
            await foreach (var piece in input.ReadAllAsync(stop.Token).ConfigureAwait(false))
            {
                _hash.AppendData(piece.Buffer, 0, piece.Length);
                await output.WriteAsync(piece, stop.Token).ConfigureAwait(false);
            }

            output.Complete();
        }
        catch (Exception e)
        {
            output.TryComplete(e);
            await stop.CancelAsync().ConfigureAwait(false);
            throw;
        }
    }

    private async Task WriteStageAsync(ChannelReader<Piece> input, IProgress<long>? progress, CancellationTokenSource stop)
    {
        try
        {
            await foreach (var piece in input.ReadAllAsync(stop.Token).ConfigureAwait(false))
            {
                Write(piece.Buffer.AsSpan(0, piece.Length));
                ArrayPool<byte>.Shared.Return(piece.Buffer);
                progress?.Report(Length);
            }
        }
        catch (Exception)
        {
            await stop.CancelAsync().ConfigureAwait(false);
            throw;
        }
    }

    private void Write(ReadOnlySpan<byte> bytes)
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

    private readonly record struct Piece(byte[] Buffer, int Length);
}
