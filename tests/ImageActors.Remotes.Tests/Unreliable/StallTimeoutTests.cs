using System.Threading.Channels;
using ImageActors.Remotes.Download;
using ImageActors.Remotes.Tests.Fixtures;
using Microsoft.Extensions.Time.Testing;

namespace ImageActors.Remotes.Tests.Unreliable;

/// <summary>
/// When a download that goes quiet is cut: a real TLS server sends the file in pieces the test releases, and the
/// downloader's clock is one the test moves, so "when" is a moment on that clock rather than a measured time.
/// </summary>
public sealed class StallTimeoutTests : IAsyncLifetime
{
    private const int Piece = 64 << 10;
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(10);
    private readonly TempDirectory _temp = new();
    private readonly FakeTimeProvider _clock = new();
    private readonly Channel<long> _pieces = Channel.CreateUnbounded<long>();
    private readonly Arrivals _arrivals = new();
    private UnreliableImageServer _server = null!;
    private HttpClient _client = null!;
    private ImageDownloader _downloader = null!;

    public async Task InitializeAsync()
    {
        _server = await UnreliableImageServer.StartAsync(Bytes.Random(1 << 20, 41));
        _client = new RemoteConnection { ServerCertificatePem = TestCertificates.Pem(_server.Certificate) }.CreateClient();
        _downloader = new ImageDownloader(new DownloadOptions { StallTimeout = Timeout, MaxAttempts = 1, ProgressInterval = TimeSpan.Zero, PartialDownloadTtl = TimeSpan.Zero }, _clock);
        _server.FileFaults.Enqueue(new Fault.Paced(_pieces.Reader));
    }

    public async Task DisposeAsync()
    {
        _pieces.Writer.TryComplete();
        _downloader.Dispose();
        _client.Dispose();
        await _server.DisposeAsync();
        _temp.Dispose();
    }

    [Fact]
    public async Task A_download_quiet_for_just_under_the_stall_timeout_since_its_last_byte_is_not_cut()
    {
        var download = await QuietSinceSixSecondsAsync();

        // The first timer ran out at 10 s with the last byte 4 s old; just short of 10 s after that byte nothing is cut.
        _clock.Advance(TimeSpan.FromSeconds(6) - TimeSpan.FromMilliseconds(1));
        _pieces.Writer.Complete();
        var file = await download;

        Assert.Equal(_server.Length, file.Size);
        Assert.Equal(1, file.Attempts);
        Assert.Single(_server.FileRequests);
    }

    [Fact]
    public async Task A_download_quiet_for_the_stall_timeout_since_its_last_byte_is_cut_then_and_says_so()
    {
        var download = await QuietSinceSixSecondsAsync();

        // Up to just short of 10 s after the last byte, then to 10 s: the cut comes at that moment, not at the next look
        // of a periodic check. (The clock runs each timer that fell due with the time it was moved to, so it moves in two
        // steps: a check that looked at 12.5 s or 15 s would look before the last step.)
        _clock.Advance(TimeSpan.FromSeconds(6) - TimeSpan.FromMilliseconds(1));
        _clock.Advance(TimeSpan.FromMilliseconds(1));
        _pieces.Writer.Complete();
        var error = await Assert.ThrowsAsync<RemoteException>(() => download);

        Assert.Contains("sent nothing for 10 s", error.Message, StringComparison.Ordinal);
        Assert.InRange(_server.BytesServed, 2 * Piece, _server.Length);
    }

    /// <summary>
    /// Starts the download; a first piece arrives at 0 s, the clock moves to 6 s, a second piece arrives then, and the
    /// clock moves to 10 s (where a timer set when the body opened runs out): returns with the clock at 10 s.
    /// </summary>
    private async Task<Task<DownloadedFile>> QuietSinceSixSecondsAsync()
    {
        var download = _downloader.DownloadAsync(new DownloadRequest
        {
            Client = _client,
            Sources = [_server.FileUrl],
            TempDirectory = _temp.Sub("tmp"),
            ExpectedSize = _server.Length,
            ExpectedSha256 = _server.Fingerprint,
            Progress = _arrivals,
        });
        await _pieces.Writer.WriteAsync(Piece);
        await _arrivals.ReachedAsync(Piece);
        _clock.Advance(TimeSpan.FromSeconds(6));
        await _pieces.Writer.WriteAsync(Piece);
        await _arrivals.ReachedAsync(2 * Piece);
        _clock.Advance(TimeSpan.FromSeconds(4));
        return download;
    }

    /// <summary>The bytes that reached the downloader, reported from its read loop after each read.</summary>
    private sealed class Arrivals : IProgress<DownloadProgress>
    {
        private readonly Lock _lock = new();
        private readonly List<(long Bytes, TaskCompletionSource Reached)> _waiters = [];
        private long _bytes;

        public void Report(DownloadProgress value)
        {
            lock (_lock)
            {
                _bytes = Math.Max(_bytes, value.BytesArrived);
                foreach (var waiter in _waiters.Where(w => w.Bytes <= _bytes))
                {
                    waiter.Reached.TrySetResult();
                }
            }
        }

        public Task ReachedAsync(long bytes)
        {
            lock (_lock)
            {
                if (_bytes >= bytes)
                {
                    return Task.CompletedTask;
                }

                var reached = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
                _waiters.Add((bytes, reached));
                return reached.Task;
            }
        }
    }
}
