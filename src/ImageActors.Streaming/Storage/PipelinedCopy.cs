using System.Buffers;
using System.Runtime.ExceptionServices;
using System.Threading.Channels;

namespace ImageActors.Streaming.Storage;

/// <summary>
/// One copy of a stream into a <see cref="PendingFile"/>, in two stages that overlap on two cores: the reader
/// reads <see cref="PendingFile.ChunkSize"/> at a time into a large buffer and hashes each read at once (still
/// in the CPU's cache); the writer, on a thread of its own, writes full buffers to the file. At most
/// <see cref="RingSize"/> pooled buffers of <see cref="PieceSize"/> exist per copy, so memory stays flat
/// whatever the size of the file, and the reader waits when the writer (the disk) is behind.
/// </summary>
internal sealed class PipelinedCopy : IDisposable
{
    /// <summary>Bytes handed to the writer at once: few hand-overs between threads per GiB.</summary>
    internal const int PieceSize = 4 << 20;

    /// <summary>Buffers per copy: one being filled, one being written, two queued.</summary>
    internal const int RingSize = 4;

    private readonly PendingFile _file;
    private readonly IProgress<long>? _progress;
    private readonly CancellationToken _callerToken;
    private readonly CancellationTokenSource _stop;
    private readonly List<byte[]> _rented = new(RingSize);
    private readonly Channel<byte[]> _free = Channel.CreateBounded<byte[]>(new BoundedChannelOptions(RingSize) { SingleReader = true, SingleWriter = true });
    private readonly Channel<Piece> _full = Channel.CreateBounded<Piece>(new BoundedChannelOptions(RingSize) { SingleReader = true, SingleWriter = true });
    private ExceptionDispatchInfo? _writeFailure;

    public PipelinedCopy(PendingFile file, IProgress<long>? progress, CancellationToken cancellationToken)
    {
        _file = file;
        _progress = progress;
        _callerToken = cancellationToken;
        _stop = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
    }

    /// <summary>Copies <paramref name="source"/> to its end; returns when every byte read was written, or throws.</summary>
    public async Task<long> RunAsync(Stream source)
    {
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
            _full.Writer.TryComplete(e);
            await _stop.CancelAsync().ConfigureAwait(false);
        }

        await writer.ConfigureAwait(false);

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
            var buffer = await TakeFreeBufferAsync(token).ConfigureAwait(false);
            var filled = 0;
            var ended = false;
            while (filled < PieceSize)
            {
                token.ThrowIfCancellationRequested();
                var want = Math.Min(PendingFile.ChunkSize, PieceSize - filled);
                var n = file is not null
                    ? file.Read(buffer, filled, want)
                    : await source.ReadAsync(buffer.AsMemory(filled, want), token).ConfigureAwait(false);
                if (n == 0)
                {
                    ended = true;
                    break;
                }

                _file.Hash(buffer.AsSpan(filled, n));
                filled += n;
            }

            if (filled > 0)
            {
                total += filled;
                await _full.Writer.WriteAsync(new Piece(buffer, filled), token).ConfigureAwait(false);
            }

            if (ended)
            {
                _full.Writer.Complete();
                return total;
            }
        }
    }

    // Buffers are rented on demand (a small file needs one) up to the ring's size, then recycled.
    private ValueTask<byte[]> TakeFreeBufferAsync(CancellationToken token)
    {
        if (_free.Reader.TryRead(out var buffer))
        {
            return new ValueTask<byte[]>(buffer);
        }

        if (_rented.Count < RingSize)
        {
            buffer = ArrayPool<byte>.Shared.Rent(PieceSize);
            _rented.Add(buffer);
            return new ValueTask<byte[]>(buffer);
        }

        return _free.Reader.ReadAsync(token);
    }

    private void WriteAll()
    {
        var pieces = _full.Reader;
        try
        {
            while (pieces.WaitToReadAsync(_stop.Token).AsTask().GetAwaiter().GetResult())
            {
                while (pieces.TryRead(out var piece))
                {
                    try
                    {
                        _file.Write(piece.Buffer.AsSpan(0, piece.Length));
                    }
                    catch (Exception e)
                    {
                        _writeFailure = ExceptionDispatchInfo.Capture(e);
                        _stop.Cancel();
                        return;
                    }

                    _free.Writer.TryWrite(piece.Buffer);
                    _progress?.Report(_file.Length);
                }
            }
        }
        catch (Exception)
        {
            // Stopped, or the reader failed: RunAsync reports why.
        }
    }

    /// <summary>Returns the buffers; call only after <see cref="RunAsync"/> ended (neither stage touches them then).</summary>
    public void Dispose()
    {
        foreach (var buffer in _rented)
        {
            ArrayPool<byte>.Shared.Return(buffer);
        }

        _rented.Clear();
        _stop.Dispose();
    }

    private readonly record struct Piece(byte[] Buffer, int Length);
}
