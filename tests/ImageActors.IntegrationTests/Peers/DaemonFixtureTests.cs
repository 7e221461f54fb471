using System.Net.Security;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using System.Text.Json;
using ImageActors.IntegrationTests.Support;
using ImageActors.Server.Tests.Support;

namespace ImageActors.IntegrationTests.Peers;

/// <summary>The daemon fixture itself: what a test that pushes images to the daemon relies on.</summary>
public abstract class DaemonFixtureTests(PeerDaemon lxd)
{
    [Fact]
    public async Task A_client_certificate_the_daemon_trusts_is_trusted_over_https_and_a_stranger_is_not()
    {
        using var root = new TempDirectory();
        using var trusted = ClientCertificate("trusted-client");
        using var stranger = ClientCertificate("stranger");
        var certificatePath = Path.Combine(root.Path, "client.crt");
        await File.WriteAllTextAsync(certificatePath, trusted.ExportCertificatePem());
        await lxd.ListenHttpsAsync();

        await lxd.TrustAsync(certificatePath, "imageactors-push-" + Guid.NewGuid().ToString("N")[..8]);

        Assert.Equal("trusted", await AuthAsync(trusted));
        Assert.Equal("untrusted", await AuthAsync(stranger));
    }

    private static X509Certificate2 ClientCertificate(string name)
    {
        using var key = ECDsa.Create(ECCurve.NamedCurves.nistP384);
        var request = new CertificateRequest("CN=" + name, key, HashAlgorithmName.SHA384);
        request.CertificateExtensions.Add(new X509EnhancedKeyUsageExtension([new Oid("1.3.6.1.5.5.7.3.2")], critical: false));
        using var certificate = request.CreateSelfSigned(DateTimeOffset.UtcNow.AddMinutes(-5), DateTimeOffset.UtcNow.AddDays(1));
        // A certificate with an ephemeral key cannot be presented by SslStream on every platform: round-trip through PKCS#12.
        return X509CertificateLoader.LoadPkcs12(certificate.Export(X509ContentType.Pkcs12), null);
    }

    // GET /1.0 with a client certificate, pinning the daemon's own certificate.
    private async Task<string?> AuthAsync(X509Certificate2 client)
    {
        var pinned = X509Certificate2.CreateFromPem(await File.ReadAllTextAsync(lxd.CertificatePath));
        using var handler = new SocketsHttpHandler
        {
            SslOptions = new SslClientAuthenticationOptions
            {
                ClientCertificates = [client],
                LocalCertificateSelectionCallback = (_, _, _, _, _) => client,
                RemoteCertificateValidationCallback = (_, certificate, _, _) => certificate is not null && certificate.GetRawCertData().AsSpan().SequenceEqual(pinned.RawData),
            },
        };
        using var http = new HttpClient(handler) { Timeout = TimeSpan.FromSeconds(30) };
        using var document = JsonDocument.Parse(await http.GetStringAsync(new Uri(lxd.Https, "/1.0")));
        return document.RootElement.GetProperty("metadata").GetProperty("auth").GetString();
    }
}

/// <summary>The checks against the real LXD 5.0 daemon.</summary>
[Collection(LxdDaemonCollection.Name)]
public sealed class LxdDaemonTests(LxdDaemon daemon) : DaemonFixtureTests(daemon);

/// <summary>The checks against the real Incus 6.0 daemon.</summary>
[Collection(IncusDaemonCollection.Name)]
public sealed class IncusDaemonTests(IncusDaemon daemon) : DaemonFixtureTests(daemon);
