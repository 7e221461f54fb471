using System.Buffers;
using System.Collections.Concurrent;
using System.Runtime.ExceptionServices;

namespace ImageActors.Streaming.Compression;

/// <summary>
/// Reads an inner stream (typically a decoder) on a thread of its own, a few pooled 1 MiB pieces ahead of the
/// consumer, so decompressing and consuming (unpacking, writing files) use two cores as <c>tar | zstd</c> does.
/// Errors of the inner stream surface on the consumer's next read, with their own type.
/// </summary>
public sealed class ReadAheadStream : ForwardReadStream
{
    private const int PieceSize = 1 << 20;
    private readonly Stream _inner;
    private readonly bool _leaveOpen;
    private readonly BlockingCollection<Piece> _pieces;
    private readonly CancellationTokenSource _stop = new();
    private readonly Thread _reader;
    private Piece _current;
    private int _offset;
    private bool _ended;

    /// <summary>Starts reading <paramref name="inner"/> ahead, at most <paramref name="piecesAhead"/> pieces.</summary>
    public ReadAheadStream(Stream inner, bool leaveOpen = false, int piecesAhead = 4)
    {
        ArgumentNullException.ThrowIfNull(inner);
        _inner = inner;
        _leaveOpen = leaveOpen;
        _pieces = new BlockingCollection<Piece>(piecesAhead);
        _reader = new Thread(ReadLoop) { IsBackground = true, Name = "read-ahead" };
        _reader.Start();
    }

    private void ReadLoop()
    {
        try
        {
            while (!_stop.IsCancellationRequested)
            {
                var buffer = ArrayPool<byte>.Shared.Rent(PieceSize);
                var filled = 0;
                while (filled < PieceSize)
                {
                    var n = _inner.Read(buffer, filled, PieceSize - filled);
                    if (n == 0)
                    {
                        break;
                    }

                    filled += n;
                }

                if (filled == 0)
                {
                    ArrayPool<byte>.Shared.Return(buffer);
                    _pieces.Add(new Piece(null, 0, null), _stop.Token);
                    return;
                }

                _pieces.Add(new Piece(buffer, filled, null), _stop.Token);
            }
        }
        catch (OperationCanceledException) when (_stop.IsCancellationRequested)
        {
        }
        catch (Exception e)
        {
            try
            {
                _pieces.Add(new Piece(null, 0, ExceptionDispatchInfo.Capture(e)), _stop.Token);
            }
            catch (OperationCanceledException)
            {
            }
        }
    }

    /// <inheritdoc />
    public override int Read(Span<byte> buffer)
    {
        while (!_ended && !buffer.IsEmpty)
        {
            if (_current.Buffer is not null && _offset < _current.Length)
            {
                var n = Math.Min(buffer.Length, _current.Length - _offset);
                _current.Buffer.AsSpan(_offset, n).CopyTo(buffer);
                _offset += n;
                return n;
            }

            if (_current.Buffer is not null)
            {
                ArrayPool<byte>.Shared.Return(_current.Buffer);
            }

            _current = _pieces.Take();
            _offset = 0;
            if (_current.Buffer is null)
            {
                _ended = true;
                _current.Error?.Throw();
            }
        }

        return 0;
    }

    /// <inheritdoc />
    protected override void Dispose(bool disposing)
    {
        if (disposing && !_stop.IsCancellationRequested)
        {
            _stop.Cancel();
            _reader.Join();
            while (_pieces.TryTake(out var piece))
            {
                if (piece.Buffer is not null)
                {
                    ArrayPool<byte>.Shared.Return(piece.Buffer);
                }
            }

            if (_current.Buffer is not null)
            {
                ArrayPool<byte>.Shared.Return(_current.Buffer);
                _current = default;
            }

            _pieces.Dispose();
            _stop.Dispose();
            if (!_leaveOpen)
            {
                _inner.Dispose();
            }
        }

        base.Dispose(disposing);
    }

    private readonly record struct Piece(byte[]? Buffer, int Length, ExceptionDispatchInfo? Error);
}
