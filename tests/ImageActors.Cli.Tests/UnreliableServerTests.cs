using System.Collections.Concurrent;
using System.Formats.Tar;
using System.Text;
using ImageActors.Images.Configuration;
using ImageActors.Server.Hosting;
using ImageActors.Server.Images;
using ImageActors.TestServers;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace ImageActors.Cli.Tests;

/// <summary>
/// <c>image import https://…</c> from a real TLS server that cuts, stalls, answers 503 with Retry-After and announces
/// wrong lengths: each case is judged by what the command prints and by what the server had to send.
/// </summary>
public sealed class UnreliableServerTests : IAsyncLifetime
{
    private const int Cut = 1 << 20;
    private readonly DirectoryInfo _root = Directory.CreateTempSubdirectory("imageactors-cli-unreliable-");
    private UnreliableImageServer _server = null!;
    private string _pem = null!;

    private string LocalData => Path.Combine(_root.FullName, "local");

    public async Task InitializeAsync()
    {
        _server = await UnreliableImageServer.StartAsync(Image());
        _pem = Path.Combine(_root.FullName, "server.crt");
        await File.WriteAllTextAsync(_pem, TestCertificates.Pem(_server.Certificate));
    }

    public async Task DisposeAsync()
    {
        await _server.DisposeAsync();
        _root.Delete(recursive: true);
    }

    [Fact]
    public async Task A_file_shorter_than_its_announced_length_is_kept_when_the_server_says_the_held_bytes_are_all_of_it()
    {
        _server.FileFaults.Enqueue(new Fault.LongerLength(1000));

        var run = await ImportAsync();

        Assert.True(run.ExitCode == 0, run.Error);
        Assert.Contains(_server.Fingerprint, run.Output, StringComparison.Ordinal);
        Assert.Single(_server.FileRequests, r => r.Range is null);
        Assert.Equal(_server.Length, new FileInfo(Path.Combine(LocalData, "images", _server.Fingerprint)).Length);
    }

    [Fact]
    public async Task A_file_whose_server_announced_a_longer_length_and_went_quiet_is_finished_by_the_416_for_the_bytes_held()
    {
        // Every byte reaches the client before the connection goes quiet, so the resume asks from the end of the file.
        _server.FileFaults.Enqueue(new Fault.LongerLength(1000, ThenStall: true));

        var run = await ImportAsync("--set", "images.download_stall_timeout=1s");

        Assert.True(run.ExitCode == 0, run.Error);
        Assert.Equal([null, $"bytes={_server.Length}-"], _server.FileRequests.Select(r => r.Range));
        Assert.Equal(_server.Length, _server.BytesServed);
    }

    [Fact]
    public async Task A_503_with_Retry_After_is_waited_out_before_the_next_attempt()
    {
        _server.FileFaults.Enqueue(new Fault.Status(503, RetryAfterSeconds: 2));
        _server.FileFaults.Enqueue(new Fault.Status(503, RetryAfterSeconds: 2));

        var run = await ImportAsync();

        Assert.True(run.ExitCode == 0, run.Error);
        var times = _server.FileRequests.Select(r => r.At).ToList();
        Assert.Equal(3, times.Count);
        Assert.All(times.Zip(times.Skip(1)), pair => Assert.True(pair.Item2 - pair.Item1 >= TimeSpan.FromSeconds(1.9), $"asked again after {(pair.Item2 - pair.Item1).TotalSeconds:0.00} s"));
    }

    [Fact]
    public async Task A_503_on_the_URL_import_HEAD_is_asked_again_rather_than_reported_as_a_missing_header()
    {
        _server.HeadFaults.Enqueue(new Fault.Status(503));

        var run = await ImportAsync();

        Assert.True(run.ExitCode == 0, run.Error);
        Assert.DoesNotContain("Missing", run.Error, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_download_that_keeps_stalling_gives_up_counting_the_requests_that_reached_the_file_and_names_the_stall()
    {
        _server.FileFaults.Enqueue(new Fault.Stall(Cut));
        _server.EveryFileRequest = new Fault.Stall(0);

        var run = await ImportAsync("--set", "images.download_stall_timeout=1s");

        Assert.Equal(1, run.ExitCode);
        var last = run.Error.TrimEnd().Split('\n')[^1];
        Assert.DoesNotContain("resuming", last, StringComparison.Ordinal);
        Assert.Contains($"after {_server.FileRequests.Count} attempts", last, StringComparison.Ordinal);
        Assert.Contains("sent nothing for 1 s", last, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_download_that_keeps_being_cut_gives_up_saying_what_the_server_answered_last()
    {
        _server.FileFaults.Enqueue(new Fault.Cut(Cut));
        _server.EveryFileRequest = new Fault.Cut(0);

        var run = await ImportAsync();

        Assert.Equal(1, run.ExitCode);
        var last = run.Error.TrimEnd().Split('\n')[^1];
        Assert.DoesNotContain("resum", last, StringComparison.Ordinal);
        Assert.Contains($"after {_server.FileRequests.Count} attempts", last, StringComparison.Ordinal);

        // A reset right after the headers may reach the client before them: either way the line says what the last request got.
        Assert.Matches("206 Partial Content; the connection broke after 0 bytes of it|no answer to the last request: ", last);
    }

    [Fact]
    public async Task A_server_that_sends_one_byte_per_connection_and_goes_quiet_is_given_up_on_in_one_line_naming_the_source_the_attempts_and_the_bytes_held()
    {
        // Far more one-byte answers than a download may take, then a 404 that would end it with another message. Each
        // connection gets its byte and then goes quiet until the client cuts it (a reset right after the byte could
        // overtake it, and then the attempt would hold nothing).
        for (var i = 0; i < 20; i++)
        {
            _server.FileFaults.Enqueue(new Fault.Stall(1));
        }

        _server.EveryFileRequest = new Fault.Status(404);

        var run = await ImportAsync("--set", "images.download_stall_timeout=1s");

        Assert.Equal(1, run.ExitCode);
        var last = run.Error.TrimEnd().Split('\n')[^1];
        Assert.Equal(5, _server.FileRequests.Count);
        Assert.Contains($"Download of {_server.FileUrl} gave up after 5 attempts with ", last, StringComparison.Ordinal);
        Assert.True(System.Text.RegularExpressions.Regex.IsMatch(last, $" with 5 of {_server.Length} bytes: .* sent nothing for 1 s"), last);
    }

    [Fact]
    public async Task A_503_on_the_SimpleStreams_index_does_not_end_image_copy()
    {
        _server.FailNext("/streams/v1/index.json", new Fault.Status(503, RetryAfterSeconds: 1));

        var run = await CopyAsync("--protocol", "simplestreams");

        Assert.True(run.ExitCode == 0, run.Error);
        Assert.Contains(_server.Fingerprint, run.Output, StringComparison.Ordinal);
        Assert.Equal(2, _server.Requests.Count(r => r.RawTarget == "/streams/v1/index.json"));
    }

    [Fact]
    public async Task A_503_on_the_Incus_image_lookups_does_not_end_image_copy_through_a_running_server()
    {
        await using var serve = await ServeAsync();

        // The command looks the image up itself before the store does: each side meets one 503.
        _server.FailNext("/1.0/images/aliases/image", new Fault.Status(503));
        _server.FailNext("/1.0/images/aliases/image", new Fault.Status(503));
        _server.FailNext($"/1.0/images/{_server.Fingerprint}", new Fault.Status(503));
        _server.FailNext($"/1.0/images/{_server.Fingerprint}", new Fault.Status(503));

        var run = await CopyAsync();

        Assert.True(run.ExitCode == 0, run.Error);
        Assert.Contains(_server.Fingerprint, run.Output, StringComparison.Ordinal);
        Assert.Contains(serve.Logs, line => line.Contains("/1.0/images/", StringComparison.Ordinal) && line.Contains("503", StringComparison.Ordinal));
    }

    [Fact]
    public async Task A_source_that_takes_the_lookup_and_never_answers_ends_image_copy_in_one_line_naming_the_lookup_timeout()
    {
        _server.FailNext("/1.0/images/aliases/image", new Fault.Hold(0, new TaskCompletionSource().Task));

        // The interrupt only ends a command that would otherwise wait for ever: it would exit 130, not 1.
        using var never = new CancellationTokenSource(TimeSpan.FromMinutes(2));
        var run = await CliRun.InvokeAsync(
            null,
            never.Token,
            "--data", LocalData, "--set", "images.remote_lookup_timeout=2s", "image", "copy", Source, "--certificate", _pem);

        Assert.Equal(1, run.ExitCode);
        var line = Assert.Single(run.Error.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries));
        Assert.Contains("did not answer the lookup of \"image\" within 2 s (images.remote_lookup_timeout)", line, StringComparison.Ordinal);
        Assert.Empty(_server.FileRequests);
    }

    [Fact]
    public async Task A_running_server_whose_source_never_answers_its_lookup_fails_the_copy_naming_its_lookup_timeout()
    {
        await using var serve = await ServeAsync(new ImagesOptions { RemoteLookupTimeout = TimeSpan.FromSeconds(2) });

        // The command's own lookup is answered; the server's, made next, never is.
        _server.FailNext("/1.0/images/aliases/image", new Fault.Hold(0, Task.CompletedTask));
        _server.FailNext("/1.0/images/aliases/image", new Fault.Hold(0, new TaskCompletionSource().Task));
        using var never = new CancellationTokenSource(TimeSpan.FromMinutes(2));
        var run = await CliRun.InvokeAsync(null, never.Token, "--data", LocalData, "image", "copy", Source, "--certificate", _pem);

        Assert.Equal(1, run.ExitCode);
        Assert.Contains("/1.0/images/aliases/image did not answer within 2 s (images.remote_lookup_timeout), 1 attempt", run.Error, StringComparison.Ordinal);
        Assert.Equal(2, _server.Requests.Count(r => r.RawTarget == "/1.0/images/aliases/image"));
        Assert.Empty(_server.FileRequests);
        Assert.Empty(serve.Store.Store.List());
    }

    [Fact]
    public async Task A_failed_download_keeps_its_bytes_and_the_next_import_fetches_only_the_rest()
    {
        _server.FileFaults.Enqueue(new Fault.Cut(Cut));
        _server.FileFaults.Enqueue(new Fault.Status(404));

        var failed = await ImportAsync();
        var servedBefore = _server.BytesServed;
        var retried = await ImportAsync();

        Assert.Equal(1, failed.ExitCode);
        Assert.True(retried.ExitCode == 0, retried.Error);
        Assert.Equal(3, _server.FileRequests.Count);

        // The kept bytes are what reached the client before the cut (at most what the server wrote): only the rest is sent again.
        var resumedAt = long.Parse(_server.FileRequests.Last().Range!["bytes=".Length..^1], System.Globalization.CultureInfo.InvariantCulture);
        Assert.InRange(resumedAt, 1, servedBefore);
        Assert.Equal(_server.Length - resumedAt, _server.BytesServed - servedBefore);
    }

    [Fact]
    public async Task Ctrl_C_during_a_download_says_it_stopped_and_the_next_import_resumes_what_arrived()
    {
        var release = new TaskCompletionSource();
        var hold = new Fault.Hold(Cut, release.Task);
        _server.FileFaults.Enqueue(hold);
        using var interrupt = new CancellationTokenSource();

        var running = ImportAsync(interrupt.Token);
        await hold.Reached;
        await interrupt.CancelAsync();
        var interrupted = await running;
        release.SetResult();
        var retried = await ImportAsync();

        Assert.Equal(130, interrupted.ExitCode);
        Assert.StartsWith("Interrupted: the command stopped", interrupted.Error.TrimEnd().Split('\n')[^1], StringComparison.Ordinal);
        Assert.True(retried.ExitCode == 0, retried.Error);
        Assert.StartsWith("bytes=", _server.FileRequests.Last().Range, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Ctrl_C_through_a_running_server_says_the_download_goes_on_and_the_next_run_says_it_joins_it()
    {
        await using var serve = await ServeAsync();
        var release = new TaskCompletionSource();
        var hold = new Fault.Hold(Cut, release.Task);
        _server.FileFaults.Enqueue(hold);
        using var interrupt = new CancellationTokenSource();

        var running = ImportAsync(interrupt.Token);
        await hold.Reached;
        await interrupt.CancelAsync();
        var interrupted = await running;
        var again = ImportAsync();
        await WaitForJoinAsync();
        release.SetResult();
        var joined = await again;

        Assert.Equal(130, interrupted.ExitCode);
        Assert.StartsWith("Interrupted: the server on unix:", interrupted.Error.TrimEnd().Split('\n')[^1], StringComparison.Ordinal);
        Assert.True(joined.ExitCode == 0, joined.Error);
        Assert.Contains("Joining the download of the same image already under way", joined.Output, StringComparison.Ordinal);
        Assert.Single(_server.FileRequests);
        Assert.Equal(_server.Length, _server.BytesServed);

        // The second run's operation exists once its POST was answered: the image's operations list two copies.
        async Task WaitForJoinAsync()
        {
            using var client = new HttpClient(new SocketsHttpHandler
            {
                ConnectCallback = async (_, token) =>
                {
                    var socket = new System.Net.Sockets.Socket(System.Net.Sockets.AddressFamily.Unix, System.Net.Sockets.SocketType.Stream, System.Net.Sockets.ProtocolType.Unspecified);
                    await socket.ConnectAsync(new System.Net.Sockets.UnixDomainSocketEndPoint(Path.Combine(LocalData, "unix.socket")), token);
                    return new System.Net.Sockets.NetworkStream(socket, ownsSocket: true);
                },
            })
            { BaseAddress = new Uri("http://unix/") };
            while (true)
            {
                var list = await client.GetStringAsync(new Uri("/1.0/operations?recursion=1", UriKind.Relative));
                if (list.Contains("imageactors_joined", StringComparison.Ordinal) || again.IsCompleted)
                {
                    return;
                }

                await Task.Delay(50);
            }
        }
    }

    [Fact]
    public async Task Set_through_a_running_server_refuses_a_key_it_cannot_carry()
    {
        await using var serve = await ServeAsync();

        var run = await CliRun.InvokeAsync("--data", LocalData, "--set", "images.replicas=2", "image", "list");

        Assert.Equal(1, run.ExitCode);
        Assert.Contains("images.replicas", run.Error, StringComparison.Ordinal);
        Assert.Contains("already running", run.Error, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Set_through_a_running_server_applies_the_stall_timeout_to_the_download_and_serve_logs_the_retry()
    {
        await using var serve = await ServeAsync();
        _server.FileFaults.Enqueue(new Fault.Stall(Cut));

        var run = await ImportAsync("--set", "images.download_stall_timeout=1s");

        Assert.True(run.ExitCode == 0, run.Error);
        Assert.Contains(serve.Logs, line => line.Contains("sent nothing for 1 s", StringComparison.Ordinal) && line.Contains("attempt 2", StringComparison.Ordinal));
        Assert.Equal(_server.Length, _server.BytesServed);
    }

    private string Source => _server.BaseUri.ToString().TrimEnd('/') + ":image";

    private Task<CliRun> CopyAsync(params string[] options) =>
        CliRun.InvokeAsync(["--data", LocalData, "image", "copy", Source, "--certificate", _pem, .. options]);

    private Task<CliRun> ImportAsync(params string[] options) => ImportAsync(CancellationToken.None, options);

    private Task<CliRun> ImportAsync(CancellationToken interrupt, params string[] options) =>
        CliRun.InvokeAsync(null, interrupt, ["--data", LocalData, .. options, "image", "import", _server.ImageUrl.ToString(), "--certificate", _pem]);

    // What "imageactors serve" runs, listening on the data directory's unix socket only.
    private async Task<RunningServer> ServeAsync(ImagesOptions? options = null)
    {
        var logs = new ListLogger();
        var factory = LoggerFactory.Create(b => b.AddProvider(logs));
        Directory.CreateDirectory(LocalData);
        var store = await EmbeddedImageStore.OpenAsync(LocalData, new PersistenceOptions { SqlitePath = Path.Combine(LocalData, "journal.db") }, options ?? new ImagesOptions(), factory);
        var server = ImageActorsServer.Create(
            new ListenSettings { DataDirectory = LocalData, Https = [], Http = [], UnixSocket = true },
            services => services.AddSingleton<IImageBackend>(new ImageStoreBackend(store.Store, store.Copier)),
            logging => logging.SetMinimumLevel(LogLevel.Warning));
        await server.StartAsync();
        store.Store.DirectoryLock.AnnounceSocket(Path.Combine(LocalData, "unix.socket"));
        return new RunningServer(factory, store, server, logs.Lines);
    }

    /// <summary>A unified image of a little over 3 MiB, mostly incompressible.</summary>
    internal static byte[] Image()
    {
        using var file = new MemoryStream();
        using (var tar = new TarWriter(file, TarEntryFormat.Pax, leaveOpen: true))
        {
            const string yaml = "architecture: x86_64\ncreation_date: 1767225600\nproperties:\n  os: Debian\n  release: \"12\"\n";
            tar.WriteEntry(new PaxTarEntry(TarEntryType.RegularFile, "metadata.yaml") { DataStream = new MemoryStream(Encoding.UTF8.GetBytes(yaml)) });
            tar.WriteEntry(new PaxTarEntry(TarEntryType.RegularFile, "rootfs/var/blob") { DataStream = new MemoryStream(Bytes.Random(3 << 20, 7)) });
        }

        return file.ToArray();
    }

    private sealed class RunningServer(ILoggerFactory factory, EmbeddedImageStore store, ImageActorsServer server, ConcurrentQueue<string> logs) : IAsyncDisposable
    {
        public ConcurrentQueue<string> Logs { get; } = logs;

        public EmbeddedImageStore Store { get; } = store;

        public async ValueTask DisposeAsync()
        {
            await server.DisposeAsync();
            await Store.DisposeAsync();
            factory.Dispose();
        }
    }

    private sealed class ListLogger : ILoggerProvider, ILogger
    {
        public ConcurrentQueue<string> Lines { get; } = new();

        public ILogger CreateLogger(string categoryName) => this;

        public void Dispose()
        {
        }

        public IDisposable? BeginScope<TState>(TState state)
            where TState : notnull => null;

        public bool IsEnabled(LogLevel logLevel) => true;

        public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter) =>
            Lines.Enqueue(formatter(state, exception));
    }
}
