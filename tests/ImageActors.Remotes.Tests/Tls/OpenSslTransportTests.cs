using System.Net;
using System.Security.Authentication;
using System.Security.Cryptography.X509Certificates;
using ImageActors.Remotes.Download;
using ImageActors.Remotes.Tests.Fixtures;
using ImageActors.Remotes.Tls;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;

namespace ImageActors.Remotes.Tests.Tls;

/// <summary>File downloads over https through OpenSSL on the socket: same bytes, same certificate rules, same resume.</summary>
public sealed class OpenSslTransportTests : IDisposable
{
    private static readonly TimeSpan Deadline = TimeSpan.FromSeconds(30);
    private static readonly X509Certificate2 ServerCertificate = TestCertificates.Create("openssl-transport-server");
    private static readonly X509Certificate2 OtherCertificate = TestCertificates.Create("someone-else");
    private readonly byte[] _file = Bytes.Random(5 << 20, 7);
    private readonly TempDirectory _temp = new();

    public void Dispose() => _temp.Dispose();

    private static (HttpClient Client, OpenSslTransport Transport) Client(RemoteConnection connection)
    {
        // The same pipeline RemoteConnection.CreateClient builds, with the transport in reach of the test.
        var pinned = connection.ServerCertificatePem is { } pem ? X509Certificate2.CreateFromPem(pem) : null;
        var primary = new SocketsHttpHandler
        {
            SslOptions = new()
            {
                EnabledSslProtocols = connection.TlsProtocols,
                RemoteCertificateValidationCallback = pinned is null ? null : (_, c, _, _) => c is not null && c.GetRawCertData().AsSpan().SequenceEqual(pinned.RawData),
            },
        };
        if (connection.ClientCertificate is { } mine)
        {
            primary.SslOptions.ClientCertificates = [mine];
        }

        var transport = new OpenSslTransport(primary, connection, primary.SslOptions.RemoteCertificateValidationCallback);
        return (new HttpClient(transport) { Timeout = Timeout.InfiniteTimeSpan }, transport);
    }

    private static RemoteConnection Pinned(X509Certificate2 certificate) => new() { ServerCertificatePem = TestCertificates.Pem(certificate) };

    private static HttpRequestMessage Bulk(Uri url)
    {
        var request = new HttpRequestMessage(HttpMethod.Get, url);
        request.Options.Set(RemoteConnection.BulkTransfer, true);
        return request;
    }

    private DownloadRequest Request(HttpClient client, Uri url) => new()
    {
        Client = client,
        Sources = [url],
        TempDirectory = _temp.Sub("tmp"),
        ExpectedSha256 = Bytes.Sha256(_file),
        ExpectedSize = _file.Length,
    };

    [Fact]
    public void OpenSSL_3_is_loadable_here()
    {
        // Every machine this runs on has libssl.so.3; without it the tests below would prove nothing.
        Assert.True(OpenSslTransport.CanCarry(new RemoteConnection()));
    }

    [Fact]
    public async Task An_https_download_runs_over_OpenSSL_and_keeps_every_byte_and_the_Host()
    {
        await using var server = await LoopbackServer.StartAsync(app => app.MapGet("/f", (HttpContext c) => RangeFile.ServeAsync(c, _file)), ServerCertificate);
        var (client, transport) = Client(Pinned(ServerCertificate));
        using var _ = client;
        using var downloader = new ImageDownloader();

        var file = await downloader.DownloadAsync(Request(client, new Uri(server.BaseUri, "f"))).WaitAsync(Deadline);

        Assert.Equal(_file, await File.ReadAllBytesAsync(file.Path));
        Assert.Equal(1, transport.Handshakes);
        Assert.Equal($"127.0.0.1:{server.Port}", server.Requests.Single().Headers["Host"]);
    }

    [Fact]
    public async Task Requests_that_are_not_file_downloads_stay_on_the_ordinary_connections()
    {
        await using var server = await LoopbackServer.StartAsync(app => app.MapGet("/1.0", () => Results.Json(new { type = "sync" })), ServerCertificate);
        var (client, transport) = Client(Pinned(ServerCertificate));
        using var _ = client;

        using var response = await client.GetAsync(new Uri(server.BaseUri, "1.0"));

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal(0, transport.Handshakes);
    }

    [Fact]
    public async Task A_server_whose_certificate_is_not_the_pinned_one_is_refused_as_SslStream_refuses_it()
    {
        await using var server = await LoopbackServer.StartAsync(app => app.MapGet("/f", () => "secret"), OtherCertificate);
        var (client, transport) = Client(Pinned(ServerCertificate));
        using var _ = client;

        var error = await Assert.ThrowsAsync<HttpRequestException>(() => client.SendAsync(Bulk(new Uri(server.BaseUri, "f"))));

        Assert.Contains(Chain(error), e => e is AuthenticationException && e.Message.Contains("127.0.0.1", StringComparison.Ordinal));
        Assert.Empty(server.Requests);
        Assert.Equal(0, transport.Handshakes);
    }

    [Fact]
    public async Task Without_a_pin_a_self_signed_certificate_is_refused_by_the_system_CAs()
    {
        await using var server = await LoopbackServer.StartAsync(app => app.MapGet("/f", () => "secret"), ServerCertificate);
        var (client, _) = Client(new RemoteConnection());
        using var __ = client;

        var error = await Assert.ThrowsAsync<HttpRequestException>(() => client.SendAsync(Bulk(new Uri(server.BaseUri, "f"))));

        var refusal = Assert.Single(Chain(error).OfType<AuthenticationException>());
        Assert.Contains("RemoteCertificateChainErrors", refusal.Message, StringComparison.Ordinal);
        Assert.Empty(server.Requests);
    }

    [Fact]
    public async Task The_client_certificate_is_presented_to_a_server_that_requires_one()
    {
        var mine = TestCertificates.Create("openssl-transport-client");
        await using var server = await LoopbackServer.StartAsync(app => app.MapGet("/f", (HttpContext c) => RangeFile.ServeAsync(c, _file)), ServerCertificate, requireClientCertificate: true);
        var (client, transport) = Client(Pinned(ServerCertificate) with { ClientCertificate = mine });
        using var _ = client;
        using var downloader = new ImageDownloader();

        var file = await downloader.DownloadAsync(Request(client, new Uri(server.BaseUri, "f"))).WaitAsync(Deadline);

        Assert.Equal(Bytes.Sha256(_file), file.Sha256);
        Assert.Equal(mine.Thumbprint, server.Requests.Single().ClientCertificateThumbprint);
        Assert.Equal(1, transport.Handshakes);
    }

    [Fact]
    public async Task A_redirect_is_followed_and_the_new_location_is_fetched_over_OpenSSL_too()
    {
        await using var server = await LoopbackServer.StartAsync(
            app =>
            {
                app.MapGet("/old", () => Results.Redirect("/new"));
                app.MapGet("/new", (HttpContext c) => RangeFile.ServeAsync(c, _file));
            },
            ServerCertificate);
        var (client, transport) = Client(Pinned(ServerCertificate));
        using var _ = client;
        using var downloader = new ImageDownloader();

        var file = await downloader.DownloadAsync(Request(client, new Uri(server.BaseUri, "old"))).WaitAsync(Deadline);

        Assert.Equal(Bytes.Sha256(_file), file.Sha256);
        Assert.Equal(["/old", "/new"], server.Requests.Select(r => r.RawTarget));
        Assert.Equal(1, transport.Handshakes);
    }

    [Fact]
    public async Task A_connection_cut_mid_file_resumes_over_OpenSSL_from_the_last_byte()
    {
        const int cut = 3_000_000;
        var calls = 0;
        await using var server = await LoopbackServer.StartAsync(
            app => app.MapGet("/f", (HttpContext c) => RangeFile.ServeAsync(c, _file, cutAfter: Interlocked.Increment(ref calls) == 1 ? cut : null)),
            ServerCertificate);
        var (client, transport) = Client(Pinned(ServerCertificate));
        using var _ = client;
        using var downloader = new ImageDownloader(new DownloadOptions { InitialBackoff = TimeSpan.FromMilliseconds(5) });

        var file = await downloader.DownloadAsync(Request(client, new Uri(server.BaseUri, "f"))).WaitAsync(Deadline);

        Assert.Equal(_file, await File.ReadAllBytesAsync(file.Path));
        Assert.Equal(2, file.Attempts);
        Assert.StartsWith("bytes=", server.Requests.Last().Range, StringComparison.Ordinal);
        Assert.Equal(2, transport.Handshakes);
    }

    [Fact]
    public async Task Cancelling_a_download_blocked_on_a_silent_server_ends_it_and_removes_the_temp_file()
    {
        var release = new TaskCompletionSource();
        var sent = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        await using var server = await LoopbackServer.StartAsync(
            app => app.MapGet("/f", async (HttpContext c) =>
            {
                c.Response.ContentLength = _file.Length;
                await c.Response.Body.WriteAsync(_file.AsMemory(0, 1 << 20));
                await c.Response.Body.FlushAsync();
                sent.TrySetResult();
                await release.Task.WaitAsync(c.RequestAborted);
            }),
            ServerCertificate);
        var (client, _) = Client(Pinned(ServerCertificate));
        using var __ = client;
        using var downloader = new ImageDownloader();
        var request = Request(client, new Uri(server.BaseUri, "f"));
        using var cancel = new CancellationTokenSource();

        var download = downloader.DownloadAsync(request, cancel.Token);
        await sent.Task.WaitAsync(Deadline);
        await Task.Delay(200);
        await cancel.CancelAsync();

        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => download.WaitAsync(Deadline));
        Assert.Empty(TempDirectory.Files(request.TempDirectory));
        release.TrySetResult();
    }

    private static IEnumerable<Exception> Chain(Exception error)
    {
        for (var e = error; e is not null; e = e.InnerException)
        {
            yield return e;
        }
    }
}
