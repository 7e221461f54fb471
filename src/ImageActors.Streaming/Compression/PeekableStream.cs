namespace ImageActors.Streaming.Compression;

/// <summary>
/// A buffered read-only stream that can show bytes ahead without consuming them, so a format can be sniffed from
/// a stream that cannot seek (an HTTP body, a pipe).
/// </summary>
public sealed class PeekableStream : ForwardReadStream
{
    private readonly Stream _inner;
    private readonly bool _leaveOpen;
    private readonly byte[] _buffer;
    private int _pos;
    private int _length;
    private long _position;

    /// <summary>Wraps <paramref name="inner"/> with a buffer of <paramref name="bufferSize"/> bytes.</summary>
    public PeekableStream(Stream inner, bool leaveOpen = false, int bufferSize = 1 << 16)
    {
        ArgumentNullException.ThrowIfNull(inner);
        ArgumentOutOfRangeException.ThrowIfLessThan(bufferSize, 512);
        _inner = inner;
        _leaveOpen = leaveOpen;
        _buffer = new byte[bufferSize];
    }

    /// <summary>Returns up to <paramref name="count"/> bytes ahead (fewer only at the end of the stream) without consuming them.</summary>
    public ReadOnlySpan<byte> Peek(int count)
    {
        ArgumentOutOfRangeException.ThrowIfGreaterThan(count, _buffer.Length);
        if (_length - _pos < count)
        {
            Buffer.BlockCopy(_buffer, _pos, _buffer, 0, _length - _pos);
            _length -= _pos;
            _pos = 0;
            while (_length < count)
            {
                var n = _inner.Read(_buffer, _length, _buffer.Length - _length);
                if (n == 0)
                {
                    break;
                }

                _length += n;
            }
        }

        return _buffer.AsSpan(_pos, Math.Min(count, _length - _pos));
    }

    /// <summary>Async form of <see cref="Peek"/>: fills the buffer without blocking a thread.</summary>
    public async ValueTask<ReadOnlyMemory<byte>> PeekAsync(int count, CancellationToken cancellationToken = default)
    {
        ArgumentOutOfRangeException.ThrowIfGreaterThan(count, _buffer.Length);
        if (_length - _pos < count)
        {
            Buffer.BlockCopy(_buffer, _pos, _buffer, 0, _length - _pos);
            _length -= _pos;
            _pos = 0;
            while (_length < count)
            {
                var n = await _inner.ReadAsync(_buffer.AsMemory(_length), cancellationToken).ConfigureAwait(false);
                if (n == 0)
                {
                    break;
                }

                _length += n;
            }
        }

        return _buffer.AsMemory(_pos, Math.Min(count, _length - _pos));
    }

    /// <inheritdoc />
    public override int Read(Span<byte> buffer)
    {
        if (_pos < _length)
        {
            var n = Math.Min(buffer.Length, _length - _pos);
            _buffer.AsSpan(_pos, n).CopyTo(buffer);
            _pos += n;
            _position += n;
            return n;
        }

        if (buffer.Length >= _buffer.Length)
        {
            // Large reads bypass the buffer.
            var direct = _inner.Read(buffer);
            _position += direct;
            return direct;
        }

        _pos = 0;
        _length = _inner.Read(_buffer);
        return _length == 0 ? 0 : Read(buffer);
    }

    /// <inheritdoc />
    public override async ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default)
    {
        if (_pos < _length || buffer.Length < _buffer.Length)
        {
            if (_pos == _length)
            {
                _pos = 0;
                _length = await _inner.ReadAsync(_buffer, cancellationToken).ConfigureAwait(false);
            }

            return Read(buffer.Span);
        }

        var direct = await _inner.ReadAsync(buffer, cancellationToken).ConfigureAwait(false);
        _position += direct;
        return direct;
    }

    /// <inheritdoc />
    public override Task<int> ReadAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken) =>
        ReadAsync(buffer.AsMemory(offset, count), cancellationToken).AsTask();

    /// <inheritdoc />
    public override int ReadByte()
    {
        if (_pos == _length && Peek(1).IsEmpty)
        {
            return -1;
        }

        _position++;
        return _buffer[_pos++];
    }

    /// <summary>Bytes consumed so far.</summary>
    public override long Position
    {
        get => _position;
        set => throw new NotSupportedException();
    }

    /// <inheritdoc />
    protected override void Dispose(bool disposing)
    {
        if (disposing && !_leaveOpen)
        {
            _inner.Dispose();
        }

        base.Dispose(disposing);
    }
}
