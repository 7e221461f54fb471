using System.Diagnostics;
using ImageActors.Streaming.Archives;
using ImageActors.Streaming.Compression;
using ImageActors.Streaming.Hashing;
using ImageActors.Streaming.Storage;

namespace ImageActors.StreamingBench;

/// <summary>
/// Whole-command entry points for comparing the streaming core with reference tools (perf/streaming/bench.sh):
/// <c>import FILE [ROOTFS] DATADIR [--no-fsync]</c>, <c>hash FILE...</c>, <c>decompress FILE</c>, <c>unpack FILE DIR</c>.
/// Each prints its result on stdout and its peak RSS on stderr.
/// </summary>
public static class Program
{
    public static async Task<int> Main(string[] args)
    {
        if (args.Length < 2)
        {
            await Console.Error.WriteLineAsync("usage: import FILE [ROOTFS] DATADIR [--no-fsync] | hash FILE... | decompress FILE | unpack FILE DIR");
            return 2;
        }

        var watch = Stopwatch.StartNew();
        var rest = args[1..].Where(a => !a.StartsWith("--", StringComparison.Ordinal)).ToArray();
        var durable = !args.Contains("--no-fsync");
        switch (args[0])
        {
            case "import":
                var store = new BlobStore(rest[^1], new BlobStoreOptions(Durable: durable));
                var stored = rest.Length == 3
                    ? await store.ImportSplitFilesAsync(rest[0], rest[1])
                    : await store.ImportFileAsync(rest[0]);
                Console.WriteLine(stored.Fingerprint);
                break;
            case "hash":
                Console.WriteLine(await ImageHasher.HashFilesAsync(rest));
                break;
            case "decompress":
                using (var file = new FileStream(rest[0], new FileStreamOptions { BufferSize = 0, Options = FileOptions.SequentialScan }))
                using (var tar = Codecs.DecompressTarball(file, out _))
                {
                    var buffer = new byte[1 << 20];
                    long total = 0;
                    int n;
                    while ((n = tar.Read(buffer)) > 0)
                    {
                        total += n;
                    }

                    Console.WriteLine(total);
                }

                break;
            case "unpack":
                var result = ArchiveUnpacker.UnpackFile(rest[0], rest[1]);
                Console.WriteLine($"{result.Entries} entries, {result.Bytes} bytes");
                break;
            default:
                await Console.Error.WriteLineAsync($"unknown mode {args[0]}");
                return 2;
        }

        await Console.Error.WriteLineAsync($"{args[0]}: {watch.Elapsed.TotalSeconds:F3} s, peak RSS {PeakRssKiB() / 1024} MiB");
        return 0;
    }

    private static long PeakRssKiB()
    {
        foreach (var line in File.ReadLines("/proc/self/status"))
        {
            if (line.StartsWith("VmHWM:", StringComparison.Ordinal))
            {
                return long.Parse(line.Split(' ', StringSplitOptions.RemoveEmptyEntries)[1], System.Globalization.CultureInfo.InvariantCulture);
            }
        }

        return -1;
    }
}
