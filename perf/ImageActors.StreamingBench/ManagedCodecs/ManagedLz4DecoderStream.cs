using ImageActors.Streaming;
using ImageActors.Streaming.Compression;
using K4os.Compression.LZ4.Streams;

namespace ImageActors.StreamingBench.ManagedCodecs;

/// <summary>
/// Decodes the LZ4 frame format through K4os.Compression.LZ4, including files of several concatenated frames,
/// with its errors as <see cref="TruncatedStreamException"/> and <see cref="CorruptStreamException"/>.
/// </summary>
public sealed class ManagedLz4DecoderStream : ForwardReadStream
{
    private readonly PeekableStream _inner;
    private readonly Stream _source;
    private readonly bool _leaveOpen;
    private Stream? _current;
    private bool _finished;

    /// <summary>Starts decoding <paramref name="inner"/>.</summary>
    public ManagedLz4DecoderStream(Stream inner, bool leaveOpen = false)
    {
        ArgumentNullException.ThrowIfNull(inner);
        _source = inner;
        _leaveOpen = leaveOpen;
        _inner = inner as PeekableStream ?? new PeekableStream(inner, leaveOpen: true);
        _current = Open();
    }

    private Stream Open() => LZ4Stream.Decode(_inner, extraMemory: 0, leaveOpen: true, interactive: false);

    /// <inheritdoc />
    public override int Read(Span<byte> buffer)
    {
        if (_finished || buffer.IsEmpty)
        {
            return 0;
        }

        while (true)
        {
            int n;
            try
            {
                n = _current!.Read(buffer);
            }
            catch (EndOfStreamException)
            {
                throw new TruncatedStreamException("lz4");
            }
            catch (Exception e) when (e is InvalidDataException or ArgumentException or InvalidOperationException or NotSupportedException)
            {
                throw new CorruptStreamException("lz4", e.Message.TrimEnd('.'));
            }

            if (n > 0)
            {
                return n;
            }

            // This frame ended; another frame (or a skippable one) may follow, anything else ends the data as lz4(1) does.
            _current.Dispose();
            _current = null;
            var next = _inner.Peek(4);
            if (next.Length < 4 || !(next.SequenceEqual((ReadOnlySpan<byte>)[0x04, 0x22, 0x4D, 0x18]) || (next[0] & 0xF0) == 0x50 && next[1..].SequenceEqual((ReadOnlySpan<byte>)[0x2A, 0x4D, 0x18])))
            {
                _finished = true;
                return 0;
            }

            _current = Open();
        }
    }

    /// <inheritdoc />
    public override ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default)
    {
        cancellationToken.ThrowIfCancellationRequested();
        return ValueTask.FromResult(Read(buffer.Span));
    }

    /// <inheritdoc />
    protected override void Dispose(bool disposing)
    {
        if (disposing)
        {
            _current?.Dispose();
            _current = null;
            if (!ReferenceEquals(_inner, _source))
            {
                _inner.Dispose();
            }

            if (!_leaveOpen)
            {
                _source.Dispose();
            }
        }

        base.Dispose(disposing);
    }
}
