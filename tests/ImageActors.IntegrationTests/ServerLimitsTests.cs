using System.Net;
using System.Net.Http.Headers;
using System.Net.Security;
using System.Net.Sockets;
using System.Security.Authentication;
using System.Text;
using System.Text.Json.Nodes;
using ImageActors.Cli;
using ImageActors.IntegrationTests.Support;
using ImageActors.LoadTests.Scenarios;
using ImageActors.Server.Tests.Support;

namespace ImageActors.IntegrationTests;

/// <summary>
/// What one client may cost <c>imageactors serve</c>, set with <c>--set server.*</c> and tried from outside: uploads
/// beyond <c>server.max_concurrent_uploads</c> wait or are answered 503 with Retry-After, slow clients are cut off,
/// and a large body is refused where only a small one belongs.
/// </summary>
public sealed class ServerLimitsTests : IAsyncLifetime
{
    private readonly TempDirectory _root = new();
    private ImageActorsServe? _serve;
    private HttpClient? _client;

    public Task InitializeAsync() => Task.CompletedTask;

    public async Task DisposeAsync()
    {
        _client?.Dispose();
        if (_serve is not null)
        {
            await _serve.DisposeAsync();
        }

        _root.Dispose();
    }

    [Fact]
    public async Task Uploads_past_max_concurrent_uploads_get_503_with_Retry_After_and_all_succeed_when_retried()
    {
        var client = await ServeAsync("server.max_concurrent_uploads=1", "server.upload_queue_timeout=0");
        var held = new HeldContent(GeneratedImages.OfSize("held", 0, 256 << 10));
        var first = PostImageAsync(client, held);
        await UntilUploadsAsync(client, running: 1, waiting: 0);

        var refusedImages = Enumerable.Range(1, 4).Select(i => GeneratedImages.Small("refused", i)).ToList();
        foreach (var image in refusedImages)
        {
            using var refused = await PostImageAsync(client, Content(image));
            Assert.Equal(HttpStatusCode.ServiceUnavailable, refused.StatusCode);
            Assert.Equal(TimeSpan.FromSeconds(2), refused.Headers.RetryAfter?.Delta);
            var envelope = JsonNode.Parse(await refused.Content.ReadAsStringAsync())!;
            Assert.Equal("error", envelope["type"]!.GetValue<string>());
            Assert.Equal(503, envelope["error_code"]!.GetValue<int>());
            Assert.Contains("server.max_concurrent_uploads", envelope["error"]!.GetValue<string>(), StringComparison.Ordinal);
        }

        held.Release();
        using (var answer = await first)
        {
            await SucceededAsync(client, answer);
        }

        // Retried as a client that honours Retry-After would: each one gets its turn.
        foreach (var image in refusedImages)
        {
            using var retried = await PostImageAsync(client, Content(image));
            await SucceededAsync(client, retried);
        }

        var listed = await ListAsync(client);
        Assert.Equal(5, listed.Count);
        Assert.All(refusedImages, image => Assert.Contains(GeneratedImages.Fingerprint(image), listed));
    }

    [Fact]
    public async Task Image_import_through_a_server_with_every_upload_slot_taken_waits_out_Retry_After_and_then_succeeds()
    {
        var client = await ServeAsync("server.max_concurrent_uploads=1", "server.upload_queue_timeout=0");
        var held = new HeldContent(GeneratedImages.OfSize("held", 0, 256 << 10));
        var first = PostImageAsync(client, held);
        await UntilUploadsAsync(client, running: 1, waiting: 0);
        var image = GeneratedImages.Small("busy", 1);
        var file = Path.Combine(_root.Path, "busy.tar.gz");
        await File.WriteAllBytesAsync(file, image);
        var config = Path.Combine(_root.Path, "busy.hocon");
        await File.WriteAllTextAsync(config, "# defaults only\n");

        // The command goes through the running server's socket, meets the 503 and says it will send the image again.
        var output = new StringWriter();
        var error = new SignallingWriter("The server is busy");
        var import = ImageActorsCommand.InvokeAsync(
            ["image", "import", file, "--config", config, "--data", _serve!.Cli.Data],
            new CliHost(TextWriter.Synchronized(output), TextWriter.Synchronized(error), _ => null));
        var seen = await Task.WhenAny(error.Seen, import).WaitAsync(TimeSpan.FromSeconds(60));
        Assert.True(seen == error.Seen, $"the import ended without waiting for the server: {output}{error}");

        held.Release();
        using (var answer = await first)
        {
            await SucceededAsync(client, answer);
        }

        Assert.Equal(0, await import.WaitAsync(TimeSpan.FromMinutes(2)));
        Assert.Contains("Image imported with fingerprint: " + GeneratedImages.Fingerprint(image), output.ToString(), StringComparison.Ordinal);
        Assert.Contains("server.max_concurrent_uploads", error.ToString(), StringComparison.Ordinal);
        Assert.Contains("sending the image again in 2 s (attempt 2 of 10)", error.ToString(), StringComparison.Ordinal);
        Assert.Equal(2, (await ListAsync(client)).Count);
    }

    [Fact]
    public async Task An_upload_past_the_limit_waits_for_a_free_slot_and_then_succeeds()
    {
        var client = await ServeAsync("server.max_concurrent_uploads=1", "server.upload_queue_timeout=10m");
        var held = new HeldContent(GeneratedImages.OfSize("held", 0, 256 << 10));
        var first = PostImageAsync(client, held);
        await UntilUploadsAsync(client, running: 1, waiting: 0);

        var queued = PostImageAsync(client, Content(GeneratedImages.Small("queued", 1)));
        await UntilUploadsAsync(client, running: 1, waiting: 1);
        Assert.False(queued.IsCompleted, "the second upload was answered while the only slot was taken");

        held.Release();
        using (var answer = await first)
        {
            await SucceededAsync(client, answer);
        }

        using (var answer = await queued)
        {
            await SucceededAsync(client, answer);
        }

        Assert.Equal(2, (await ListAsync(client)).Count);
    }

    [Fact]
    public async Task A_client_that_never_finishes_its_headers_is_cut_off()
    {
        await ServeAsync("server.request_headers_timeout=2s");
        using var tcp = new TcpClient();
        await tcp.ConnectAsync(IPAddress.Loopback, _serve!.Https.Port);
        await using var tls = new SslStream(tcp.GetStream(), false, (_, _, _, _) => true);
        await tls.AuthenticateAsClientAsync("127.0.0.1");

        // A slowloris client: a request line and one header, then nothing more.
        await tls.WriteAsync("GET /1.0 HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: "u8.ToArray());
        await tls.FlushAsync();

        var answer = await ReadUntilClosedAsync(tls).WaitAsync(TimeSpan.FromSeconds(60));
        Assert.True(answer.Length == 0 || answer.StartsWith("HTTP/1.1 408", StringComparison.Ordinal), "the server answered: " + answer);
    }

    [Fact]
    public async Task Headers_larger_than_max_request_headers_size_are_answered_431_and_smaller_ones_are_served()
    {
        await ServeAsync("server.max_request_headers_size=4KiB");
        using var https = new HttpClient(new HttpClientHandler { ServerCertificateCustomValidationCallback = (_, _, _, _) => true });

        using var large = new HttpRequestMessage(HttpMethod.Get, new Uri(_serve!.Https, "/1.0"));
        large.Headers.TryAddWithoutValidation("X-Padding", new string('p', 8 << 10));
        using var small = new HttpRequestMessage(HttpMethod.Get, new Uri(_serve.Https, "/1.0"));
        small.Headers.TryAddWithoutValidation("X-Padding", new string('p', 2 << 10));

        using var refused = await https.SendAsync(large);
        using var served = await https.SendAsync(small);

        Assert.Equal(HttpStatusCode.RequestHeaderFieldsTooLarge, refused.StatusCode);
        Assert.Equal(HttpStatusCode.OK, served.StatusCode);
    }

    [Fact]
    public async Task Connections_past_max_connections_are_closed_at_once_and_a_freed_place_is_taken_again()
    {
        await ServeAsync("server.max_connections=2");

        // Two clients hold their connections open after a request; a third is closed before it can send one.
        await using var first = await OpenAsync();
        await using var second = await OpenAsync();
        Assert.StartsWith("HTTP/1.1 200", await GetAsync(first), StringComparison.Ordinal);
        Assert.StartsWith("HTTP/1.1 200", await GetAsync(second), StringComparison.Ordinal);
        var third = await Record.ExceptionAsync(async () =>
        {
            await using var refused = await OpenAsync();
            var answer = await GetAsync(refused);
            Assert.Fail("a third connection was served: " + answer);
        });
        Assert.True(third is IOException or AuthenticationException or SocketException, $"unexpected: {third}");

        await first.DisposeAsync();
        Assert.StartsWith("HTTP/1.1 200", await GetOnANewConnectionAsync(), StringComparison.Ordinal);
    }

    private async Task<SslStream> OpenAsync()
    {
        var tcp = new TcpClient();
        await tcp.ConnectAsync(IPAddress.Loopback, _serve!.Https.Port);
        var tls = new SslStream(tcp.GetStream(), false, (_, _, _, _) => true);
        await tls.AuthenticateAsClientAsync("127.0.0.1").WaitAsync(TimeSpan.FromSeconds(60));
        return tls;
    }

    // The server counts a connection until it has seen it close, which happens just after the client closed it.
    private async Task<string> GetOnANewConnectionAsync()
    {
        using var deadline = new CancellationTokenSource(TimeSpan.FromSeconds(60));
        while (true)
        {
            try
            {
                await using var tls = await OpenAsync();
                return await GetAsync(tls);
            }
            catch (Exception e) when (e is IOException or AuthenticationException or SocketException)
            {
                await Task.Delay(100, deadline.Token);
            }
        }
    }

    // One GET /1.0 on a kept-alive connection; returns the status line and headers (the body is left unread).
    private static async Task<string> GetAsync(SslStream tls)
    {
        await tls.WriteAsync("GET /1.0 HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n"u8.ToArray());
        await tls.FlushAsync();
        var received = new StringBuilder();
        var buffer = new byte[4096];
        while (!received.ToString().Contains("\r\n\r\n", StringComparison.Ordinal))
        {
            var n = await tls.ReadAsync(buffer).AsTask().WaitAsync(TimeSpan.FromSeconds(60));
            if (n == 0)
            {
                throw new IOException("the server closed the connection: " + received);
            }

            received.Append(Encoding.ASCII.GetString(buffer, 0, n));
        }

        return received.ToString();
    }

    [Fact]
    public async Task An_upload_whose_body_stops_arriving_is_cut_off_and_stores_nothing()
    {
        var client = await ServeAsync("server.min_request_body_rate=64KiB");
        using var socket = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
        await socket.ConnectAsync(new UnixDomainSocketEndPoint(Path.Combine(_serve!.Cli.Data, "unix.socket")));
        await using var stream = new NetworkStream(socket, ownsSocket: false);

        // A trusted upload that announces 64 MiB, sends its first kilobyte and then nothing.
        var image = GeneratedImages.OfSize("slow", 0, 4096);
        await stream.WriteAsync(Encoding.ASCII.GetBytes(
            "POST /1.0/images HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/octet-stream\r\nContent-Length: 67108864\r\n\r\n"));
        await stream.WriteAsync(image.AsMemory(0, 1024));
        await stream.FlushAsync();

        var answer = await ReadUntilClosedAsync(stream).WaitAsync(TimeSpan.FromSeconds(90));
        var body = answer[(answer.IndexOf("\r\n\r\n", StringComparison.Ordinal) + 4)..];
        var operation = JsonNode.Parse(body)!["metadata"]!;
        Assert.Equal("Failure", operation["status"]!.GetValue<string>());
        Assert.Contains("server.min_request_body_rate", operation["err"]!.GetValue<string>(), StringComparison.Ordinal);
        Assert.Empty(await ListAsync(client));
    }

    [Fact]
    public async Task A_large_body_sent_to_a_small_endpoint_is_refused_with_413_naming_the_limit()
    {
        var client = await ServeAsync("server.max_request_body_size=64KiB");
        var description = new string('d', 200 << 10);
        using var body = new StringContent($$"""{"name":"big","target":"{{new string('0', 64)}}","description":"{{description}}"}""", Encoding.UTF8, "application/json");

        using var answer = await client.PostAsync(new Uri("/1.0/images/aliases", UriKind.Relative), body);

        Assert.Equal(HttpStatusCode.RequestEntityTooLarge, answer.StatusCode);
        var envelope = JsonNode.Parse(await answer.Content.ReadAsStringAsync())!;
        Assert.Equal(413, envelope["error_code"]!.GetValue<int>());
        var error = envelope["error"]!.GetValue<string>();
        Assert.DoesNotContain('\n', error);
        Assert.Contains("65536", error, StringComparison.Ordinal);
        Assert.Contains("server.max_request_body_size", error, StringComparison.Ordinal);
    }

    [Fact]
    public async Task An_image_larger_than_max_upload_size_is_refused_naming_the_key_and_leaves_nothing()
    {
        var client = await ServeAsync("server.max_upload_size=100KiB");

        using var answer = await PostImageAsync(client, Content(GeneratedImages.OfSize("big", 0, 200 << 10)));

        Assert.Equal(HttpStatusCode.RequestEntityTooLarge, answer.StatusCode);
        var error = JsonNode.Parse(await answer.Content.ReadAsStringAsync())!["error"]!.GetValue<string>();
        Assert.Contains("server.max_upload_size", error, StringComparison.Ordinal);
        Assert.Empty(await ListAsync(client));
    }

    [Theory]
    [InlineData("server.max_concurrent_uploads=0", "server.max_concurrent_uploads")]
    [InlineData("server.max_concurent_uploads=4", "did you mean server.max_concurrent_uploads?")]
    [InlineData("server.max_request_body_size=lots", "server.max_request_body_size")]
    [InlineData("server.request_headers_timeout=-1s", "server.request_headers_timeout")]
    [InlineData("server.request_buffer_size=1", "server.request_buffer_size")]
    public async Task A_bad_or_unknown_server_limit_stops_serve_with_exit_78_naming_the_key(string setting, string named)
    {
        var errors = new StringWriter();
        var host = new CliHost(new StringWriter(), errors, _ => null);
        var config = Path.Combine(_root.Path, "empty.hocon");
        await File.WriteAllTextAsync(config, "# defaults only\n");

        var exit = await ImageActorsCommand.InvokeAsync(["serve", "--config", config, "--data", Path.Combine(_root.Path, "data"), "--https", "127.0.0.1:0", "--set", setting], host);

        Assert.Equal(ExitCodes.InvalidConfiguration, exit);
        Assert.Contains(named, errors.ToString(), StringComparison.Ordinal);
    }

    private async Task<HttpClient> ServeAsync(params string[] settings)
    {
        _serve = await ImageActorsServe.StartAsync(new ImageActorsCli(_root.Path), _root.Path, "# defaults only\n", settings);
        _client = Http.ForUnixSocket(Path.Combine(_serve.Cli.Data, "unix.socket"));
        _client.Timeout = TimeSpan.FromMinutes(2);
        return _client;
    }

    private static ByteArrayContent Content(byte[] image)
    {
        var content = new ByteArrayContent(image);
        content.Headers.ContentType = new MediaTypeHeaderValue("application/octet-stream");
        return content;
    }

    private static Task<HttpResponseMessage> PostImageAsync(HttpClient client, HttpContent content) =>
        client.PostAsync(new Uri("/1.0/images", UriKind.Relative), content);

    private static async Task SucceededAsync(HttpClient client, HttpResponseMessage answer)
    {
        var text = await answer.Content.ReadAsStringAsync();
        Assert.True(answer.StatusCode == HttpStatusCode.Accepted, $"{(int)answer.StatusCode}: {text}");
        var operation = await Http.WaitAsync(client, JsonNode.Parse(text), CancellationToken.None);
        Assert.Equal("Success", operation["status"]?.GetValue<string>());
    }

    private static async Task<List<string>> ListAsync(HttpClient client)
    {
        var listed = JsonNode.Parse(await client.GetStringAsync(new Uri("/1.0/images", UriKind.Relative)))!;
        return [.. listed["metadata"]!.AsArray().Select(u => u!.GetValue<string>().Split('/')[^1])];
    }

    // The server's own gauges say when an upload holds a slot or waits for one; no guessing with delays.
    private static async Task UntilUploadsAsync(HttpClient client, int running, int waiting)
    {
        var expected = $"imageactors_uploads{{state=\"running\"}} {running}\n";
        var expectedWaiting = $"imageactors_uploads{{state=\"waiting\"}} {waiting}\n";
        using var deadline = new CancellationTokenSource(TimeSpan.FromSeconds(60));
        string metrics;
        do
        {
            metrics = await client.GetStringAsync(new Uri("/metrics", UriKind.Relative), deadline.Token);
            if (metrics.Contains(expected, StringComparison.Ordinal) && metrics.Contains(expectedWaiting, StringComparison.Ordinal))
            {
                return;
            }

            await Task.Delay(50, deadline.Token);
        }
        while (!deadline.IsCancellationRequested);

        Assert.Fail($"the server never reported {running} upload(s) running and {waiting} waiting: {metrics}");
    }

    private static async Task<string> ReadUntilClosedAsync(Stream stream)
    {
        var received = new MemoryStream();
        var buffer = new byte[4096];
        try
        {
            int n;
            while ((n = await stream.ReadAsync(buffer)) > 0)
            {
                received.Write(buffer, 0, n);
            }
        }
        catch (IOException)
        {
            // A reset is a cut too.
        }

        return Encoding.ASCII.GetString(received.ToArray());
    }

    /// <summary>An upload body that sends its first half, then waits until released: an upload in progress, on demand.</summary>
    private sealed class HeldContent : HttpContent
    {
        private readonly TaskCompletionSource _released = new(TaskCreationOptions.RunContinuationsAsynchronously);
        private readonly byte[] _bytes;

        public HeldContent(byte[] bytes)
        {
            _bytes = bytes;
            Headers.ContentType = new MediaTypeHeaderValue("application/octet-stream");
        }

        public void Release() => _released.TrySetResult();

        protected override async Task SerializeToStreamAsync(Stream stream, TransportContext? context)
        {
            var half = _bytes.Length / 2;
            await stream.WriteAsync(_bytes.AsMemory(0, half));
            await stream.FlushAsync();
            await _released.Task;
            await stream.WriteAsync(_bytes.AsMemory(half));
        }

        protected override bool TryComputeLength(out long length)
        {
            length = _bytes.Length;
            return true;
        }
    }
}
