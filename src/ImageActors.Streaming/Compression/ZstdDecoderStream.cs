namespace ImageActors.Streaming.Compression;

/// <summary>Decodes zstd (all concatenated and skippable frames) through libzstd's streaming API.</summary>
public sealed unsafe class ZstdDecoderStream : DecoderStream
{
    private nint _context;
    private bool _atFrameEnd;

    /// <summary>Starts decoding <paramref name="inner"/>.</summary>
    public ZstdDecoderStream(Stream inner, bool leaveOpen = false, int bufferSize = DefaultBufferSize)
        : base(inner, leaveOpen, bufferSize)
    {
        _context = LibZstd.CreateDCtx();
        if (_context == 0)
        {
            throw new InsufficientMemoryException("libzstd could not create a decompression context.");
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
            var inBuffer = new LibZstd.InBuffer { Src = pIn, Size = (nuint)input.Length };
            var outBuffer = new LibZstd.OutBuffer { Dst = pOut, Size = (nuint)output.Length };
            hint = LibZstd.DecompressStream(_context, &outBuffer, &inBuffer);
            consumed = (int)inBuffer.Pos;
            produced = (int)outBuffer.Pos;
        }

        if (LibZstd.IsError(hint) != 0)
        {
            throw new CorruptStreamException(FormatName, LibZstd.ErrorName(hint));
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
            LibZstd.FreeDCtx(_context);
            _context = 0;
        }
    }
}
