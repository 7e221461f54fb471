using System.Runtime.ExceptionServices;
using System.Threading.Channels;

namespace ImageActors.Streaming.Storage;

/// <summary>
/// One copy of a stream into a <see cref="PendingFile"/>, in three stages on threads of their own: the reader fills
/// large aligned buffers from the source; the hasher feeds each full buffer to SHA-256 while the writer hands the
/// same buffer to the disk (direct I/O where the file system has it). Hashing is the slowest stage, so the copy runs
/// at the speed of SHA-256 with the source's copy into memory and the disk's wait beside it, not in front of it. At
/// most <see cref="RingSize"/> pooled buffers of <see cref="PieceSize"/> exist per copy (the first is only
/// <see cref="FirstPieceSize"/>), so memory stays flat whatever the size of the file, and the reader waits when the
/// hash or the disk is behind.
/// </summary>
internal sealed class PipelinedCopy : IDisposable
{
    /// <summary>Bytes handed on at once: few hand-overs between threads per GiB.</summary>
    internal const int PieceSize = 2 << 20;

    /// <summary>Buffers per copy: one being filled, one being hashed and written, the rest queued.</summary>
    internal const int RingSize = 4;

    /// <summary>
    /// The first buffer of a copy: a small upload (a metadata tarball, a small image) needs no more, so a burst of
    /// them holds 64 KiB each rather than a full piece; a larger source goes on in full pieces.
    /// </summary>
    internal const int FirstPieceSize = 64 << 10;

    private readonly PendingFile _file;
    private readonly IProgress<long>? _progress;
    private readonly CancellationToken _callerToken;
    private readonly CancellationTokenSource _stop;
    private readonly List<Piece> _rented = new(RingSize);
    private readonly Channel<Piece> _free = Channel.CreateBounded<Piece>(new BoundedChannelOptions(RingSize) { SingleReader = true, SingleWriter = false });
    private readonly Channel<Piece> _toHash = Channel.CreateBounded<Piece>(new BoundedChannelOptions(RingSize) { SingleReader = true, SingleWriter = true });
    private readonly Channel<Piece> _toWrite = Channel.CreateBounded<Piece>(new BoundedChannelOptions(RingSize) { SingleReader = true, SingleWriter = true });
    private ExceptionDispatchInfo? _writeFailure;

    public PipelinedCopy(PendingFile file, IProgress<long>? progress, CancellationToken cancellationToken)
    {
        _file = file;
        _progress = progress;
        _callerToken = cancellationToken;
        _stop = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
    }

    /// <summary>Copies <paramref name="source"/> to its end; returns when every byte read was hashed and written, or throws.</summary>
    public async Task<long> RunAsync(Stream source)
    {
        var hasher = Task.Factory.StartNew(HashAll, CancellationToken.None, TaskCreationOptions.LongRunning, TaskScheduler.Default);
        var writer = Task.Factory.StartNew(WriteAll, CancellationToken.None, TaskCreationOptions.LongRunning, TaskScheduler.Default);
        Exception? readFailure = null;
        long total = 0;
        try
        {
            // A plain file is read with blocking reads on a pool thread: its asynchronous reads would only do the
            // same, one hop between threads later.
            total = source is FileStream { IsAsync: false } file
                ? await Task.Run(() => ReadAllAsync(source, file), CancellationToken.None).ConfigureAwait(false)
                : await ReadAllAsync(source, null).ConfigureAwait(false);
        }
        catch (Exception e)
        {
            readFailure = e;
            _toHash.Writer.TryComplete(e);
            _toWrite.Writer.TryComplete(e);
            await _stop.CancelAsync().ConfigureAwait(false);
        }

        await Task.WhenAll(hasher, writer).ConfigureAwait(false);

        // The writer's failure (a full disk) is the cause when the reader merely saw the copy being stopped.
        _callerToken.ThrowIfCancellationRequested();
        _writeFailure?.Throw();
        if (readFailure is not null)
        {
            ExceptionDispatchInfo.Throw(readFailure);
        }

        return total;
    }

    private async Task<long> ReadAllAsync(Stream source, FileStream? file)
    {
        long total = 0;
        var token = _stop.Token;
        while (true)
        {
            var piece = await TakeFreePieceAsync(token).ConfigureAwait(false);
            var filled = 0;
            var ended = false;
            while (filled < piece.Buffer.Length)
            {
                token.ThrowIfCancellationRequested();
                var n = file is not null
                    ? file.Read(piece.Buffer.Span[filled..])
                    : await source.ReadAsync(piece.Buffer.Memory[filled..], token).ConfigureAwait(false);
                if (n == 0)
                {
                    ended = true;
                    break;
                }

                filled += n;
            }

            if (filled > 0)
            {
                total += filled;
                piece.Fill(filled);
                await _toHash.Writer.WriteAsync(piece, token).ConfigureAwait(false);
                await _toWrite.Writer.WriteAsync(piece, token).ConfigureAwait(false);
            }
            else
            {
                _free.Writer.TryWrite(piece);
            }

            if (ended)
            {
                _toHash.Writer.Complete();
                _toWrite.Writer.Complete();
                return total;
            }
        }
    }

    // Buffers are rented on demand (a small file needs one small one) up to the ring's size, then recycled.
    private async ValueTask<Piece> TakeFreePieceAsync(CancellationToken token)
    {
        if (_rented.Count == 0)
        {
            return Rent(FirstPieceSize);
        }

        if (!_free.Reader.TryRead(out var piece))
        {
            if (_rented.Count < RingSize)
            {
                return Rent(PieceSize);
            }

            piece = await _free.Reader.ReadAsync(token).ConfigureAwait(false);
        }

        if (piece.Buffer.Length < PieceSize)
        {
            // The first piece is back, both stages done with it: the source is larger, so it is replaced by a full one.
            _rented.Remove(piece);
            piece.Buffer.Dispose();
            return Rent(PieceSize);
        }

        return piece;
    }

    private Piece Rent(int size)
    {
        var piece = new Piece(AlignedBuffer.Rent(size));
        _rented.Add(piece);
        return piece;
    }

    private void HashAll()
    {
        var pieces = _toHash.Reader;
        try
        {
            while (pieces.WaitToReadAsync(_stop.Token).AsTask().GetAwaiter().GetResult())
            {
                while (pieces.TryRead(out var piece))
                {
                    _file.Hash(piece.Bytes);
                    Release(piece);
                }
            }
        }
        catch (Exception)
        {
            // Stopped, or the reader failed: RunAsync reports why.
        }
    }

    private void WriteAll()
    {
        var pieces = _toWrite.Reader;
        try
        {
            while (pieces.WaitToReadAsync(_stop.Token).AsTask().GetAwaiter().GetResult())
            {
                while (pieces.TryRead(out var piece))
                {
                    try
                    {
                        _file.Write(piece.Bytes);
                    }
                    catch (Exception e)
                    {
                        _writeFailure = ExceptionDispatchInfo.Capture(e);
                        _stop.Cancel();
                        return;
                    }

                    Release(piece);
                    _progress?.Report(_file.Length);
                }
            }
        }
        catch (Exception)
        {
            // Stopped, or the reader failed: RunAsync reports why.
        }
    }

    // A buffer is free again when both the hasher and the writer are done with it.
    private void Release(Piece piece)
    {
        if (piece.Release())
        {
            _free.Writer.TryWrite(piece);
        }
    }

    /// <summary>Returns the buffers; call only after <see cref="RunAsync"/> ended (no stage touches them then).</summary>
    public void Dispose()
    {
        foreach (var piece in _rented)
        {
            piece.Buffer.Dispose();
        }

        _rented.Clear();
        _stop.Dispose();
    }

    private sealed class Piece(AlignedBuffer buffer)
    {
        private int _users;

        public AlignedBuffer Buffer { get; } = buffer;

        public int Length { get; private set; }

        public ReadOnlySpan<byte> Bytes => Buffer.Span[..Length];

        public void Fill(int length)
        {
            Length = length;
            _users = 2;
        }

        public bool Release() => Interlocked.Decrement(ref _users) == 0;
    }
}
