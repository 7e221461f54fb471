namespace ImageActors.Streaming.Compression;

/// <summary>Decodes the LZ4 frame format (concatenated and skippable frames) through liblz4's LZ4F API.</summary>
public sealed unsafe class Lz4DecoderStream : DecoderStream
{
    private nint _context;
    private bool _atFrameEnd;

    /// <summary>Starts decoding <paramref name="inner"/>.</summary>
    public Lz4DecoderStream(Stream inner, bool leaveOpen = false, int bufferSize = DefaultBufferSize)
        : base(inner, leaveOpen, bufferSize)
    {
        nint context;
        var code = LibLz4.CreateDecompressionContext(&context, LibLz4.Version);
        if (LibLz4.IsError(code) != 0)
        {
            throw new InsufficientMemoryException($"liblz4 could not create a decompression context: {LibLz4.ErrorName(code)}.");
        }

        _context = context;
    }

    /// <inheritdoc />
    public override string FormatName => "lz4";

    /// <inheritdoc />
    protected override bool Decode(ReadOnlySpan<byte> input, Span<byte> output, bool inputEnded, out int consumed, out int produced)
    {
        nuint hint;
        fixed (byte* pIn = input)
        fixed (byte* pOut = output)
        {
            var srcSize = (nuint)input.Length;
            var dstSize = (nuint)output.Length;
            hint = LibLz4.Decompress(_context, pOut, &dstSize, pIn, &srcSize, null);
            consumed = (int)srcSize;
            produced = (int)dstSize;
        }

        if (LibLz4.IsError(hint) != 0)
        {
            throw new CorruptStreamException(FormatName, LibLz4.ErrorName(hint));
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
        if (_context != 0)
        {
            LibLz4.FreeDecompressionContext(_context);
            _context = 0;
        }
    }
}
