using System.Security.Cryptography;
using BenchmarkDotNet.Attributes;
using ImageActors.Streaming.Hashing;
using ImageActors.Streaming.Storage;

namespace ImageActors.Benchmarks.Streaming;

/// <summary>
/// Budget: importing a file into the blob store (read + SHA-256 + write, without fsync here) costs at most
/// 1.1× hashing it alone (baseline: .NET's OpenSSL-backed SHA-256 over a FileStream), and allocates a constant
/// amount whatever the file size.
/// <c>dotnet run -c Release --project perf/ImageActors.Benchmarks -- --filter '*ImportBenchmarks*'</c>
/// </summary>
[MemoryDiagnoser]
public class ImportBenchmarks
{
    private string _dir = "";
    private string _file = "";

    [Params(64)]
    public int SizeMiB { get; set; }

    [GlobalSetup]
    public void Setup()
    {
        _dir = Directory.CreateTempSubdirectory("ia-import-bench-").FullName;
        _file = Path.Combine(_dir, "image.bin");
        var data = new byte[SizeMiB << 20];
        new Random(1).NextBytes(data.AsSpan(0, data.Length / 2));
        for (var i = data.Length / 2; i < data.Length; i++)
        {
            data[i] = (byte)"The quick brown fox jumps over the lazy dog\n"[i % 44];
        }

        File.WriteAllBytes(_file, data);
    }

    [GlobalCleanup]
    public void Cleanup() => Directory.Delete(_dir, recursive: true);

    [Benchmark(Baseline = true)]
    public byte[] Sha256OfFileStream()
    {
        using var stream = File.OpenRead(_file);
        return SHA256.HashData(stream);
    }

    [Benchmark]
    public Task<ImageActors.Streaming.Fingerprint> HashWithReadAhead() => ImageHasher.HashFileAsync(_file);

    [Benchmark]
    public async Task<StoredImage> ImportIntoBlobStore()
    {
        var data = Path.Combine(_dir, "data");
        var store = new BlobStore(data, new BlobStoreOptions(Durable: false));
        var stored = await store.ImportFileAsync(_file);
        store.Delete(stored.Fingerprint);
        return stored;
    }
}
