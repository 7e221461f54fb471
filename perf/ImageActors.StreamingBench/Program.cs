using System.Diagnostics;
using ImageActors.Streaming.Archives;
using ImageActors.Streaming.Compression;
using ImageActors.Streaming.Hashing;
using ImageActors.Streaming.Storage;
using ImageActors.StreamingBench.ManagedCodecs;

namespace ImageActors.StreamingBench;

/// <summary>
/// Whole-command entry points for comparing the streaming core with reference tools (perf/streaming/bench.sh):
/// <c>import FILE [ROOTFS] DATADIR [--no-fsync]</c>, <c>hash FILE...</c>, <c>decompress FILE</c>, <c>unpack FILE DIR</c>,
/// and <c>codec decode|encode zstd|lz4 native|managed FILE</c> (perf/streaming/codecs.sh): one codec implementation
/// decoding FILE, or encoding it at the default level, into nothing.
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
            case "codec":
                // A server that decodes or exports has its code compiled already: warm-up passes over 64 MiB are
                // not counted in the result (the process' wall time still includes it, alike for every implementation).
                // Tier-1 code is compiled in the background after a method's first 30 calls and a 100 ms quiet
                // period; a few passes with pauses let a large decoder reach it, as it has in a running server.
                for (var pass = 0; pass < 3; pass++)
                {
                    CodecRun(args[1], args[2], args[3], args[4], 64 << 20);
                    Thread.Sleep(300);
                }

                watch.Restart();
                Console.WriteLine(CodecRun(args[1], args[2], args[3], args[4], long.MaxValue));
                await Console.Error.WriteLineAsync($"codec pass: {watch.Elapsed.TotalSeconds:F3} s");
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

    // The native path (P/Invoke to libzstd / liblz4) against the managed libraries, each through the same stream shape.
    private static long CodecRun(string direction, string codec, string implementation, string path, long limit)
    {
        using var file = new FileStream(path, new FileStreamOptions { BufferSize = 0, Options = FileOptions.SequentialScan });
        var buffer = new byte[1 << 20];
        long total = 0;
        int n;
        if (direction == "decode")
        {
            using Stream decoder = (codec, implementation) switch
            {
                ("zstd", "native") => new ZstdDecoderStream(file, leaveOpen: true),
                ("zstd", "managed") => new ManagedZstdDecoderStream(file, leaveOpen: true),
                ("lz4", "native") => new Lz4DecoderStream(file, leaveOpen: true),
                ("lz4", "managed") => new ManagedLz4DecoderStream(file, leaveOpen: true),
                _ => throw new ArgumentException($"unknown codec {codec} {implementation}"),
            };
            while (total < limit && (n = decoder.Read(buffer)) > 0)
            {
                total += n;
            }

            return total;
        }

        var sink = new CountingSink();
        using (Stream encoder = (codec, implementation) switch
        {
            ("zstd", "native") => new ZstdEncoderStream(sink, leaveOpen: true),
            ("zstd", "managed") => new ManagedZstdEncoderStream(sink, leaveOpen: true),
            ("lz4", "native") => new Lz4EncoderStream(sink, leaveOpen: true),
            ("lz4", "managed") => ManagedLz4Encoder.Create(sink, leaveOpen: true),
            _ => throw new ArgumentException($"unknown codec {codec} {implementation}"),
        })
        {
            while (total < limit && (n = file.Read(buffer)) > 0)
            {
                encoder.Write(buffer, 0, n);
                total += n;
            }
        }

        return sink.Count;
    }

    /// <summary>Counts what is written to it and keeps nothing (the encoders' /dev/null).</summary>
    private sealed class CountingSink : Stream
    {
        public long Count { get; private set; }

        public override bool CanRead => false;

        public override bool CanSeek => false;

        public override bool CanWrite => true;

        public override long Length => Count;

        public override long Position { get => Count; set => throw new NotSupportedException(); }

        public override void Flush()
        {
        }

        public override int Read(byte[] buffer, int offset, int count) => throw new NotSupportedException();

        public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();

        public override void SetLength(long value) => throw new NotSupportedException();

        public override void Write(byte[] buffer, int offset, int count) => Count += count;

        public override void Write(ReadOnlySpan<byte> buffer) => Count += buffer.Length;
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
