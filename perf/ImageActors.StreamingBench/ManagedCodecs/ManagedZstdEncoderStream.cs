using ImageActors.Streaming.Compression;
using ZstdSharp.Unsafe;

namespace ImageActors.StreamingBench.ManagedCodecs;

/// <summary>Encodes zstd (content checksum on) through ZstdSharp's port of <c>ZSTD_compressStream2</c>, with worker threads when asked.</summary>
public sealed unsafe class ManagedZstdEncoderStream : EncoderStream
{
    private ZSTD_CCtx_s* _context;

    /// <summary>Starts a frame at <paramref name="level"/> (1–19, up to 22) with <paramref name="workers"/> threads (0 = inline).</summary>
    public ManagedZstdEncoderStream(Stream inner, int level = 3, int workers = 0, bool leaveOpen = false, int bufferSize = DecoderStream.DefaultBufferSize)
        : base(inner, leaveOpen, bufferSize)
    {
        _context = Methods.ZSTD_createCCtx();
        if (_context == null)
        {
            throw new InsufficientMemoryException("ZstdSharp could not create a compression context.");
        }

        Check(Methods.ZSTD_CCtx_setParameter(_context, ZSTD_cParameter.ZSTD_c_compressionLevel, level));
        Check(Methods.ZSTD_CCtx_setParameter(_context, ZSTD_cParameter.ZSTD_c_checksumFlag, 1));
        if (workers > 0)
        {
            // Where workers are not supported, compressing inline is the right fallback.
            Methods.ZSTD_CCtx_setParameter(_context, ZSTD_cParameter.ZSTD_c_nbWorkers, workers);
        }
    }

    private void Check(nuint code)
    {
        if (Methods.ZSTD_isError(code))
        {
            var name = Methods.ZSTD_getErrorName(code);
            FreeNative();
            throw new ArgumentException($"zstd rejected a parameter: {name}.");
        }
    }

    /// <inheritdoc />
    protected override bool Encode(ReadOnlySpan<byte> input, Span<byte> output, bool finish, out int consumed, out int produced)
    {
        nuint remaining;
        fixed (byte* pIn = input)
        fixed (byte* pOut = output)
        {
            var inBuffer = new ZSTD_inBuffer_s { src = pIn, size = (nuint)input.Length };
            var outBuffer = new ZSTD_outBuffer_s { dst = pOut, size = (nuint)output.Length };
            remaining = Methods.ZSTD_compressStream2(_context, &outBuffer, &inBuffer, finish ? ZSTD_EndDirective.ZSTD_e_end : ZSTD_EndDirective.ZSTD_e_continue);
            consumed = (int)inBuffer.pos;
            produced = (int)outBuffer.pos;
        }

        if (Methods.ZSTD_isError(remaining))
        {
            throw new InvalidOperationException($"zstd failed to compress: {Methods.ZSTD_getErrorName(remaining)}.");
        }

        return finish && remaining == 0;
    }

    /// <inheritdoc />
    protected override void FreeNative()
    {
        if (_context != null)
        {
            Methods.ZSTD_freeCCtx(_context);
            _context = null;
        }
    }
}
