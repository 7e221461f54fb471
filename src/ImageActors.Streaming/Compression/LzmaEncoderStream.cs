using System.Runtime.InteropServices;

namespace ImageActors.Streaming.Compression;

/// <summary>Encodes .xz (threaded, multi-block when <c>threads</c> is above 1) or legacy .lzma through liblzma.</summary>
public sealed unsafe class LzmaEncoderStream : EncoderStream
{
    private const int LzmaOptionsSize = 256;
    private readonly string _format;
    private LibLzma.Stream* _stream;

    /// <summary>Starts encoding at <paramref name="level"/> (0–9).</summary>
    public LzmaEncoderStream(Stream inner, bool lzmaAlone = false, int level = 6, int threads = 1, bool leaveOpen = false, int bufferSize = DecoderStream.DefaultBufferSize)
        : base(inner, leaveOpen, bufferSize)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(level);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(level, 9);
        _format = lzmaAlone ? "lzma" : "xz";
        _stream = (LibLzma.Stream*)NativeMemory.AllocZeroed(LibLzma.StreamSize);
        int ret;
        if (lzmaAlone)
        {
            byte* options = stackalloc byte[LzmaOptionsSize];
            new Span<byte>(options, LzmaOptionsSize).Clear();
            LibLzma.LzmaPreset(options, (uint)level);
            ret = LibLzma.AloneEncoder(_stream, options);
        }
        else if (threads > 1)
        {
            byte* mt = stackalloc byte[LibLzma.MtSize];
            LibLzma.FillMt(mt, 0, (uint)threads, (uint)level, 0);
            ret = LibLzma.StreamEncoderMt(_stream, mt);
        }
        else
        {
            ret = LibLzma.EasyEncoder(_stream, (uint)level, LibLzma.CheckCrc64);
        }

        if (ret != LibLzma.Ok)
        {
            FreeNative();
            throw new InvalidOperationException($"liblzma could not start an {_format} encoder (code {ret}).");
        }
    }

    /// <inheritdoc />
    protected override bool Encode(ReadOnlySpan<byte> input, Span<byte> output, bool finish, out int consumed, out int produced)
    {
        int ret;
        fixed (byte* pIn = input)
        fixed (byte* pOut = output)
        {
            _stream->NextIn = pIn;
            _stream->AvailIn = (nuint)input.Length;
            _stream->NextOut = pOut;
            _stream->AvailOut = (nuint)output.Length;
            ret = LibLzma.Code(_stream, finish ? LibLzma.ActionFinish : LibLzma.ActionRun);
            consumed = input.Length - (int)_stream->AvailIn;
            produced = output.Length - (int)_stream->AvailOut;
            _stream->NextIn = null;
            _stream->NextOut = null;
        }

        return ret switch
        {
            LibLzma.Ok or LibLzma.BufError => false,
            LibLzma.StreamEnd => true,
            _ => throw new InvalidOperationException($"liblzma failed to encode {_format} (code {ret})."),
        };
    }

    /// <inheritdoc />
    protected override void FreeNative()
    {
        if (_stream != null)
        {
            LibLzma.End(_stream);
            NativeMemory.Free(_stream);
            _stream = null;
        }
    }
}
