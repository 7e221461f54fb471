using System.Net.Security;
using System.Net.Sockets;
using System.Security.Authentication;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;

namespace ImageActors.Cli.Commands;

/// <summary>
/// What <c>remote add</c> does with the server's certificate, as <c>incus remote add</c> does: a certificate the system
/// trusts needs nothing; any other is shown by its SHA-256 fingerprint and pinned when accepted, either by
/// <c>--accept-certificate</c> or by the answer on a terminal. Without a terminal the command fails naming the flag.
/// </summary>
internal static class ServerCertificateCheck
{
    /// <summary>Checks the certificate of <paramref name="url"/>.</summary>
    /// <returns>The PEM to pin, or empty when the system's roots vouch for the server.</returns>
    public static async Task<string> RunAsync(string url, bool accept, CliHost host, TextWriter output, CancellationToken cancellationToken)
    {
        var (certificate, trusted) = await FetchAsync(new Uri(url), cancellationToken);
        using (certificate)
        {
            if (trusted && !accept)
            {
                return string.Empty;
            }

            var fingerprint = FingerprintOf(certificate);
            await output.WriteLineAsync("Certificate fingerprint: " + fingerprint);
            if (!accept)
            {
                if (!host.InputIsTerminal)
                {
                    throw new CommandException($"The certificate of {url} is not trusted by this system: run again with --accept-certificate to pin it (fingerprint {fingerprint}), or give it with --certificate FILE");
                }

                await output.WriteAsync("ok (y/n/[fingerprint])? ");
                await output.FlushAsync(cancellationToken);
                var answer = (await host.Input.ReadLineAsync(cancellationToken))?.Trim() ?? string.Empty;
                if (answer is not ("y" or "Y") && !string.Equals(answer, fingerprint, StringComparison.OrdinalIgnoreCase))
                {
                    throw new CommandException("Server certificate NACKed by user");
                }
            }

            return certificate.ExportCertificatePem();
        }
    }

    /// <summary>The certificate's SHA-256 fingerprint as Incus shows it: lower-case hex of the DER bytes.</summary>
    public static string FingerprintOf(X509Certificate2 certificate) => Convert.ToHexStringLower(SHA256.HashData(certificate.RawData));

    private static async Task<(X509Certificate2 Certificate, bool Trusted)> FetchAsync(Uri url, CancellationToken cancellationToken)
    {
        X509Certificate2? presented = null;
        var trusted = false;
        using var deadline = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        deadline.CancelAfter(TimeSpan.FromSeconds(30));
        try
        {
            using var tcp = new TcpClient();
            await tcp.ConnectAsync(url.IdnHost, url.IsDefaultPort ? 443 : url.Port, deadline.Token);
            await using var tls = new SslStream(tcp.GetStream(), leaveInnerStreamOpen: false, (_, certificate, _, errors) =>
            {
                if (certificate is not null)
                {
                    presented = X509CertificateLoader.LoadCertificate(certificate.GetRawCertData());
                    trusted = errors == SslPolicyErrors.None;
                }

                return true;
            });
            await tls.AuthenticateAsClientAsync(new SslClientAuthenticationOptions { TargetHost = url.IdnHost }, deadline.Token);
        }
        catch (Exception e) when (e is SocketException or IOException or AuthenticationException or OperationCanceledException && !cancellationToken.IsCancellationRequested)
        {
            presented?.Dispose();
            throw new CommandException($"Cannot read the certificate of {url.GetLeftPart(UriPartial.Authority)}: {e.Message}");
        }

        return (presented ?? throw new CommandException($"{url.GetLeftPart(UriPartial.Authority)} presented no certificate"), trusted);
    }
}
