using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using BenchmarkDotNet.Attributes;
using ImageActors.Remotes;
using ImageActors.Remotes.Download;

namespace ImageActors.Benchmarks.Remotes;

/// <summary>
/// Our downloader (stream to a temp file + SHA-256 + verify) fetching a ~1 GiB file from nginx on
/// loopback, against <c>curl -o</c> of the same file from the same server (no hashing).
/// Budget: ≥ 0.9× curl's throughput, i.e. Ratio ≤ 1.11.
/// <c>dotnet run -c Release --project perf/ImageActors.Benchmarks -- --filter '*DownloadBenchmarks*' --job short</c>
/// (set <c>IMAGEACTORS_BENCH_MB</c> to change the size).
/// </summary>
[MemoryDiagnoser]
public class DownloadBenchmarks
{
    private string _dir = "";
    private string _expected = "";
    private Process? _nginx;
    private Uri _url = null!;
    private ImageDownloader _downloader = null!;
    private HttpClient _client = null!;
    private long _size;

    [GlobalSetup]
    public void Setup()
    {
        _dir = Directory.CreateTempSubdirectory("imageactors-bench-").FullName;
        var www = Directory.CreateDirectory(Path.Combine(_dir, "www")).FullName;
        Directory.CreateDirectory(Path.Combine(_dir, "tmp"));
        var megabytes = int.TryParse(Environment.GetEnvironmentVariable("IMAGEACTORS_BENCH_MB"), out var mb) ? mb : 1024;
        _size = (long)megabytes << 20;
        var file = Path.Combine(www, "image.tar.zst");
        using (var output = File.Create(file))
        using (var sha = System.Security.Cryptography.IncrementalHash.CreateHash(System.Security.Cryptography.HashAlgorithmName.SHA256))
        {
            var block = new byte[1 << 20];
            var random = new Random(1);
            for (var i = 0; i < megabytes; i++)
            {
                random.NextBytes(block);
                output.Write(block);
                sha.AppendData(block);
            }

            _expected = Convert.ToHexStringLower(sha.GetHashAndReset());
        }

        var port = FreePort();
        var prefix = Directory.CreateDirectory(Path.Combine(_dir, "nginx")).FullName;
        var user = Environment.UserName == "root" ? "user root;" : "";
        var config = Path.Combine(prefix, "nginx.conf");
        File.WriteAllText(config, $$"""
            {{user}}
            daemon off;
            worker_processes 1;
            pid {{prefix}}/nginx.pid;
            error_log {{prefix}}/error.log;
            events { worker_connections 64; }
            http {
              access_log off;
              client_body_temp_path {{prefix}}/client_body;
              proxy_temp_path {{prefix}}/proxy;
              fastcgi_temp_path {{prefix}}/fastcgi;
              uwsgi_temp_path {{prefix}}/uwsgi;
              scgi_temp_path {{prefix}}/scgi;
              sendfile on;
              tcp_nopush on;
              server { listen 127.0.0.1:{{port}}; root {{www}}; }
            }
            """);
        _nginx = Process.Start(new ProcessStartInfo("/usr/sbin/nginx", ["-c", config, "-p", prefix, "-e", Path.Combine(prefix, "error.log")]) { UseShellExecute = false })!;
        WaitForPort(port);
        _url = new Uri($"http://127.0.0.1:{port}/image.tar.zst");
        _downloader = new ImageDownloader(new DownloadOptions { ChunkSize = 1 << 20 });
        _client = new RemoteConnection().CreateClient();
    }

    [GlobalCleanup]
    public void Cleanup()
    {
        _client.Dispose();
        _downloader.Dispose();
        _nginx?.Kill();
        _nginx?.WaitForExit();
        Directory.Delete(_dir, recursive: true);
    }

    [IterationCleanup]
    public void RemoveDownloads()
    {
        foreach (var file in Directory.GetFiles(Path.Combine(_dir, "tmp")))
        {
            File.Delete(file);
        }
    }

    [Benchmark(Baseline = true, Description = "curl -o (no hash)")]
    public void Curl()
    {
        using var curl = Process.Start(new ProcessStartInfo("curl", ["-s", "-f", "-o", Path.Combine(_dir, "tmp", "curl.out"), _url.ToString()]) { UseShellExecute = false })!;
        curl.WaitForExit();
        if (curl.ExitCode != 0)
        {
            throw new InvalidOperationException($"curl failed with {curl.ExitCode}");
        }
    }

    [Benchmark(Description = "ImageDownloader (temp file + SHA-256 + verify)")]
    public async Task<long> ImageDownloader()
    {
        var file = await _downloader.DownloadAsync(new DownloadRequest
        {
            Client = _client,
            Sources = [_url],
            TempDirectory = Path.Combine(_dir, "tmp"),
            ExpectedSize = _size,
            ExpectedSha256 = _expected,
        });
        return file.Size;
    }

    private static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }

    private static void WaitForPort(int port)
    {
        var deadline = DateTime.UtcNow.AddSeconds(10);
        while (true)
        {
            try
            {
                using var client = new TcpClient();
                client.Connect(IPAddress.Loopback, port);
                return;
            }
            catch (SocketException) when (DateTime.UtcNow < deadline)
            {
                Thread.Sleep(20);
            }
        }
    }
}
