using System.Net;
using System.Net.Security;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using System.Text.Json;
using ImageActors.Cli;
using ImageActors.Server.Hosting;
using ImageActors.Server.Tests.Support;
using Microsoft.Extensions.Logging;

namespace ImageActors.IntegrationTests;

public sealed class TrustCommandTests
{
    [Fact]
    public async Task A_certificate_added_with_config_trust_is_trusted_by_the_running_server_until_removed()
    {
        using var root = new TempDirectory();
        var data = Path.Combine(root.Path, "data");
        var config = Path.Combine(root.Path, "empty.hocon");
        await File.WriteAllTextAsync(config, "# defaults only\n");
        using var client = ClientCertificate();
        var pem = Path.Combine(root.Path, "client.crt");
        await File.WriteAllTextAsync(pem, client.ExportCertificatePem());

        await using var server = ImageActorsServer.Create(
            new ListenSettings { DataDirectory = data, Https = [new IPEndPoint(IPAddress.Loopback, 0)], UnixSocket = false },
            configureLogging: logging => logging.SetMinimumLevel(LogLevel.Warning));
        await server.StartAsync();
        using var https = new HttpClient(new SocketsHttpHandler
        {
            SslOptions = new SslClientAuthenticationOptions { RemoteCertificateValidationCallback = (_, _, _, _) => true, ClientCertificates = [client] },
            PooledConnectionLifetime = TimeSpan.Zero,
        })
        { BaseAddress = server.HttpsEndpoints[0] };

        var before = await AuthAsync(https);
        Assert.Equal(0, await RunAsync("config", "trust", "add", pem, "--config", config, "--data", data));
        var trusted = await AuthAsync(https);
        Assert.Equal(0, await RunAsync("config", "trust", "remove", ServerCertificate.FingerprintOf(client)[..8], "--config", config, "--data", data));
        var after = await AuthAsync(https);

        Assert.Equal(["untrusted", "trusted", "untrusted"], new[] { before, trusted, after });
    }

    private static async Task<string> AuthAsync(HttpClient client)
    {
        using var document = JsonDocument.Parse(await client.GetStringAsync(new Uri("/1.0", UriKind.Relative)));
        return document.RootElement.GetProperty("metadata").GetProperty("auth").GetString()!;
    }

    private static Task<int> RunAsync(params string[] arguments) =>
        ImageActorsCommand.InvokeAsync(arguments, new CliHost(new StringWriter(), new StringWriter(), _ => null));

    private static X509Certificate2 ClientCertificate()
    {
        using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var request = new CertificateRequest("CN=platform", key, HashAlgorithmName.SHA256);
        using var created = request.CreateSelfSigned(DateTimeOffset.UtcNow.AddDays(-1), DateTimeOffset.UtcNow.AddYears(1));
        return X509CertificateLoader.LoadPkcs12(created.Export(X509ContentType.Pfx), null);
    }
}
