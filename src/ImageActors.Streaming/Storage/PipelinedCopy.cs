using System.Runtime.ExceptionServices;
using System.Threading.Channels;

namespace ImageActors.Streaming.Storage;

/// <summary>
/// One copy of a stream into a <see cref="PendingFile"/>, in three stages on threads of their own: the reader fills
/// large aligned buffers from the source; the hasher feeds each full buffer to SHA-256 while the writer hands the
/// same buffer to the disk (direct I/O where the file system has it). Hashing is the slowest stage, so the copy runs
/// at the speed of SHA-256 with the source's copy into memory and the disk's wait beside it, not in front of it. A copy
/// given a reader of its bytes (an image's check: decompress and read every tar header) runs it as a fourth stage on
/// the same buffers, so the bytes are read from the source once and the check overlaps the hash instead of following
/// it as a second pass over the file. At most <see cref="RingSize"/> pooled buffers of <see cref="PieceSize"/> exist per copy (the first is only
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
    private readonly Channel<Piece>? _toCheck;
    private readonly Action<Stream>? _check;
    private readonly int _stages;
    private ExceptionDispatchInfo? _writeFailure;
    private ExceptionDispatchInfo? _checkFailure;

    public PipelinedCopy(PendingFile file, IProgress<long>? progress, CancellationToken cancellationToken, Action<Stream>? check = null)
    {
        _file = file;
        _progress = progress;
        _callerToken = cancellationToken;
        _stop = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        _check = check;
        _stages = check is null ? 2 : 3;
        _toCheck = check is null ? null : Channel.CreateBounded<Piece>(new BoundedChannelOptions(RingSize) { SingleReader = true, SingleWriter = true });
    }

    /// <summary>
    /// What the check threw, if it failed: thrown by <see cref="RunAsync"/> once the whole source was copied (the
    /// source is read to its end either way, as it was before the check ran beside the copy).
    /// </summary>
    public Exception? CheckFailure => _checkFailure?.SourceException;

    /// <summary>Copies <paramref name="source"/> to its end; returns when every byte read was hashed and written, or throws.</summary>
    public async Task<long> RunAsync(Stream source)
    {
        var hasher = Task.Factory.StartNew(HashAll, CancellationToken.None, TaskCreationOptions.LongRunning, TaskScheduler.Default);
        var writer = Task.Factory.StartNew(WriteAll, CancellationToken.None, TaskCreationOptions.LongRunning, TaskScheduler.Default);
        var checker = _check is null
            ? Task.CompletedTask
            : Task.Factory.StartNew(CheckAll, CancellationToken.None, TaskCreationOptions.LongRunning, TaskScheduler.Default);
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
            _toCheck?.Writer.TryComplete(e);
            await _stop.CancelAsync().ConfigureAwait(false);
        }

        await Task.WhenAll(hasher, writer, checker).ConfigureAwait(false);

        // The writer's failure (a full disk) is the cause when the reader merely saw the copy being stopped.
        _callerToken.ThrowIfCancellationRequested();
        _writeFailure?.Throw();
        if (readFailure is not null)
        {
            ExceptionDispatchInfo.Throw(readFailure);
        }

        _checkFailure?.Throw();
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
                piece.Fill(filled, _stages);
                await _toHash.Writer.WriteAsync(piece, token).ConfigureAwait(false);
                await _toWrite.Writer.WriteAsync(piece, token).ConfigureAwait(false);
                if (_toCheck is not null)
                {
                    await _toCheck.Writer.WriteAsync(piece, token).ConfigureAwait(false);
                }
            }
            else
            {
                _free.Writer.TryWrite(piece);
            }

            if (ended)
            {
                _toHash.Writer.Complete();
                _toWrite.Writer.Complete();
                _toCheck?.Writer.Complete();
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

    // The check reads the pieces as one stream; whatever it leaves unread (it failed, or stopped at the end of the
    // archive) is released here so the other stages never wait for it.
    private void CheckAll()
    {
        var pieces = _toCheck!.Reader;
        using var stream = new PieceStream(this, pieces, _stop.Token);
        try
        {
            _check!(stream);
        }
        catch (Exception e) when (!_stop.IsCancellationRequested)
        {
            _checkFailure = ExceptionDispatchInfo.Capture(e);
        }
        catch (Exception)
        {
            // Stopped, or the reader failed: RunAsync reports why.
        }

        stream.Drain();
    }

    // A buffer is free again when every stage is done with it.
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

        public void Fill(int length, int users)
        {
            Length = length;
            _users = users;
        }

        public bool Release() => Interlocked.Decrement(ref _users) == 0;
    }

    /// <summary>The pieces given to the check, read in order as one forward-only stream.</summary>
    private sealed class PieceStream(PipelinedCopy copy, ChannelReader<Piece> pieces, CancellationToken token) : Stream
    {
        private Piece? _current;
        private int _offset;
        private bool _ended;

        public override bool CanRead => true;

        public override bool CanSeek => false;

        public override bool CanWrite => false;

        public override long Length => throw new NotSupportedException();

        public override long Position { get => throw new NotSupportedException(); set => throw new NotSupportedException(); }

        public override int Read(byte[] buffer, int offset, int count) => Read(buffer.AsSpan(offset, count));

        public override int Read(Span<byte> buffer)
        {
            if (buffer.IsEmpty)
            {
                return 0;
            }

            while (_current is null || _offset == _current.Length)
            {
                if (_current is not null)
                {
                    copy.Release(_current);
                    _current = null;
                }

                if (_ended || !Next())
                {
                    return 0;
                }
            }

            var n = Math.Min(buffer.Length, _current.Length - _offset);
            _current.Bytes.Slice(_offset, n).CopyTo(buffer);
            _offset += n;
            return n;
        }

        /// <summary>Releases the piece being read and every one still to come, to the end of the copy.</summary>
        public void Drain()
        {
            if (_current is not null)
            {
                copy.Release(_current);
                _current = null;
            }

            try
            {
                while (!_ended && Next())
                {
                    copy.Release(_current!);
                    _current = null;
                }
            }
            catch (Exception)
            {
                // Stopped, or the reader failed: RunAsync reports why.
            }
        }

        public override void Flush()
        {
        }

        public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();

        public override void SetLength(long value) => throw new NotSupportedException();

        public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();

        private bool Next()
        {
            while (true)
            {
                if (pieces.TryRead(out var piece))
                {
                    _current = piece;
                    _offset = 0;
                    return true;
                }

                if (!pieces.WaitToReadAsync(token).AsTask().GetAwaiter().GetResult())
                {
                    _ended = true;
                    return false;
                }
            }
        }
    }
}
