using ImageActors.Streaming.Compression;
using ZstdSharp.Unsafe;

namespace ImageActors.StreamingBench.ManagedCodecs;

/// <summary>
/// Decodes zstd (all concatenated and skippable frames) through ZstdSharp, the managed port of libzstd's streaming API:
/// the managed alternative to <see cref="ZstdDecoderStream"/>, kept here to measure the two against each other.
/// </summary>
public sealed unsafe class ManagedZstdDecoderStream : DecoderStream
{
    private ZSTD_DCtx_s* _context;
    private bool _atFrameEnd;

    /// <summary>Starts decoding <paramref name="inner"/>.</summary>
    public ManagedZstdDecoderStream(Stream inner, bool leaveOpen = false, int bufferSize = DefaultBufferSize)
        : base(inner, leaveOpen, bufferSize)
    {
        _context = Methods.ZSTD_createDCtx();
        if (_context == null)
        {
            throw new InsufficientMemoryException("ZstdSharp could not create a decompression context.");
        }
    }

    /// <inheritdoc />
    public override string FormatName => "zstd";

    /// <inheritdoc />
    protected override bool Decode(ReadOnlySpan<byte> input, Span<byte> output, bool inputEnded, out int consumed, out int produced)
    {
        nuint hint;
        fixed (byte* pIn = input)
        fixed (byte* pOut = output)
        {
            var inBuffer = new ZSTD_inBuffer_s { src = pIn, size = (nuint)input.Length };
            var outBuffer = new ZSTD_outBuffer_s { dst = pOut, size = (nuint)output.Length };
            hint = Methods.ZSTD_decompressStream(_context, &outBuffer, &inBuffer);
            consumed = (int)inBuffer.pos;
            produced = (int)outBuffer.pos;
        }

        if (Methods.ZSTD_isError(hint))
        {
            throw new CorruptStreamException(FormatName, Methods.ZSTD_getErrorName(hint));
        }

        // A frame boundary is remembered: a call without input after it reports the next frame's header size.
        if (consumed > 0 || produced > 0)
        {
            _atFrameEnd = hint == 0;
        }

        // With all input given and room left in the output, the decoder has flushed everything it can.
        if (inputEnded && consumed == input.Length && produced < output.Length)
        {
            if (_atFrameEnd)
            {
                return true;
            }

            if (produced == 0)
            {
                throw new TruncatedStreamException(FormatName);
            }
        }

        return false;
    }

    /// <inheritdoc />
    protected override void FreeNative()
    {
        if (_context != null)
        {
            Methods.ZSTD_freeDCtx(_context);
            _context = null;
        }
    }
}
