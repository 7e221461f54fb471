using BenchmarkDotNet.Attributes;
using ImageActors.Streaming.Compression;

namespace ImageActors.Benchmarks.Streaming;

/// <summary>
/// Budget: our streaming decoders run within 10% of the native library's own speed; the baseline is the BCL's
/// gzip (zlib-ng) on the same data, for scale. Allocation per decode is constant (pooled 1 MiB buffers).
/// <c>dotnet run -c Release --project perf/ImageActors.Benchmarks -- --filter '*DecompressBenchmarks*'</c>
/// </summary>
[MemoryDiagnoser]
public class DecompressBenchmarks
{
    private readonly byte[] _buffer = new byte[1 << 20];
    private byte[] _gzip = [];
    private byte[] _zstd = [];
    private byte[] _xz = [];
    private byte[] _lz4 = [];

    [GlobalSetup]
    public void Setup()
    {
        var data = new byte[32 << 20];
        new Random(1).NextBytes(data.AsSpan(0, data.Length / 2));
        for (var i = data.Length / 2; i < data.Length; i++)
        {
            data[i] = (byte)"root:x:0:0:root:/root:/bin/bash\n"[i % 32];
        }

        _gzip = Compress(data, CompressionAlgorithm.Gzip);
        _zstd = Compress(data, CompressionAlgorithm.Zstd);
        _xz = Compress(data, CompressionAlgorithm.Xz);
        _lz4 = Compress(data, CompressionAlgorithm.Lz4);
    }

    private static byte[] Compress(byte[] data, CompressionAlgorithm algorithm)
    {
        var output = new MemoryStream();
        using (var encoder = Codecs.Compress(output, algorithm, new CompressionOptions(Threads: 2), leaveOpen: true))
        {
            encoder.Write(data);
        }

        return output.ToArray();
    }

    private long Drain(Stream stream)
    {
        long total = 0;
        int n;
        while ((n = stream.Read(_buffer)) > 0)
        {
            total += n;
        }

        stream.Dispose();
        return total;
    }

    [Benchmark(Baseline = true)]
    public long GzipBcl() => Drain(new System.IO.Compression.GZipStream(new MemoryStream(_gzip), System.IO.Compression.CompressionMode.Decompress));

    [Benchmark]
    public long Gzip() => Drain(new GzipDecoderStream(new MemoryStream(_gzip)));

    [Benchmark]
    public long Zstd() => Drain(new ZstdDecoderStream(new MemoryStream(_zstd)));

    [Benchmark]
    public long Xz() => Drain(new LzmaDecoderStream(new MemoryStream(_xz)));

    [Benchmark]
    public long Lz4() => Drain(new Lz4DecoderStream(new MemoryStream(_lz4)));
}
