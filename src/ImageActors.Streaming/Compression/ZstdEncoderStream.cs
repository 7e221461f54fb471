namespace ImageActors.Streaming.Compression;

/// <summary>Encodes zstd through libzstd's <c>ZSTD_compressStream2</c>, with worker threads when asked.</summary>
public sealed unsafe class ZstdEncoderStream : EncoderStream
{
    private nint _context;

    /// <summary>Starts a frame at <paramref name="level"/> (1–19, up to 22) with <paramref name="workers"/> threads (0 = inline).</summary>
    public ZstdEncoderStream(Stream inner, int level = 3, int workers = 0, bool leaveOpen = false, int bufferSize = DecoderStream.DefaultBufferSize)
        : base(inner, leaveOpen, bufferSize)
    {
        _context = LibZstd.CreateCCtx();
        if (_context == 0)
        {
            throw new InsufficientMemoryException("libzstd could not create a compression context.");
        }

        Check(LibZstd.SetParameter(_context, LibZstd.CompressionLevel, level));
        Check(LibZstd.SetParameter(_context, LibZstd.ChecksumFlag, 1));
        if (workers > 0)
        {
            // A libzstd built without threads rejects this; compressing inline is then the right fallback.
            LibZstd.SetParameter(_context, LibZstd.NbWorkers, workers);
        }
    }

    private void Check(nuint code)
    {
        if (LibZstd.IsError(code) != 0)
        {
            var name = LibZstd.ErrorName(code);
            FreeNative();
            throw new ArgumentException($"libzstd rejected a parameter: {name}.");
        }
    }

    /// <inheritdoc />
    protected override bool Encode(ReadOnlySpan<byte> input, Span<byte> output, bool finish, out int consumed, out int produced)
    {
        nuint remaining;
        fixed (byte* pIn = input)
        fixed (byte* pOut = output)
        {
            var inBuffer = new LibZstd.InBuffer { Src = pIn, Size = (nuint)input.Length };
            var outBuffer = new LibZstd.OutBuffer { Dst = pOut, Size = (nuint)output.Length };
            remaining = LibZstd.CompressStream2(_context, &outBuffer, &inBuffer, finish ? LibZstd.EndFrame : LibZstd.EndContinue);
            consumed = (int)inBuffer.Pos;
            produced = (int)outBuffer.Pos;
        }

        if (LibZstd.IsError(remaining) != 0)
        {
            throw new InvalidOperationException($"libzstd failed to compress: {LibZstd.ErrorName(remaining)}.");
        }

        return finish && remaining == 0;
    }

    /// <inheritdoc />
    protected override void FreeNative()
    {
        if (_context != 0)
        {
            LibZstd.FreeCCtx(_context);
            _context = 0;
        }
    }
}
