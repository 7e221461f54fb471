using ImageActors.Remotes.Download;
using ImageActors.Remotes.Tests.Fixtures;
using ImageActors.Streaming.Storage;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;

namespace ImageActors.Remotes.Tests.Download;

public sealed class ImageDownloaderTests : IDisposable
{
    private static readonly TimeSpan Deadline = TimeSpan.FromSeconds(30);
    private readonly byte[] _file = Bytes.Random(4 << 20, 42);
    private readonly TempDirectory _temp = new();
    private readonly HttpClient _client = new RemoteConnection().CreateClient();

    public void Dispose()
    {
        _client.Dispose();
        _temp.Dispose();
    }

    private DownloadRequest Request(Uri url, string tmp, string? sha = null, long? size = null, IProgress<DownloadProgress>? progress = null) => new()
    {
        Client = _client,
        Sources = [url],
        TempDirectory = tmp,
        ExpectedSha256 = sha ?? Bytes.Sha256(_file),
        ExpectedSize = size,
        Progress = progress,
    };

    private static ImageDownloader Downloader(Func<DownloadRetry, ValueTask>? onRetry = null, int maxParallel = 4, int attempts = 5) => new(new DownloadOptions
    {
        InitialBackoff = TimeSpan.FromMilliseconds(5),
        MaxBackoff = TimeSpan.FromMilliseconds(20),
        OnRetry = onRetry,
        MaxParallelDownloads = maxParallel,
        MaxAttempts = attempts,
        ProgressInterval = TimeSpan.Zero,
    });

    /// <summary>A progress sink that signals once the client holds at least one whole chunk (1 MiB) on disk.</summary>
    private static (InlineProgress Progress, Func<Task> ClientHasBytes) ChunkOnDisk()
    {
        var signal = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var progress = new InlineProgress(p =>
        {
            if (p.BytesReceived >= 1 << 20)
            {
                signal.TrySetResult();
            }
        });
        return (progress, () => signal.Task.WaitAsync(Deadline));
    }

    [Fact]
    public async Task Cut_connection_resumes_from_the_last_byte_with_Range()
    {
        const int cut = 1_500_000;
        var calls = 0;
        var (progress, clientHasBytes) = ChunkOnDisk();
        await using var server = await LoopbackServer.StartAsync(app => app.MapGet("/f", (HttpContext c) =>
            RangeFile.ServeAsync(c, _file, cutAfter: Interlocked.Increment(ref calls) == 1 ? cut : null, beforeCut: clientHasBytes)));
        using var downloader = Downloader();
        var tmp = _temp.Sub("tmp");

        var file = await downloader.DownloadAsync(Request(new Uri(server.BaseUri, "f"), tmp, size: _file.Length, progress: progress)).WaitAsync(Deadline);

        Assert.Equal(Bytes.Sha256(_file), file.Sha256);
        Assert.Equal(_file, await File.ReadAllBytesAsync(file.Path));
        var ranges = server.Requests.Select(r => r.Range).ToList();
        Assert.Null(ranges[0]);
        // The resume point is what reached the disk: at least the chunk the server waited for, at most the cut.
        var resumedFrom = long.Parse(ranges[1]!["bytes=".Length..^1], System.Globalization.CultureInfo.InvariantCulture);
        Assert.InRange(resumedFrom, 1 << 20, cut);
        Assert.Equal(2, file.Attempts);
        Assert.Equal("\"v1\"", server.Requests.Last().Headers["If-Range"]);
    }

    [Fact]
    public async Task Server_that_dies_mid_download_and_comes_back_is_resumed_from_the_last_byte()
    {
        const int cut = 2_000_000;
        var first = true;
        var (progress, clientHasBytes) = ChunkOnDisk();
        LoopbackServer server = null!;
        server = await LoopbackServer.StartAsync(app => app.MapGet("/f", (HttpContext c) =>
        {
            var cutNow = first;
            first = false;
            return RangeFile.ServeAsync(c, _file, cutAfter: cutNow ? cut : null, beforeCut: clientHasBytes);
        }));
        var retries = new List<DownloadRetry>();
        using var downloader = Downloader(async retry =>
        {
            retries.Add(retry);
            if (retries.Count == 1)
            {
                await server.StopAsync(); // the server is gone: the next attempt finds the port closed
            }
            else if (retries.Count == 2)
            {
                await server.StartAsync(); // and back on the same port
            }
        });
        var tmp = _temp.Sub("tmp");

        try
        {
            var file = await downloader.DownloadAsync(Request(new Uri(server.BaseUri, "f"), tmp, progress: progress)).WaitAsync(Deadline);

            Assert.Equal(Bytes.Sha256(_file), file.Sha256);
            Assert.IsType<HttpRequestException>(retries[1].Error);
            var resumed = server.Requests.Last();
            Assert.Equal($"bytes={retries[0].BytesOnDisk}-", resumed.Range);
            Assert.True(retries[0].BytesOnDisk >= 1 << 20);
            Assert.Equal(3, file.Attempts);
        }
        finally
        {
            await server.DisposeAsync();
        }
    }

    [Fact]
    public async Task Server_ignoring_Range_is_downloaded_again_from_the_start()
    {
        var calls = 0;
        var (progress, clientHasBytes) = ChunkOnDisk();
        await using var server = await LoopbackServer.StartAsync(app => app.MapGet("/f", (HttpContext c) =>
            RangeFile.ServeAsync(c, _file, cutAfter: Interlocked.Increment(ref calls) == 1 ? 1_500_000 : null, honourRange: false, beforeCut: clientHasBytes)));
        using var downloader = Downloader();

        var file = await downloader.DownloadAsync(Request(new Uri(server.BaseUri, "f"), _temp.Sub("tmp"), size: _file.Length, progress: progress)).WaitAsync(Deadline);

        Assert.NotNull(server.Requests.Last().Range);
        Assert.Equal(_file.Length, file.Size);
        Assert.Equal(_file, await File.ReadAllBytesAsync(file.Path));
    }

    [Fact]
    public async Task Wrong_hash_is_a_typed_error_and_leaves_nothing_in_the_temp_dir()
    {
        await using var server = await LoopbackServer.StartAsync(app => app.MapGet("/f", (HttpContext c) => RangeFile.ServeAsync(c, _file)));
        using var downloader = Downloader();
        var tmp = _temp.Sub("tmp");
        var wrong = new string('0', 64);
        var url = new Uri(server.BaseUri, "f");

        var error = await Assert.ThrowsAsync<HashMismatchException>(() => downloader.DownloadAsync(Request(url, tmp, sha: wrong)));

        Assert.Equal(wrong, error.Expected);
        Assert.Equal(Bytes.Sha256(_file), error.Actual);
        Assert.Equal(url, error.Url);
        Assert.Contains(url.ToString(), error.Message, StringComparison.Ordinal);
        Assert.Empty(TempDirectory.Files(tmp));
    }

    [Fact]
    public async Task Wrong_size_is_a_typed_error_and_leaves_nothing()
    {
        await using var server = await LoopbackServer.StartAsync(app => app.MapGet("/f", (HttpContext c) => RangeFile.ServeAsync(c, _file)));
        using var downloader = Downloader();
        var tmp = _temp.Sub("tmp");

        var error = await Assert.ThrowsAsync<SizeMismatchException>(() => downloader.DownloadAsync(Request(new Uri(server.BaseUri, "f"), tmp, size: 1000)));

        Assert.Equal(1000, error.Expected);
        Assert.Empty(TempDirectory.Files(tmp));
    }

    [Fact]
    public async Task Cancellation_removes_the_temp_file()
    {
        var release = new TaskCompletionSource();
        await using var server = await LoopbackServer.StartAsync(app => app.MapGet("/f", async (HttpContext c) =>
        {
            c.Response.ContentLength = _file.Length;
            await c.Response.Body.WriteAsync(_file.AsMemory(0, 2 << 20));
            await c.Response.Body.FlushAsync();
            await release.Task.WaitAsync(c.RequestAborted);
        }));
        using var downloader = Downloader();
        var tmp = _temp.Sub("tmp");
        using var cancel = new CancellationTokenSource();
        var written = new TaskCompletionSource();
        var progress = new InlineProgress(p =>
        {
            if (p.BytesReceived > 0)
            {
                written.TrySetResult();
            }
        });

        var download = downloader.DownloadAsync(Request(new Uri(server.BaseUri, "f"), tmp, progress: progress), cancel.Token);
        await written.Task.WaitAsync(Deadline);
        Assert.Single(TempDirectory.Files(tmp));
        await cancel.CancelAsync();

        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => download);
        Assert.Empty(TempDirectory.Files(tmp));
        release.TrySetResult();
    }

    [Fact]
    public async Task A_full_disk_ends_a_download_with_a_typed_error_naming_the_folder_without_retries_or_a_temp_file()
    {
        // A server that never stops sending: only the disk's failure can end the download.
        await using var server = await LoopbackServer.StartAsync(app => app.MapGet("/f", async (HttpContext c) =>
        {
            while (!c.RequestAborted.IsCancellationRequested)
            {
                await c.Response.Body.WriteAsync(_file, c.RequestAborted);
            }
        }));
        var small = _temp.Sub("small");
        if (!Mount($"-t tmpfs -o size=3m tmpfs {small}"))
        {
            return; // mounting needs root, which the CI machine has
        }

        try
        {
            using var downloader = Downloader();
            var request = Request(new Uri(server.BaseUri, "f"), small) with { ExpectedSha256 = null };

            var error = await Assert.ThrowsAsync<InsufficientStorageException>(() => downloader.DownloadAsync(request)).WaitAsync(Deadline);

            Assert.Equal(small, error.Directory);
            Assert.Single(server.Requests);
            Assert.Empty(TempDirectory.Files(small));

            // With the size announced, the room is reserved up front: a disk without it fails before any request.
            var known = await Assert.ThrowsAsync<InsufficientStorageException>(() => downloader.DownloadAsync(request with { ExpectedSize = 64 << 20 }));
            Assert.Equal(64 << 20, known.NeededBytes);
            Assert.Single(server.Requests);
            Assert.Empty(TempDirectory.Files(small));
        }
        finally
        {
            Mount($"-l {small}", "umount");
        }
    }

    private static bool Mount(string arguments, string command = "mount")
    {
        using var process = System.Diagnostics.Process.Start(new System.Diagnostics.ProcessStartInfo(command, arguments) { RedirectStandardError = true })!;
        process.WaitForExit();
        return process.ExitCode == 0;
    }

    [Fact]
    public async Task A_server_that_goes_silent_without_closing_is_cut_off_after_the_stall_timeout_and_the_download_resumes()
    {
        var calls = 0;
        var release = new TaskCompletionSource();
        await using var server = await LoopbackServer.StartAsync(app => app.MapGet("/f", async (HttpContext c) =>
        {
            if (Interlocked.Increment(ref calls) == 1)
            {
                // Headers and 1 MiB, then nothing, with the connection left open.
                c.Response.ContentLength = _file.Length;
                await c.Response.Body.WriteAsync(_file.AsMemory(0, 1 << 20));
                await c.Response.Body.FlushAsync();
                await release.Task.WaitAsync(c.RequestAborted);
                return;
            }

            await RangeFile.ServeAsync(c, _file);
        }));
        var retries = new List<DownloadRetry>();
        using var downloader = new ImageDownloader(new DownloadOptions
        {
            StallTimeout = TimeSpan.FromSeconds(1),
            InitialBackoff = TimeSpan.FromMilliseconds(5),
            OnRetry = r =>
            {
                retries.Add(r);
                return ValueTask.CompletedTask;
            },
        });

        var file = await downloader.DownloadAsync(Request(new Uri(server.BaseUri, "f"), _temp.Sub("tmp"), size: _file.Length)).WaitAsync(Deadline);

        Assert.Equal(_file, await File.ReadAllBytesAsync(file.Path));
        var stall = Assert.Single(retries);
        Assert.IsType<TimeoutException>(stall.Error);
        Assert.Contains("sent nothing for 1 s", stall.Error.Message, StringComparison.Ordinal);
        Assert.Equal($"bytes={stall.BytesOnDisk}-", server.Requests.Last().Range);
        Assert.Equal(2, file.Attempts);
        release.TrySetResult();
    }

    [Fact]
    public async Task Client_errors_are_not_retried_and_carry_the_status()
    {
        await using var server = await LoopbackServer.StartAsync(app => app.MapGet("/f", () => Results.StatusCode(403)));
        using var downloader = Downloader();

        var error = await Assert.ThrowsAsync<RemoteErrorResponseException>(() => downloader.DownloadAsync(Request(new Uri(server.BaseUri, "f"), _temp.Sub("tmp"))));

        Assert.Equal(403, error.StatusCode);
        Assert.Single(server.Requests);
    }

    [Fact]
    public async Task Server_errors_are_retried_a_bounded_number_of_times()
    {
        await using var server = await LoopbackServer.StartAsync(app => app.MapGet("/f", () => Results.StatusCode(503)));
        using var downloader = Downloader(attempts: 3);
        var tmp = _temp.Sub("tmp");

        var error = await Assert.ThrowsAsync<RemoteException>(() => downloader.DownloadAsync(Request(new Uri(server.BaseUri, "f"), tmp)));

        Assert.Contains("after 3 attempts", error.Message, StringComparison.Ordinal);
        Assert.Equal(3, server.Requests.Count);
        Assert.Empty(TempDirectory.Files(tmp));
    }

    [Fact]
    public async Task A_failing_first_source_falls_through_to_the_next()
    {
        await using var server = await LoopbackServer.StartAsync(app => app.MapGet("/f", (HttpContext c) => RangeFile.ServeAsync(c, _file)));
        await using var dead = await LoopbackServer.StartAsync(_ => { });
        var deadUrl = new Uri(dead.BaseUri, "f");
        await dead.StopAsync();
        using var downloader = Downloader();

        var file = await downloader.DownloadAsync(Request(deadUrl, _temp.Sub("tmp")) with { Sources = [deadUrl, new Uri(server.BaseUri, "f")] });

        Assert.Equal(new Uri(server.BaseUri, "f"), file.Url);
        Assert.Single(server.Requests);
    }

    [Fact]
    public async Task Parallel_downloads_are_bounded()
    {
        var inFlight = 0;
        var peak = 0;
        var gate = new TaskCompletionSource();
        var started = new TaskCompletionSource();
        await using var server = await LoopbackServer.StartAsync(app => app.MapGet("/f", async (HttpContext c) =>
        {
            var now = Interlocked.Increment(ref inFlight);
            InterlockedMax(ref peak, now);
            started.TrySetResult();
            await gate.Task;
            await RangeFile.ServeAsync(c, _file);
            Interlocked.Decrement(ref inFlight);
        }));
        using var downloader = Downloader(maxParallel: 2);
        var tmp = _temp.Sub("tmp");

        var downloads = Enumerable.Range(0, 5).Select(_ => downloader.DownloadAsync(Request(new Uri(server.BaseUri, "f"), tmp))).ToList();
        await started.Task.WaitAsync(Deadline);
        gate.SetResult();
        await Task.WhenAll(downloads).WaitAsync(Deadline);

        Assert.Equal(5, server.Requests.Count);
        Assert.InRange(peak, 1, 2);
    }

    [Fact]
    public async Task Progress_reports_reach_the_full_size()
    {
        await using var server = await LoopbackServer.StartAsync(app => app.MapGet("/f", (HttpContext c) => RangeFile.ServeAsync(c, _file)));
        using var downloader = Downloader();
        var reports = new List<DownloadProgress>();

        await downloader.DownloadAsync(Request(new Uri(server.BaseUri, "f"), _temp.Sub("tmp"), progress: new InlineProgress(reports.Add)) with { Label = "rootfs" });

        var last = reports.Last();
        Assert.Equal(_file.Length, last.BytesReceived);
        Assert.Equal(100, last.Percent);
        Assert.StartsWith("rootfs: 100% (", last.ToIncusText(), StringComparison.Ordinal);
    }

    private static void InterlockedMax(ref int target, int value)
    {
        int current;
        while ((current = Volatile.Read(ref target)) < value && Interlocked.CompareExchange(ref target, value, current) != current)
        {
        }
    }

    private sealed class InlineProgress(Action<DownloadProgress> report) : IProgress<DownloadProgress>
    {
        public void Report(DownloadProgress value) => report(value);
    }
}
