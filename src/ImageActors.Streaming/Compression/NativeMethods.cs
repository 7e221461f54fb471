using System.Runtime.InteropServices;

namespace ImageActors.Streaming.Compression;

/// <summary>liblzma (xz-utils) entry points and struct layouts for 64-bit Linux.</summary>
internal static unsafe partial class LibLzma
{
    private const string Library = "liblzma.so.5";

    public const int Ok = 0;
    public const int StreamEnd = 1;
    public const int MemError = 5;
    public const int MemLimitError = 6;
    public const int FormatError = 7;
    public const int OptionsError = 8;
    public const int DataError = 9;
    public const int BufError = 10;

    public const int ActionRun = 0;
    public const int ActionFinish = 3;

    public const uint Concatenated = 0x08;
    public const int CheckCrc64 = 4;

    /// <summary>sizeof(lzma_stream); all fields zero is LZMA_STREAM_INIT.</summary>
    public const int StreamSize = 136;

    /// <summary>sizeof(lzma_mt).</summary>
    public const int MtSize = 128;

    [StructLayout(LayoutKind.Sequential)]
    public struct Stream
    {
        public byte* NextIn;
        public nuint AvailIn;
        public ulong TotalIn;
        public byte* NextOut;
        public nuint AvailOut;
        public ulong TotalOut;
    }

    [LibraryImport(Library, EntryPoint = "lzma_stream_decoder")]
    public static partial int StreamDecoder(Stream* strm, ulong memlimit, uint flags);

    [LibraryImport(Library, EntryPoint = "lzma_stream_decoder_mt")]
    public static partial int StreamDecoderMt(Stream* strm, byte* options);

    [LibraryImport(Library, EntryPoint = "lzma_alone_decoder")]
    public static partial int AloneDecoder(Stream* strm, ulong memlimit);

    [LibraryImport(Library, EntryPoint = "lzma_easy_encoder")]
    public static partial int EasyEncoder(Stream* strm, uint preset, int check);

    [LibraryImport(Library, EntryPoint = "lzma_stream_encoder_mt")]
    public static partial int StreamEncoderMt(Stream* strm, byte* options);

    [LibraryImport(Library, EntryPoint = "lzma_alone_encoder")]
    public static partial int AloneEncoder(Stream* strm, byte* options);

    [LibraryImport(Library, EntryPoint = "lzma_lzma_preset")]
    [return: MarshalAs(UnmanagedType.U1)]
    public static partial bool LzmaPreset(byte* options, uint preset);

    [LibraryImport(Library, EntryPoint = "lzma_code")]
    public static partial int Code(Stream* strm, int action);

    [LibraryImport(Library, EntryPoint = "lzma_end")]
    public static partial void End(Stream* strm);

    /// <summary>Fills an lzma_mt block (flags, threads, preset, memory limits) at <paramref name="mt"/>.</summary>
    public static void FillMt(byte* mt, uint flags, uint threads, uint preset, ulong memlimit)
    {
        new Span<byte>(mt, MtSize).Clear();
        *(uint*)(mt + 0) = flags;
        *(uint*)(mt + 4) = threads;
        *(uint*)(mt + 20) = preset;
        *(int*)(mt + 32) = CheckCrc64;
        *(ulong*)(mt + 64) = memlimit; // memlimit_threading: above it the decoder falls back to one thread
        *(ulong*)(mt + 72) = ulong.MaxValue; // memlimit_stop
    }
}

/// <summary>libzstd streaming API.</summary>
internal static unsafe partial class LibZstd
{
    private const string Library = "libzstd.so.1";

    public const int CompressionLevel = 100;
    public const int ChecksumFlag = 201;
    public const int NbWorkers = 400;
    public const int EndContinue = 0;
    public const int EndFrame = 2;

    [StructLayout(LayoutKind.Sequential)]
    public struct InBuffer
    {
        public byte* Src;
        public nuint Size;
        public nuint Pos;
    }

    [StructLayout(LayoutKind.Sequential)]
    public struct OutBuffer
    {
        public byte* Dst;
        public nuint Size;
        public nuint Pos;
    }

    [LibraryImport(Library, EntryPoint = "ZSTD_createDCtx")]
    public static partial nint CreateDCtx();

    [LibraryImport(Library, EntryPoint = "ZSTD_freeDCtx")]
    public static partial nuint FreeDCtx(nint dctx);

    [LibraryImport(Library, EntryPoint = "ZSTD_decompressStream")]
    public static partial nuint DecompressStream(nint dctx, OutBuffer* output, InBuffer* input);

    [LibraryImport(Library, EntryPoint = "ZSTD_createCCtx")]
    public static partial nint CreateCCtx();

    [LibraryImport(Library, EntryPoint = "ZSTD_freeCCtx")]
    public static partial nuint FreeCCtx(nint cctx);

    [LibraryImport(Library, EntryPoint = "ZSTD_CCtx_setParameter")]
    public static partial nuint SetParameter(nint cctx, int parameter, int value);

    [LibraryImport(Library, EntryPoint = "ZSTD_compressStream2")]
    public static partial nuint CompressStream2(nint cctx, OutBuffer* output, InBuffer* input, int endOp);

    [LibraryImport(Library, EntryPoint = "ZSTD_isError")]
    public static partial uint IsError(nuint code);

    [LibraryImport(Library, EntryPoint = "ZSTD_getErrorName")]
    public static partial nint GetErrorName(nuint code);

    public static string ErrorName(nuint code) => Marshal.PtrToStringUTF8(GetErrorName(code)) ?? "unknown error";
}

/// <summary>liblz4 frame (LZ4F) API.</summary>
internal static unsafe partial class LibLz4
{
    private const string Library = "liblz4.so.1";
    public const uint Version = 100;

    /// <summary>LZ4F_preferences_t.</summary>
    [StructLayout(LayoutKind.Sequential)]
    public struct Preferences
    {
        public int BlockSizeId;
        public int BlockMode;
        public int ContentChecksumFlag;
        public int FrameType;
        public ulong ContentSize;
        public uint DictId;
        public int BlockChecksumFlag;
        public int CompressionLevel;
        public uint AutoFlush;
        public uint FavorDecSpeed;
        public uint Reserved0;
        public uint Reserved1;
        public uint Reserved2;
    }

    [LibraryImport(Library, EntryPoint = "LZ4F_createDecompressionContext")]
    public static partial nuint CreateDecompressionContext(nint* dctx, uint version);

    [LibraryImport(Library, EntryPoint = "LZ4F_freeDecompressionContext")]
    public static partial nuint FreeDecompressionContext(nint dctx);

    [LibraryImport(Library, EntryPoint = "LZ4F_decompress")]
    public static partial nuint Decompress(nint dctx, byte* dst, nuint* dstSize, byte* src, nuint* srcSize, void* options);

    [LibraryImport(Library, EntryPoint = "LZ4F_createCompressionContext")]
    public static partial nuint CreateCompressionContext(nint* cctx, uint version);

    [LibraryImport(Library, EntryPoint = "LZ4F_freeCompressionContext")]
    public static partial nuint FreeCompressionContext(nint cctx);

    [LibraryImport(Library, EntryPoint = "LZ4F_compressBound")]
    public static partial nuint CompressBound(nuint srcSize, Preferences* preferences);

    [LibraryImport(Library, EntryPoint = "LZ4F_compressBegin")]
    public static partial nuint CompressBegin(nint cctx, byte* dst, nuint capacity, Preferences* preferences);

    [LibraryImport(Library, EntryPoint = "LZ4F_compressUpdate")]
    public static partial nuint CompressUpdate(nint cctx, byte* dst, nuint capacity, byte* src, nuint srcSize, void* options);

    [LibraryImport(Library, EntryPoint = "LZ4F_compressEnd")]
    public static partial nuint CompressEnd(nint cctx, byte* dst, nuint capacity, void* options);

    [LibraryImport(Library, EntryPoint = "LZ4F_isError")]
    public static partial uint IsError(nuint code);

    [LibraryImport(Library, EntryPoint = "LZ4F_getErrorName")]
    public static partial nint GetErrorName(nuint code);

    public static string ErrorName(nuint code) => Marshal.PtrToStringUTF8(GetErrorName(code)) ?? "unknown error";
}

/// <summary>zlib inflate, used because the BCL's GZipStream cannot tell a truncated stream from a complete one.</summary>
internal static unsafe partial class LibZ
{
    private const string Library = "libz.so.1";
    public const int Ok = 0;
    public const int StreamEnd = 1;
    public const int NeedDict = 2;
    public const int BufError = -5;
    public const int NoFlush = 0;

    /// <summary>sizeof(z_stream) on 64-bit.</summary>
    public const int StreamSize = 112;

    [StructLayout(LayoutKind.Sequential)]
    public struct ZStream
    {
        public byte* NextIn;
        public uint AvailIn;
        public ulong TotalIn;
        public byte* NextOut;
        public uint AvailOut;
        public ulong TotalOut;
        public byte* Msg;
    }

    [LibraryImport(Library, EntryPoint = "inflateInit2_", StringMarshalling = StringMarshalling.Utf8)]
    public static partial int InflateInit2(ZStream* strm, int windowBits, string version, int streamSize);

    [LibraryImport(Library, EntryPoint = "inflate")]
    public static partial int Inflate(ZStream* strm, int flush);

    [LibraryImport(Library, EntryPoint = "inflateReset")]
    public static partial int InflateReset(ZStream* strm);

    [LibraryImport(Library, EntryPoint = "inflateEnd")]
    public static partial int InflateEnd(ZStream* strm);
}
