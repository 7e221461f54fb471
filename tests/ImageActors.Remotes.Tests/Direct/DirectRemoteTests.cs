using ImageActors.Remotes.Direct;
using ImageActors.Remotes.Download;
using ImageActors.Remotes.Tests.Fixtures;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;

namespace ImageActors.Remotes.Tests.Direct;

public sealed class DirectRemoteTests : IDisposable
{
    private readonly TempDirectory _temp = new();
    private readonly ImageDownloader _downloader = new(new DownloadOptions { InitialBackoff = TimeSpan.FromMilliseconds(5), MaxAttempts = 2 });
    private readonly byte[] _file = Bytes.Random(1 << 20, 21);

    public void Dispose()
    {
        _downloader.Dispose();
        _temp.Dispose();
    }

    private Action<WebApplication> Routes(string prefix, string? hash = "", bool sendUrl = true) => app =>
    {
        app.MapMethods("/image", ["HEAD"], (HttpContext c) =>
        {
            if (hash is not null)
            {
                c.Response.Headers[$"{prefix}-Image-Hash"] = hash.Length == 0 ? Bytes.Sha256(_file) : hash;
            }

            if (sendUrl)
            {
                c.Response.Headers[$"{prefix}-Image-URL"] = $"{c.Request.Scheme}://{c.Request.Host}/files/image.tar.xz";
            }

            return Results.Ok();
        });
        app.MapGet("/files/image.tar.xz", (HttpContext c) => RangeFile.ServeAsync(c, _file));
    };

    [Theory]
    [InlineData("Incus")]
    [InlineData("LXD")]
    public async Task Head_announces_our_architectures_and_the_reply_headers_lead_to_the_file(string prefix)
    {
        await using var server = await LoopbackServer.StartAsync(Routes(prefix));
        using var remote = new DirectRemote(new Uri(server.BaseUri, "image"), _downloader, architectures: ["x86_64", "i686"], serverVersion: "6.0");

        var image = await remote.ResolveAsync();
        var downloaded = await remote.DownloadAsync(image, _temp.Sub("tmp"));

        var head = server.Requests.First();
        Assert.Equal("HEAD", head.Method);
        Assert.Equal("x86_64, i686", head.Headers["Incus-Server-Architectures"]);
        Assert.Equal("6.0", head.Headers["Incus-Server-Version"]);
        Assert.Equal("x86_64, i686", head.Headers["LXD-Server-Architectures"]);
        Assert.Equal(Bytes.Sha256(_file), image.Fingerprint.ToString());
        Assert.Equal(_file, await File.ReadAllBytesAsync(downloaded.Metadata.Path));
        Assert.Equal("image.tar.xz", downloaded.Metadata.FileName);
    }

    [Fact]
    public async Task Missing_hash_header_is_a_typed_error_with_Incus_wording()
    {
        await using var server = await LoopbackServer.StartAsync(Routes("Incus", hash: null));
        using var remote = new DirectRemote(new Uri(server.BaseUri, "image"), _downloader);

        var error = await Assert.ThrowsAsync<MissingHeaderException>(() => remote.ResolveAsync());

        Assert.Equal("Incus-Image-Hash", error.Header);
        Assert.StartsWith("Missing Incus-Image-Hash header", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Missing_url_header_is_a_typed_error()
    {
        await using var server = await LoopbackServer.StartAsync(Routes("Incus", sendUrl: false));
        using var remote = new DirectRemote(new Uri(server.BaseUri, "image"), _downloader);

        var error = await Assert.ThrowsAsync<MissingHeaderException>(() => remote.ResolveAsync());

        Assert.Equal("Incus-Image-URL", error.Header);
    }

    [Fact]
    public async Task Plain_http_works_with_a_warning_and_https_with_a_pinned_certificate_without()
    {
        await using var plain = await LoopbackServer.StartAsync(Routes("Incus"));
        using var plainRemote = new DirectRemote(new Uri(plain.BaseUri, "image"), _downloader);
        var certificate = TestCertificates.Create("url-server");
        await using var secure = await LoopbackServer.StartAsync(Routes("Incus"), certificate);
        using var secureRemote = new DirectRemote(new Uri(secure.BaseUri, "image"), _downloader, new RemoteConnection { ServerCertificatePem = TestCertificates.Pem(certificate) });

        var overHttp = await plainRemote.ResolveAsync();
        var overHttps = await secureRemote.ResolveAsync();
        var downloaded = await secureRemote.DownloadAsync(overHttps, _temp.Sub("tmp"));

        Assert.Contains(overHttp.Warnings, w => w.Contains("plain http", StringComparison.Ordinal));
        Assert.Empty(overHttps.Warnings);
        Assert.Equal(_file, await File.ReadAllBytesAsync(downloaded.Metadata.Path));
    }

    [Fact]
    public async Task File_not_matching_the_announced_hash_is_refused_and_removed()
    {
        var wrong = new string('e', 64);
        await using var server = await LoopbackServer.StartAsync(Routes("Incus", hash: wrong));
        using var remote = new DirectRemote(new Uri(server.BaseUri, "image"), _downloader);
        var tmp = _temp.Sub("tmp");

        var image = await remote.ResolveAsync();
        var error = await Assert.ThrowsAsync<HashMismatchException>(() => remote.DownloadAsync(image, tmp));

        Assert.Equal(wrong, error.Expected);
        Assert.Empty(TempDirectory.Files(tmp));
    }

    [Fact]
    public async Task Concurrent_resolutions_of_one_url_send_one_head_request()
    {
        var arrived = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var release = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        await using var server = await StartHoldingHeadsAsync(arrived, release);
        using var remote = new DirectRemote(new Uri(server.BaseUri, "image"), _downloader);

        // Every call joins before the first answer can come: the server holds it until all were made.
        var resolutions = Enumerable.Range(0, 50).Select(n => n % 2 == 0 ? remote.ResolveAsync() : remote.GetImageAsync(Bytes.Sha256(_file)[..12])).ToList();
        await arrived.Task.WaitAsync(TimeSpan.FromSeconds(60));
        release.SetResult();
        var images = await Task.WhenAll(resolutions).WaitAsync(TimeSpan.FromSeconds(60));

        Assert.All(images, i => Assert.Equal(Bytes.Sha256(_file), i.Fingerprint.ToString()));
        Assert.Single(server.Requests, r => r.Method == "HEAD");
    }

    [Fact]
    public async Task A_head_answered_with_a_server_error_is_asked_again()
    {
        var heads = 0;
        await using var server = await LoopbackServer.StartAsync(app =>
        {
            app.Use(async (context, next) =>
            {
                // The first HEAD fails as a broken server would: 500 and none of the image headers.
                if (HttpMethods.IsHead(context.Request.Method) && Interlocked.Increment(ref heads) == 1)
                {
                    context.Response.StatusCode = StatusCodes.Status500InternalServerError;
                    return;
                }

                await next(context);
            });
            Routes("Incus")(app);
        });
        using var remote = new DirectRemote(new Uri(server.BaseUri, "image"), _downloader);

        var image = await remote.ResolveAsync();

        Assert.Equal(Bytes.Sha256(_file), image.Fingerprint.ToString());
        Assert.Equal(2, server.Requests.Count(r => r.Method == "HEAD"));
    }

    [Fact]
    public async Task A_head_that_keeps_answering_503_fails_naming_the_status_and_the_attempts_not_a_missing_header()
    {
        await using var server = await LoopbackServer.StartAsync(app => app.Use((HttpContext context, RequestDelegate _) =>
        {
            context.Response.StatusCode = StatusCodes.Status503ServiceUnavailable;
            return Task.CompletedTask;
        }));
        using var remote = new DirectRemote(new Uri(server.BaseUri, "image"), _downloader);

        var error = await Assert.ThrowsAsync<RemoteException>(() => remote.ResolveAsync().WaitAsync(TimeSpan.FromSeconds(60)));

        Assert.IsNotType<MissingHeaderException>(error);
        Assert.Contains("503", error.Message, StringComparison.Ordinal);
        Assert.Contains($"after {server.Requests.Count} attempts", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_head_answered_404_without_the_image_headers_fails_at_once_naming_the_status()
    {
        await using var server = await LoopbackServer.StartAsync(app => app.Use((HttpContext context, RequestDelegate _) =>
        {
            context.Response.StatusCode = StatusCodes.Status404NotFound;
            return Task.CompletedTask;
        }));
        using var remote = new DirectRemote(new Uri(server.BaseUri, "image"), _downloader);

        var error = await Assert.ThrowsAsync<RemoteErrorResponseException>(() => remote.ResolveAsync());

        Assert.Contains("404", error.Message, StringComparison.Ordinal);
        Assert.Single(server.Requests);
    }

    [Fact]
    public async Task A_caller_that_gives_up_on_a_shared_head_leaves_it_running_for_the_others()
    {
        var arrived = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var release = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        await using var server = await StartHoldingHeadsAsync(arrived, release);
        using var remote = new DirectRemote(new Uri(server.BaseUri, "image"), _downloader);
        using var impatient = new CancellationTokenSource();

        var givingUp = remote.ResolveAsync(impatient.Token);
        var waiting = remote.ResolveAsync();
        await arrived.Task.WaitAsync(TimeSpan.FromSeconds(60));
        await impatient.CancelAsync();
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => givingUp);
        release.SetResult();

        Assert.Equal(Bytes.Sha256(_file), (await waiting.WaitAsync(TimeSpan.FromSeconds(60))).Fingerprint.ToString());
        Assert.Single(server.Requests, r => r.Method == "HEAD");
    }

    [Fact]
    public async Task A_head_that_gets_no_answer_within_the_request_timeout_is_asked_again()
    {
        var heads = 0;
        var release = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        await using var server = await LoopbackServer.StartAsync(app =>
        {
            app.Use(async (context, next) =>
            {
                // The first HEAD hangs until the test ends; later ones are answered.
                if (HttpMethods.IsHead(context.Request.Method) && Interlocked.Increment(ref heads) == 1)
                {
                    await release.Task;
                }

                await next(context);
            });
            Routes("Incus")(app);
        });
        using var remote = new DirectRemote(new Uri(server.BaseUri, "image"), _downloader, new RemoteConnection { RequestTimeout = TimeSpan.FromSeconds(2) });

        try
        {
            var image = await remote.ResolveAsync().WaitAsync(TimeSpan.FromSeconds(60));

            Assert.Equal(Bytes.Sha256(_file), image.Fingerprint.ToString());
            Assert.Equal(2, server.Requests.Count(r => r.Method == "HEAD"));
        }
        finally
        {
            release.TrySetResult();
        }
    }

    // A URL server whose HEAD requests say they arrived and then wait for the test's release.
    private Task<LoopbackServer> StartHoldingHeadsAsync(TaskCompletionSource arrived, TaskCompletionSource release) =>
        LoopbackServer.StartAsync(app =>
        {
            app.Use(async (context, next) =>
            {
                if (HttpMethods.IsHead(context.Request.Method))
                {
                    arrived.TrySetResult();
                    await release.Task;
                }

                await next(context);
            });
            Routes("Incus")(app);
        });
}
