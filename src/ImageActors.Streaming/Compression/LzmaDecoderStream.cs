using System.Runtime.InteropServices;

namespace ImageActors.Streaming.Compression;

/// <summary>
/// Decodes .xz (all concatenated streams, multithreaded when the file has several blocks) or legacy .lzma
/// through liblzma.
/// </summary>
public sealed unsafe class LzmaDecoderStream : DecoderStream
{
    /// <summary>Above this much memory the threaded xz decoder falls back to a single thread.</summary>
    private const ulong ThreadingMemoryLimit = 1UL << 30;

    private readonly bool _alone;
    private LibLzma.Stream* _stream;

    /// <summary>Starts decoding. <paramref name="threads"/> above 1 uses liblzma's threaded decoder for .xz.</summary>
    public LzmaDecoderStream(Stream inner, bool lzmaAlone = false, int threads = 2, bool leaveOpen = false, int bufferSize = DefaultBufferSize)
        : base(inner, leaveOpen, bufferSize)
    {
        _alone = lzmaAlone;
        _stream = (LibLzma.Stream*)NativeMemory.AllocZeroed(LibLzma.StreamSize);
        int ret;
        if (lzmaAlone)
        {
            ret = LibLzma.AloneDecoder(_stream, ulong.MaxValue);
        }
        else if (threads > 1 && TryThreadedDecoder(threads, out ret))
        {
        }
        else
        {
            ret = LibLzma.StreamDecoder(_stream, ulong.MaxValue, LibLzma.Concatenated);
        }

        if (ret != LibLzma.Ok)
        {
            Dispose();
            throw new CorruptStreamException(FormatName, $"liblzma could not start a decoder (code {ret})");
        }
    }

    /// <inheritdoc />
    public override string FormatName => _alone ? "lzma" : "xz";

    private bool TryThreadedDecoder(int threads, out int ret)
    {
        byte* mt = stackalloc byte[LibLzma.MtSize];
        LibLzma.FillMt(mt, LibLzma.Concatenated, (uint)threads, 0, ThreadingMemoryLimit);
        try
        {
            ret = LibLzma.StreamDecoderMt(_stream, mt);
            return ret == LibLzma.Ok;
        }
        catch (EntryPointNotFoundException)
        {
            // liblzma before 5.4 has no threaded decoder.
            ret = 0;
            return false;
        }
    }

    /// <inheritdoc />
    protected override bool Decode(ReadOnlySpan<byte> input, Span<byte> output, bool inputEnded, out int consumed, out int produced)
    {
        int ret;
        fixed (byte* pIn = input)
        fixed (byte* pOut = output)
        {
            _stream->NextIn = pIn;
            _stream->AvailIn = (nuint)input.Length;
            _stream->NextOut = pOut;
            _stream->AvailOut = (nuint)output.Length;
            ret = LibLzma.Code(_stream, inputEnded ? LibLzma.ActionFinish : LibLzma.ActionRun);
            consumed = input.Length - (int)_stream->AvailIn;
            produced = output.Length - (int)_stream->AvailOut;
            _stream->NextIn = null;
            _stream->NextOut = null;
        }

        return ret switch
        {
            LibLzma.Ok => false,
            LibLzma.StreamEnd => true,
            LibLzma.BufError when inputEnded => throw new TruncatedStreamException(FormatName),
            LibLzma.BufError => false,
            LibLzma.FormatError => throw new CorruptStreamException(FormatName, "not in the " + FormatName + " format"),
            LibLzma.DataError when inputEnded && consumed == input.Length && produced == 0 => throw new TruncatedStreamException(FormatName),
            LibLzma.DataError => throw new CorruptStreamException(FormatName, "compressed data is corrupt"),
            LibLzma.MemError or LibLzma.MemLimitError => throw new CorruptStreamException(FormatName, "the decoder ran out of memory"),
            _ => throw new CorruptStreamException(FormatName, $"liblzma error {ret}"),
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
