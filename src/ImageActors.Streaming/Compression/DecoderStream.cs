using System.Buffers;

namespace ImageActors.Streaming.Compression;

/// <summary>
/// A read-only stream that decodes a compressed inner stream through a native decoder, straight into the
/// caller's buffer. The input buffer is pooled; the native state is freed on dispose.
/// </summary>
public abstract class DecoderStream : ForwardReadStream
{
    /// <summary>Default size of the pooled input buffer: large reads keep native calls and syscalls rare.</summary>
    public const int DefaultBufferSize = 1 << 20;

    private readonly Stream _inner;
    private readonly bool _leaveOpen;
    private byte[]? _input;
    private int _inputPos;
    private int _inputLength;
    private bool _inputEnded;
    private bool _finished;
    private long _compressedBytes;

    /// <summary>Wraps <paramref name="inner"/>.</summary>
    protected DecoderStream(Stream inner, bool leaveOpen, int bufferSize)
    {
        ArgumentNullException.ThrowIfNull(inner);
        _inner = inner;
        _leaveOpen = leaveOpen;
        _input = ArrayPool<byte>.Shared.Rent(bufferSize);
    }

    /// <summary>Name of the format, used in errors ("xz", "zstd", ...).</summary>
    public abstract string FormatName { get; }

    /// <summary>Compressed bytes read from the inner stream so far (for ratio limits).</summary>
    public long CompressedBytesRead => _compressedBytes;

    /// <summary>
    /// Runs the decoder once. <paramref name="inputEnded"/> says that <paramref name="input"/> is all that is left.
    /// Returns true when the compressed data ended properly (no more output will come).
    /// </summary>
    protected abstract bool Decode(ReadOnlySpan<byte> input, Span<byte> output, bool inputEnded, out int consumed, out int produced);

    /// <inheritdoc />
    public override int Read(Span<byte> buffer)
    {
        ObjectDisposedException.ThrowIf(_input is null, this);
        if (buffer.IsEmpty || _finished)
        {
            return 0;
        }

        var idle = 0;
        while (true)
        {
            if (_inputPos == _inputLength && !_inputEnded)
            {
                _inputPos = 0;
                _inputLength = _inner.Read(_input);
                _compressedBytes += _inputLength;
                _inputEnded = _inputLength == 0;
                idle = 0;
            }

            var ended = Decode(_input.AsSpan(_inputPos, _inputLength - _inputPos), buffer, _inputEnded, out var consumed, out var produced);
            _inputPos += consumed;
            if (ended)
            {
                _finished = true;
                return produced;
            }

            if (produced > 0)
            {
                return produced;
            }

            if (consumed > 0)
            {
                idle = 0;
                continue;
            }

            // Some decoders (liblzma) need a second call without progress before they admit they are stuck.
            if (++idle >= 3)
            {
                if (_inputEnded)
                {
                    throw new TruncatedStreamException(FormatName);
                }

                throw new CorruptStreamException(FormatName, "the decoder made no progress");
            }
        }
    }

    /// <inheritdoc />
    public override ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default)
    {
        // Decoding is CPU work; the inner read is usually a file. Keeping it synchronous avoids a state machine per call.
        cancellationToken.ThrowIfCancellationRequested();
        return ValueTask.FromResult(Read(buffer.Span));
    }

    /// <inheritdoc />
    public override Task<int> ReadAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken) =>
        ReadAsync(buffer.AsMemory(offset, count), cancellationToken).AsTask();

    /// <inheritdoc />
    public override bool CanRead => _input is not null;

    /// <summary>Frees the native decoder state.</summary>
    protected abstract void FreeNative();

    /// <inheritdoc />
    protected override void Dispose(bool disposing)
    {
        if (_input is not null)
        {
            FreeNative();
            ArrayPool<byte>.Shared.Return(_input);
            _input = null;
            if (disposing && !_leaveOpen)
            {
                _inner.Dispose();
            }
        }

        base.Dispose(disposing);
    }
}
