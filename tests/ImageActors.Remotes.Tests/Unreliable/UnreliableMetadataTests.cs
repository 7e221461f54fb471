using System.Collections.Concurrent;
using ImageActors.Remotes.Download;
using ImageActors.Remotes.Incus;
using ImageActors.Remotes.SimpleStreams;
using ImageActors.Remotes.Tests.Fixtures;

namespace ImageActors.Remotes.Tests.Unreliable;

/// <summary>
/// The small requests before a download (the SimpleStreams index and products file, the Incus image and alias lookups,
/// the first export request) against a real TLS server that answers them with transient errors.
/// </summary>
public sealed class UnreliableMetadataTests : IAsyncLifetime
{
    private readonly TempDirectory _temp = new();
    private readonly ConcurrentQueue<DownloadRetry> _retries = new();
    private UnreliableImageServer _server = null!;
    private ImageDownloader _downloader = null!;
    private RemoteConnection _pinned = null!;

    public async Task InitializeAsync()
    {
        _server = await UnreliableImageServer.StartAsync(Bytes.Random(256 << 10, 31));
        _pinned = new RemoteConnection { ServerCertificatePem = TestCertificates.Pem(_server.Certificate) };

        // The waits are recorded, not measured: OnRetry sees each delay the downloader chose before it waits.
        _downloader = new ImageDownloader(new DownloadOptions
        {
            InitialBackoff = TimeSpan.FromMilliseconds(5),
            MaxBackoff = TimeSpan.FromMilliseconds(20),
            MaxAttempts = 3,
            OnRetry = retry =>
            {
                _retries.Enqueue(retry);
                return ValueTask.CompletedTask;
            },
        });
    }

    public async Task DisposeAsync()
    {
        _downloader.Dispose();
        await _server.DisposeAsync();
        _temp.Dispose();
    }

    [Fact]
    public async Task A_503_on_the_SimpleStreams_index_is_asked_again_instead_of_ending_the_copy()
    {
        _server.FailNext("/streams/v1/index.json", new Fault.Status(503));
        _server.FailNext("/streams/v1/images.json", new Fault.Status(502));
        using var remote = new SimpleStreamsRemote(_server.BaseUri, _downloader, _pinned);

        var image = await remote.ResolveAliasAsync("image");

        Assert.Equal(_server.Fingerprint, image.Fingerprint.ToString());
        Assert.Equal(2, _server.Requests.Count(r => r.RawTarget == "/streams/v1/index.json"));
        Assert.Equal(2, _server.Requests.Count(r => r.RawTarget == "/streams/v1/images.json"));
    }

    [Fact]
    public async Task A_503_on_an_Incus_alias_and_image_lookup_is_asked_again_after_the_wait_the_server_asked_for()
    {
        _server.FailNext("/1.0/images/aliases/image", new Fault.Status(503, RetryAfterSeconds: 1));
        _server.FailNext($"/1.0/images/{_server.Fingerprint}", new Fault.Status(429));
        using var remote = new IncusRemote(_server.BaseUri, _downloader, _pinned);

        var image = await remote.ResolveAliasAsync("image");

        Assert.Equal(_server.Fingerprint, image.Fingerprint.ToString());
        Assert.Equal(2, _server.Requests.Count(r => r.RawTarget == "/1.0/images/aliases/image"));
        Assert.Equal(2, _server.Requests.Count(r => r.RawTarget == $"/1.0/images/{_server.Fingerprint}"));
        Assert.Contains(_retries, r => r.Url.AbsolutePath == "/1.0/images/aliases/image" && r.Delay >= TimeSpan.FromSeconds(1));
    }

    [Theory]
    [InlineData("/1.0/images/aliases/image")]
    [InlineData("/1.0/images/{fingerprint}")]
    public async Task An_Incus_lookup_the_server_holds_open_ends_in_one_line_at_the_lookup_timeout(string path)
    {
        var held = path.Replace("{fingerprint}", _server.Fingerprint, StringComparison.Ordinal);
        var never = new TaskCompletionSource();
        var hold = new Fault.Hold(0, never.Task);
        _server.FailNext(held, hold);
        using var downloader = new ImageDownloader(new DownloadOptions { LookupTimeout = TimeSpan.FromSeconds(1) });
        using var remote = new IncusRemote(_server.BaseUri, downloader, _pinned);

        var error = await Assert.ThrowsAsync<RemoteException>(() => remote.ResolveAliasAsync("image"));

        Assert.True(hold.Reached.IsCompleted);
        Assert.DoesNotContain('\n', error.Message);
        Assert.StartsWith($"{_server.BaseUri.ToString().TrimEnd('/')}{held} did not answer within 1 s (images.remote_lookup_timeout), 1 attempt", error.Message, StringComparison.Ordinal);
        Assert.Single(_server.Requests, r => r.RawTarget == held);
    }

    [Fact]
    public async Task An_Incus_lookup_that_keeps_failing_names_the_attempts_and_the_last_status()
    {
        for (var i = 0; i < 3; i++)
        {
            _server.FailNext("/1.0/images/aliases/image", new Fault.Status(503));
        }

        using var remote = new IncusRemote(_server.BaseUri, _downloader, _pinned);

        var error = await Assert.ThrowsAsync<RemoteException>(() => remote.ResolveAliasAsync("image"));

        Assert.Contains("after 3 attempts", error.Message, StringComparison.Ordinal);
        Assert.Contains("503", error.Message, StringComparison.Ordinal);
        Assert.Equal(3, _server.Requests.Count(r => r.RawTarget == "/1.0/images/aliases/image"));
    }

    [Fact]
    public async Task A_server_whose_certificate_is_not_the_pinned_one_is_not_asked_again()
    {
        using var other = TestCertificates.Create("other");
        using var remote = new IncusRemote(_server.BaseUri, _downloader, new RemoteConnection { ServerCertificatePem = TestCertificates.Pem(other) });

        var error = await Assert.ThrowsAsync<RemoteException>(() => remote.ResolveAliasAsync("image"));

        Assert.Contains("not the one pinned", error.Message, StringComparison.Ordinal);
        Assert.Empty(_retries);
    }

    [Fact]
    public async Task A_503_with_Retry_After_on_an_Incus_export_is_waited_out_before_the_next_request()
    {
        _server.FileFaults.Enqueue(new Fault.Status(503, RetryAfterSeconds: 1));
        using var remote = new IncusRemote(_server.BaseUri, _downloader, _pinned);
        var image = await remote.ResolveAliasAsync("image");

        var downloaded = await remote.DownloadAsync(image, _temp.Sub("tmp"));

        Assert.Equal(_server.Fingerprint, downloaded.Metadata.Sha256);
        var retry = Assert.Single(_retries);
        Assert.True(retry.Delay >= TimeSpan.FromSeconds(1), $"waited {retry.Delay.TotalSeconds:0.###} s where the server asked for 1 s");
    }
}
