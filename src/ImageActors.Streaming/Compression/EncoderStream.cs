using System.Buffers;

namespace ImageActors.Streaming.Compression;

/// <summary>
/// A write-only stream that compresses into an inner stream through a native encoder. Output is gathered in a
/// pooled buffer and written in large pieces; disposing finishes the stream (end marker) and frees native state.
/// </summary>
public abstract class EncoderStream : Stream
{
    private readonly Stream _inner;
    private readonly bool _leaveOpen;
    private byte[]? _output;
    private int _outputLength;
    private bool _finished;

    /// <summary>Wraps <paramref name="inner"/>.</summary>
    protected EncoderStream(Stream inner, bool leaveOpen, int bufferSize)
    {
        ArgumentNullException.ThrowIfNull(inner);
        _inner = inner;
        _leaveOpen = leaveOpen;
        _output = ArrayPool<byte>.Shared.Rent(bufferSize);
    }

    /// <summary>Free output space the encoder needs before each call (LZ4F needs a whole compressed block).</summary>
    protected virtual int MinimumOutputSpace => 1;

    /// <summary>Runs the encoder once; with <paramref name="finish"/> returns true once the end of the stream is written.</summary>
    protected abstract bool Encode(ReadOnlySpan<byte> input, Span<byte> output, bool finish, out int consumed, out int produced);

    /// <summary>Frees the native encoder state.</summary>
    protected abstract void FreeNative();

    /// <inheritdoc />
    public override void Write(ReadOnlySpan<byte> buffer)
    {
        ObjectDisposedException.ThrowIf(_output is null, this);
        while (!buffer.IsEmpty)
        {
            EnsureSpace();
            Encode(buffer, _output.AsSpan(_outputLength), false, out var consumed, out var produced);
            _outputLength += produced;
            buffer = buffer[consumed..];
        }
    }

    /// <inheritdoc />
    public override void Write(byte[] buffer, int offset, int count) => Write(buffer.AsSpan(offset, count));

    /// <inheritdoc />
    public override ValueTask WriteAsync(ReadOnlyMemory<byte> buffer, CancellationToken cancellationToken = default)
    {
        cancellationToken.ThrowIfCancellationRequested();
        Write(buffer.Span);
        return ValueTask.CompletedTask;
    }

    /// <inheritdoc />
    public override Task WriteAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken) =>
        WriteAsync(buffer.AsMemory(offset, count), cancellationToken).AsTask();

    private void EnsureSpace()
    {
        if (_output!.Length - _outputLength < Math.Max(MinimumOutputSpace, 1))
        {
            _inner.Write(_output, 0, _outputLength);
            _outputLength = 0;
        }
    }

    /// <summary>Writes the end of the compressed stream. Called by dispose; calling it earlier is allowed.</summary>
    public void Finish()
    {
        ObjectDisposedException.ThrowIf(_output is null, this);
        if (_finished)
        {
            return;
        }

        while (true)
        {
            EnsureSpace();
            var done = Encode(ReadOnlySpan<byte>.Empty, _output.AsSpan(_outputLength), true, out _, out var produced);
            _outputLength += produced;
            if (done)
            {
                break;
            }

            if (produced == 0)
            {
                // Output full: flush it and go on.
                _inner.Write(_output, 0, _outputLength);
                _outputLength = 0;
            }
        }

        _inner.Write(_output, 0, _outputLength);
        _outputLength = 0;
        _inner.Flush();
        _finished = true;
    }

    /// <inheritdoc />
    public override void Flush()
    {
        // Compressed data is only complete after Finish; flushing the inner stream keeps callers' expectations.
        _inner.Flush();
    }

    /// <inheritdoc />
    public override bool CanRead => false;

    /// <inheritdoc />
    public override bool CanSeek => false;

    /// <inheritdoc />
    public override bool CanWrite => _output is not null;

    /// <inheritdoc />
    public override long Length => throw new NotSupportedException();

    /// <inheritdoc />
    public override long Position
    {
        get => throw new NotSupportedException();
        set => throw new NotSupportedException();
    }

    /// <inheritdoc />
    public override int Read(byte[] buffer, int offset, int count) => throw new NotSupportedException();

    /// <inheritdoc />
    public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();

    /// <inheritdoc />
    public override void SetLength(long value) => throw new NotSupportedException();

    /// <inheritdoc />
    protected override void Dispose(bool disposing)
    {
        if (_output is not null)
        {
            try
            {
                if (disposing)
                {
                    Finish();
                }
            }
            finally
            {
                FreeNative();
                ArrayPool<byte>.Shared.Return(_output);
                _output = null;
                if (disposing && !_leaveOpen)
                {
                    _inner.Dispose();
                }
            }
        }

        base.Dispose(disposing);
    }
}
