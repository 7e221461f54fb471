using System.Runtime.InteropServices;

namespace ImageActors.Streaming.Compression;

/// <summary>
/// Decodes gzip (all concatenated members) through the system zlib. The BCL's <see cref="System.IO.Compression.GZipStream"/>
/// returns short data without an error for a truncated file, which an image store cannot accept.
/// </summary>
public sealed unsafe class GzipDecoderStream : DecoderStream
{
    private LibZ.ZStream* _stream;
    private bool _memberEnded;

    /// <summary>Starts decoding <paramref name="inner"/>.</summary>
    public GzipDecoderStream(Stream inner, bool leaveOpen = false, int bufferSize = DefaultBufferSize)
        : base(inner, leaveOpen, bufferSize)
    {
        _stream = (LibZ.ZStream*)NativeMemory.AllocZeroed(LibZ.StreamSize);

        // 15 + 16: a 32 KiB window, gzip wrapper only.
        var ret = LibZ.InflateInit2(_stream, 15 + 16, "1.2.13", LibZ.StreamSize);
        if (ret != LibZ.Ok)
        {
            NativeMemory.Free(_stream);
            _stream = null;
            throw new InvalidOperationException($"zlib could not start a decoder (code {ret}).");
        }
    }

    /// <inheritdoc />
    public override string FormatName => "gzip";

    /// <inheritdoc />
    protected override bool Decode(ReadOnlySpan<byte> input, Span<byte> output, bool inputEnded, out int consumed, out int produced)
    {
        consumed = 0;
        produced = 0;
        if (_memberEnded)
        {
            if (input.IsEmpty)
            {
                return inputEnded;
            }

            if (input[0] != 0x1F)
            {
                // Like gzip(1), bytes after the last member that do not start another member are ignored.
                consumed = input.Length;
                return inputEnded;
            }

            LibZ.InflateReset(_stream);
            _memberEnded = false;
        }

        int ret;
        fixed (byte* pIn = input)
        fixed (byte* pOut = output)
        {
            _stream->NextIn = pIn;
            _stream->AvailIn = (uint)input.Length;
            _stream->NextOut = pOut;
            _stream->AvailOut = (uint)output.Length;
            ret = LibZ.Inflate(_stream, LibZ.NoFlush);
            consumed = input.Length - (int)_stream->AvailIn;
            produced = output.Length - (int)_stream->AvailOut;
            _stream->NextIn = null;
            _stream->NextOut = null;
        }

        switch (ret)
        {
            case LibZ.StreamEnd:
                _memberEnded = true;
                return inputEnded && consumed == input.Length;
            case LibZ.Ok:
                return false;
            case LibZ.BufError when inputEnded && consumed == input.Length:
                throw new TruncatedStreamException(FormatName);
            case LibZ.BufError:
                return false;
            default:
                throw new CorruptStreamException(FormatName, ret == LibZ.NeedDict ? "a preset dictionary is needed" : ZlibMessage(ret));
        }
    }

    // zlib says what it found ("incorrect data check", "invalid block type") in msg.
    private string ZlibMessage(int ret) =>
        _stream->Msg == null ? $"zlib error {ret}" : Marshal.PtrToStringUTF8((nint)_stream->Msg) ?? $"zlib error {ret}";

    /// <inheritdoc />
    protected override void FreeNative()
    {
        if (_stream != null)
        {
            LibZ.InflateEnd(_stream);
            NativeMemory.Free(_stream);
            _stream = null;
        }
    }
}
