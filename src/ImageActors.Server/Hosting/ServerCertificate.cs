using System.Net;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;

namespace ImageActors.Server.Hosting;

/// <summary>
/// The server's TLS certificate: <c>&lt;data&gt;/server.crt</c> and <c>server.key</c> (PEM), generated
/// self-signed at first start as Incus does. The <c>lxc</c> client rejects certificates without
/// subject alternative names, so the SANs name 127.0.0.1, ::1, localhost, the host name and every
/// concrete listen address.
/// </summary>
public static class ServerCertificate
{
    /// <summary>File name of the certificate inside the data directory.</summary>
    public const string CertificateFile = "server.crt";

    /// <summary>File name of the private key inside the data directory.</summary>
    public const string KeyFile = "server.key";

    /// <summary>
    /// Loads the certificate from <paramref name="dataDirectory"/>, generating it first when it is
    /// missing.
    /// </summary>
    /// <param name="dataDirectory">The data directory.</param>
    /// <param name="listenAddresses">Concrete addresses to name in the SANs (wildcards are skipped).</param>
    public static X509Certificate2 LoadOrCreate(string dataDirectory, IEnumerable<IPAddress> listenAddresses)
    {
        ArgumentNullException.ThrowIfNull(dataDirectory);
        var crt = Path.Combine(dataDirectory, CertificateFile);
        var key = Path.Combine(dataDirectory, KeyFile);
        if (!File.Exists(crt) || !File.Exists(key))
        {
            Directory.CreateDirectory(dataDirectory);
            using var created = Create(listenAddresses, Environment.MachineName);
            WriteAtomically(key, created.GetECDsaPrivateKey()!.ExportPkcs8PrivateKeyPem(), privateFile: true);
            WriteAtomically(crt, created.ExportCertificatePem(), privateFile: false);
        }

        return X509Certificate2.CreateFromPemFile(crt, key);
    }

    /// <summary>Creates a self-signed ECDSA P-384 server certificate valid for ten years.</summary>
    public static X509Certificate2 Create(IEnumerable<IPAddress> listenAddresses, string hostName)
    {
        ArgumentNullException.ThrowIfNull(listenAddresses);
        using var key = ECDsa.Create(ECCurve.NamedCurves.nistP384);
        var request = new CertificateRequest($"CN=imageactors@{hostName}, O=ImageActors", key, HashAlgorithmName.SHA384);

        var san = new SubjectAlternativeNameBuilder();
        var addresses = new HashSet<IPAddress> { IPAddress.Loopback, IPAddress.IPv6Loopback };
        foreach (var address in listenAddresses)
        {
            if (!address.Equals(IPAddress.Any) && !address.Equals(IPAddress.IPv6Any))
            {
                addresses.Add(address);
            }
        }

        foreach (var address in addresses)
        {
            san.AddIpAddress(address);
        }

        san.AddDnsName("localhost");
        if (!string.IsNullOrEmpty(hostName) && !hostName.Equals("localhost", StringComparison.OrdinalIgnoreCase))
        {
            san.AddDnsName(hostName);
        }

        request.CertificateExtensions.Add(san.Build());
        request.CertificateExtensions.Add(new X509BasicConstraintsExtension(false, false, 0, true));
        request.CertificateExtensions.Add(new X509KeyUsageExtension(X509KeyUsageFlags.DigitalSignature, true));
        request.CertificateExtensions.Add(new X509EnhancedKeyUsageExtension([new Oid("1.3.6.1.5.5.7.3.1")], false));
        request.CertificateExtensions.Add(new X509SubjectKeyIdentifierExtension(request.PublicKey, false));

        var now = DateTimeOffset.UtcNow;
        return request.CreateSelfSigned(now.AddMinutes(-5), now.AddYears(10));
    }

    /// <summary>The SHA-256 fingerprint of a certificate (lowercase hex of its DER bytes), as Incus shows it.</summary>
    public static string FingerprintOf(X509Certificate2 certificate)
    {
        ArgumentNullException.ThrowIfNull(certificate);
        return Convert.ToHexStringLower(SHA256.HashData(certificate.RawData));
    }

    private static void WriteAtomically(string path, string text, bool privateFile)
    {
        var temp = path + ".tmp";
        var options = new FileStreamOptions { Mode = FileMode.Create, Access = FileAccess.Write };
        if (privateFile && !OperatingSystem.IsWindows())
        {
            options.UnixCreateMode = UnixFileMode.UserRead | UnixFileMode.UserWrite;
        }

        using (var stream = new FileStream(temp, options))
        using (var writer = new StreamWriter(stream))
        {
            writer.Write(text);
            writer.Flush();
            stream.Flush(flushToDisk: true);
        }

        File.Move(temp, path, overwrite: true);
    }
}
