using System.Net;
using System.Net.Security;
using System.Net.Sockets;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using ImageActors.Server.Hosting;
using ImageActors.Server.Tests.Support;
using Microsoft.Extensions.Logging;

namespace ImageActors.Server.Tests.Hosting;

/// <summary>The self-generated server certificate follows the listen addresses; one the operator supplied is left alone.</summary>
public sealed class ServerCertificateTests
{
    private static readonly IPAddress Second = IPAddress.Parse("127.0.0.2");

    [Fact]
    public async Task A_later_start_on_an_address_the_generated_certificate_lacks_serves_a_new_certificate_naming_it()
    {
        using var data = new TempDirectory();
        string first;
        await using (var server = await LoopbackServer.StartAsync(data.Path))
        {
            first = ServerCertificate.FingerprintOf(server.Server.Certificate);
            Assert.DoesNotContain(Second, IpSans(server.Server.Certificate));
        }

        var listen = new ListenSettings { DataDirectory = data.Path, Https = [new IPEndPoint(Second, 0)], Http = [], UnixSocket = false };
        await using var again = ImageActorsServer.Create(listen, configureLogging: l => l.SetMinimumLevel(LogLevel.Warning));
        await again.StartAsync();

        var presented = await PresentedCertificateAsync(again.HttpsEndpoints[0]);
        Assert.NotEqual(first, ServerCertificate.FingerprintOf(presented));
        var addresses = IpSans(presented);
        Assert.Contains(Second, addresses);
        Assert.Contains(IPAddress.Loopback, addresses);
        Assert.Contains(IPAddress.IPv6Loopback, addresses);
        Assert.Contains("localhost", presented.Extensions.OfType<X509SubjectAlternativeNameExtension>().Single().EnumerateDnsNames());
        Assert.Equal(ServerCertificate.FingerprintOf(presented), File.ReadAllText(Path.Combine(data.Path, ServerCertificate.GeneratedMarkerFile)).Trim());
    }

    [Fact]
    public void A_start_with_addresses_the_generated_certificate_already_names_keeps_it()
    {
        using var data = new TempDirectory();
        using var first = ServerCertificate.LoadOrCreate(data.Path, [Second], out var created);
        using var again = ServerCertificate.LoadOrCreate(data.Path, [Second, IPAddress.Loopback], out var loaded);

        Assert.Equal(CertificateOrigin.Created, created.Origin);
        Assert.Equal(CertificateOrigin.Loaded, loaded.Origin);
        Assert.Equal(ServerCertificate.FingerprintOf(first), ServerCertificate.FingerprintOf(again));
    }

    [Fact]
    public void A_certificate_generated_before_the_marker_existed_is_still_recognised_and_regenerated()
    {
        using var data = new TempDirectory();
        using (ServerCertificate.LoadOrCreate(data.Path, [IPAddress.Loopback]))
        {
        }

        File.Delete(Path.Combine(data.Path, ServerCertificate.GeneratedMarkerFile));
        using var again = ServerCertificate.LoadOrCreate(data.Path, [Second], out var outcome);

        Assert.Equal(CertificateOrigin.Regenerated, outcome.Origin);
        Assert.Equal([Second], outcome.MissingAddresses);
        Assert.Contains(Second, IpSans(again));
    }

    [Fact]
    public void An_operator_supplied_certificate_lacking_a_listen_address_is_never_replaced()
    {
        using var data = new TempDirectory();
        using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var request = new CertificateRequest("CN=images.example.org", key, HashAlgorithmName.SHA256);
        var san = new SubjectAlternativeNameBuilder();
        san.AddDnsName("images.example.org");
        san.AddIpAddress(IPAddress.Loopback);
        request.CertificateExtensions.Add(san.Build());
        using var supplied = request.CreateSelfSigned(DateTimeOffset.UtcNow.AddMinutes(-1), DateTimeOffset.UtcNow.AddYears(1));
        File.WriteAllText(Path.Combine(data.Path, ServerCertificate.CertificateFile), supplied.ExportCertificatePem());
        File.WriteAllText(Path.Combine(data.Path, ServerCertificate.KeyFile), key.ExportPkcs8PrivateKeyPem());

        using var loaded = ServerCertificate.LoadOrCreate(data.Path, [Second], out var outcome);

        Assert.Equal(CertificateOrigin.SuppliedWithoutAddresses, outcome.Origin);
        Assert.Contains(Second, outcome.MissingAddresses);
        Assert.Equal(ServerCertificate.FingerprintOf(supplied), ServerCertificate.FingerprintOf(loaded));
        Assert.Equal(supplied.ExportCertificatePem(), File.ReadAllText(Path.Combine(data.Path, ServerCertificate.CertificateFile)));
        Assert.False(File.Exists(Path.Combine(data.Path, ServerCertificate.GeneratedMarkerFile)));
    }

    [Fact]
    public void A_supplied_certificate_replacing_a_generated_one_is_not_taken_for_the_generated_one()
    {
        using var data = new TempDirectory();
        using (ServerCertificate.LoadOrCreate(data.Path, [IPAddress.Loopback]))
        {
        }

        // The operator puts their own certificate in place; the marker still names the one generated before.
        using var own = ServerCertificate.Create([IPAddress.Loopback], "operator");
        File.WriteAllText(Path.Combine(data.Path, ServerCertificate.CertificateFile), own.ExportCertificatePem());
        File.WriteAllText(Path.Combine(data.Path, ServerCertificate.KeyFile), own.GetECDsaPrivateKey()!.ExportPkcs8PrivateKeyPem());

        using var loaded = ServerCertificate.LoadOrCreate(data.Path, [Second], out var outcome);

        Assert.Equal(CertificateOrigin.SuppliedWithoutAddresses, outcome.Origin);
        Assert.Equal(ServerCertificate.FingerprintOf(own), ServerCertificate.FingerprintOf(loaded));
    }

    private static List<IPAddress> IpSans(X509Certificate2 certificate) =>
        certificate.Extensions.OfType<X509SubjectAlternativeNameExtension>().SelectMany(e => e.EnumerateIPAddresses()).ToList();

    private static async Task<X509Certificate2> PresentedCertificateAsync(Uri endpoint)
    {
        using var tcp = new TcpClient();
        await tcp.ConnectAsync(endpoint.Host, endpoint.Port);
        await using var tls = new SslStream(tcp.GetStream());
        await tls.AuthenticateAsClientAsync(new SslClientAuthenticationOptions
        {
            TargetHost = endpoint.Host,
            RemoteCertificateValidationCallback = (_, _, _, _) => true,
        });
        return X509CertificateLoader.LoadCertificate(tls.RemoteCertificate!.GetRawCertData());
    }
}
