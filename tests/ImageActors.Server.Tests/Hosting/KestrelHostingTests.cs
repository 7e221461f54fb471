using System.Net;
using System.Net.Http.Headers;
using System.Net.Security;
using System.Net.Sockets;
using System.Security.Authentication;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using System.Text;
using ImageActors.Server.Hosting;
using ImageActors.Server.Tests.Support;
using ImageActors.Server.Trust;

namespace ImageActors.Server.Tests.Hosting;

public sealed class KestrelHostingTests
{
    [Fact]
    public async Task First_start_generates_a_certificate_with_loopback_SANs_and_serves_https_with_it()
    {
        await using var server = await LoopbackServer.StartAsync();

        Assert.True(File.Exists(Path.Combine(server.DataDirectory, "server.crt")));
        Assert.True(File.Exists(Path.Combine(server.DataDirectory, "server.key")));
        var san = server.Server.Certificate.Extensions.OfType<X509SubjectAlternativeNameExtension>().Single();
        var addresses = san.EnumerateIPAddresses().ToList();
        Assert.Contains(IPAddress.Loopback, addresses);
        Assert.Contains(IPAddress.IPv6Loopback, addresses);
        Assert.Contains("localhost", san.EnumerateDnsNames());

        using var client = server.HttpsClient();
        Assert.Equal("ok\n", await client.GetStringAsync(new Uri("/healthz", UriKind.Relative)));
    }

    [Fact]
    public async Task Restart_reuses_the_certificate_from_the_data_directory()
    {
        using var data = new TempDirectory();
        string first;
        await using (var server = await LoopbackServer.StartAsync(data.Path))
        {
            first = ServerCertificate.FingerprintOf(server.Server.Certificate);
        }

        await using var again = await LoopbackServer.StartAsync(data.Path);
        Assert.Equal(first, ServerCertificate.FingerprintOf(again.Server.Certificate));
    }

    [Fact]
    public async Task A_TLS_1_3_only_client_completes_the_handshake()
    {
        await using var server = await LoopbackServer.StartAsync();
        using var tcp = new TcpClient();
        await tcp.ConnectAsync(server.Https.Host, server.Https.Port);
        await using var tls = new SslStream(tcp.GetStream());
        await tls.AuthenticateAsClientAsync(new SslClientAuthenticationOptions
        {
            TargetHost = "127.0.0.1",
            EnabledSslProtocols = SslProtocols.Tls13,
            RemoteCertificateValidationCallback = (_, _, _, _) => true,
        });

        Assert.Equal(SslProtocols.Tls13, tls.SslProtocol);
    }

    [Fact]
    public async Task Plain_http_on_the_tls_port_gets_400_and_the_connection_closes()
    {
        await using var server = await LoopbackServer.StartAsync();
        using var tcp = new TcpClient();
        await tcp.ConnectAsync(server.Https.Host, server.Https.Port);
        var stream = tcp.GetStream();
        await stream.WriteAsync(Encoding.ASCII.GetBytes("GET /streams/v1/index.json HTTP/1.1\r\nHost: x\r\n\r\n"));

        // The guard answers and closes: reading to the end must finish without the client closing first.
        using var deadline = new CancellationTokenSource(TimeSpan.FromSeconds(30));
        var reply = new MemoryStream();
        await stream.CopyToAsync(reply, deadline.Token);
        Assert.StartsWith("HTTP/1.1 400 Bad Request", Encoding.ASCII.GetString(reply.ToArray()), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Plain_http_endpoint_serves_when_configured()
    {
        await using var server = await LoopbackServer.StartAsync();
        using var client = new HttpClient { BaseAddress = server.Http };
        Assert.Equal("ok\n", await client.GetStringAsync(new Uri("/healthz", UriKind.Relative)));
    }

    [Fact]
    public async Task Unix_socket_callers_are_trusted_and_tls_callers_without_a_certificate_are_not()
    {
        await using var server = await LoopbackServer.StartAsync();
        using var unix = server.UnixClient();
        using var https = server.HttpsClient();

        var local = await unix.GetAsync(new Uri("/1.0/operations", UriKind.Relative));
        var remote = await https.GetAsync(new Uri("/1.0/operations", UriKind.Relative));

        Assert.Equal(HttpStatusCode.OK, local.StatusCode);
        Assert.Equal(HttpStatusCode.Forbidden, remote.StatusCode);
    }

    [Fact]
    public async Task A_client_certificate_in_the_trust_store_makes_the_caller_trusted()
    {
        await using var server = await LoopbackServer.StartAsync();
        using var trustedCertificate = ClientCertificate("trusted");
        using var strangerCertificate = ClientCertificate("stranger");
        new TrustStore(server.DataDirectory).Add(trustedCertificate);

        using var trusted = server.HttpsClient(trustedCertificate);
        using var stranger = server.HttpsClient(strangerCertificate);

        Assert.Equal(HttpStatusCode.OK, (await trusted.GetAsync(new Uri("/1.0/operations", UriKind.Relative))).StatusCode);
        Assert.Equal(HttpStatusCode.Forbidden, (await stranger.GetAsync(new Uri("/1.0/operations", UriKind.Relative))).StatusCode);
    }

    [Fact]
    public async Task A_configured_bearer_token_makes_the_caller_trusted()
    {
        await using var server = await LoopbackServer.StartAsync(tokens: ["platform-secret"]);
        using var client = server.HttpsClient();

        using var good = new HttpRequestMessage(HttpMethod.Get, "/1.0/operations");
        good.Headers.Authorization = new AuthenticationHeaderValue("Bearer", "platform-secret");
        using var bad = new HttpRequestMessage(HttpMethod.Get, "/1.0/operations");
        bad.Headers.Authorization = new AuthenticationHeaderValue("Bearer", "guess");

        Assert.Equal(HttpStatusCode.OK, (await client.SendAsync(good)).StatusCode);
        Assert.Equal(HttpStatusCode.Forbidden, (await client.SendAsync(bad)).StatusCode);
    }

    [Fact]
    public async Task Metrics_count_answered_requests_in_prometheus_text()
    {
        await using var server = await LoopbackServer.StartAsync();
        using var client = server.HttpsClient();
        await client.GetStringAsync(new Uri("/healthz", UriKind.Relative));
        await client.GetAsync(new Uri("/no/such/path", UriKind.Relative));

        var text = await client.GetStringAsync(new Uri("/metrics", UriKind.Relative));

        Assert.Contains("# TYPE imageactors_http_requests_total counter", text, StringComparison.Ordinal);
        Assert.Matches(@"imageactors_http_requests_total\{code=""2xx""\} [1-9]", text);
        Assert.Matches(@"imageactors_http_requests_total\{code=""4xx""\} [1-9]", text);
        Assert.Contains("imageactors_operations_running 0", text, StringComparison.Ordinal);
    }

    internal static X509Certificate2 ClientCertificate(string name)
    {
        using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var request = new CertificateRequest("CN=" + name, key, HashAlgorithmName.SHA256);
        request.CertificateExtensions.Add(new X509EnhancedKeyUsageExtension([new Oid("1.3.6.1.5.5.7.3.2")], false));
        using var created = request.CreateSelfSigned(DateTimeOffset.UtcNow.AddDays(-1), DateTimeOffset.UtcNow.AddYears(1));

        // Round-trip through PKCS#12 so that SslStream on Linux can use the private key.
        return X509CertificateLoader.LoadPkcs12(created.Export(X509ContentType.Pfx), null);
    }
}
