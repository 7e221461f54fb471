namespace ImageActors.Streaming.Compression;

/// <summary>Encodes one LZ4 frame (content checksum on) through liblz4's LZ4F API.</summary>
public sealed unsafe class Lz4EncoderStream : EncoderStream
{
    private const int ChunkSize = 256 * 1024;
    private nint _context;
    private LibLz4.Preferences _preferences;
    private readonly int _bound;
    private bool _begun;

    /// <summary>Starts a frame at <paramref name="level"/> (0 = fast, 3–12 = high compression).</summary>
    public Lz4EncoderStream(Stream inner, int level = 0, bool leaveOpen = false, int bufferSize = DecoderStream.DefaultBufferSize)
        : base(inner, leaveOpen, bufferSize)
    {
        nint context;
        var code = LibLz4.CreateCompressionContext(&context, LibLz4.Version);
        if (LibLz4.IsError(code) != 0)
        {
            throw new InsufficientMemoryException($"liblz4 could not create a compression context: {LibLz4.ErrorName(code)}.");
        }

        _context = context;
        _preferences = new LibLz4.Preferences { ContentChecksumFlag = 1, CompressionLevel = level };
        fixed (LibLz4.Preferences* prefs = &_preferences)
        {
            // Room for the frame header (at most 19 bytes) plus the worst case of one chunk or of the frame end.
            _bound = (int)LibLz4.CompressBound(ChunkSize, prefs) + 32;
        }
    }

    /// <inheritdoc />
    protected override int MinimumOutputSpace => _bound;

    /// <inheritdoc />
    protected override bool Encode(ReadOnlySpan<byte> input, Span<byte> output, bool finish, out int consumed, out int produced)
    {
        produced = 0;
        consumed = 0;
        fixed (byte* pOut = output)
        fixed (LibLz4.Preferences* prefs = &_preferences)
        {
            if (!_begun)
            {
                produced += (int)Check(LibLz4.CompressBegin(_context, pOut, (nuint)output.Length, prefs));
                _begun = true;
            }

            if (finish)
            {
                produced += (int)Check(LibLz4.CompressEnd(_context, pOut + produced, (nuint)(output.Length - produced), null));
                return true;
            }

            var chunk = input[..Math.Min(input.Length, ChunkSize)];
            fixed (byte* pIn = chunk)
            {
                produced += (int)Check(LibLz4.CompressUpdate(_context, pOut + produced, (nuint)(output.Length - produced), pIn, (nuint)chunk.Length, null));
            }

            consumed = chunk.Length;
            return false;
        }
    }

    private static nuint Check(nuint code) =>
        LibLz4.IsError(code) != 0 ? throw new InvalidOperationException($"liblz4 failed to compress: {LibLz4.ErrorName(code)}.") : code;

    /// <inheritdoc />
    protected override void FreeNative()
    {
        if (_context != 0)
        {
            LibLz4.FreeCompressionContext(_context);
            _context = 0;
        }
    }
}
