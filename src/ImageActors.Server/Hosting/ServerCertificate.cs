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
    /// File name of the marker that records the SHA-256 fingerprint of the certificate this server generated; a
    /// <c>server.crt</c> with another fingerprint was supplied by the operator and is never replaced.
    /// </summary>
    public const string GeneratedMarkerFile = "server.crt.generated";

    /// <summary>
    /// Loads the certificate from <paramref name="dataDirectory"/>, generating it first when it is
    /// missing.
    /// </summary>
    /// <param name="dataDirectory">The data directory.</param>
    /// <param name="listenAddresses">Concrete addresses to name in the SANs (wildcards are skipped).</param>
    public static X509Certificate2 LoadOrCreate(string dataDirectory, IEnumerable<IPAddress> listenAddresses) =>
        LoadOrCreate(dataDirectory, listenAddresses, out _);

    /// <summary>
    /// Loads the certificate from <paramref name="dataDirectory"/>, generating it when it is missing, and generating
    /// it again when this server made it and it does not name every concrete listen address (the server was started
    /// later with other addresses). A certificate the operator supplied is used as it is.
    /// </summary>
    /// <param name="dataDirectory">The data directory.</param>
    /// <param name="listenAddresses">Concrete addresses to name in the SANs (wildcards are skipped).</param>
    /// <param name="outcome">What happened, for the start-up log.</param>
    public static X509Certificate2 LoadOrCreate(string dataDirectory, IEnumerable<IPAddress> listenAddresses, out CertificateOutcome outcome)
    {
        ArgumentNullException.ThrowIfNull(dataDirectory);
        ArgumentNullException.ThrowIfNull(listenAddresses);
        var addresses = listenAddresses.ToList();
        var crt = Path.Combine(dataDirectory, CertificateFile);
        var key = Path.Combine(dataDirectory, KeyFile);
        if (!File.Exists(crt) || !File.Exists(key))
        {
            Generate(dataDirectory, addresses);
            outcome = new CertificateOutcome(CertificateOrigin.Created, []);
            return X509Certificate2.CreateFromPemFile(crt, key);
        }

        var existing = X509Certificate2.CreateFromPemFile(crt, key);
        var missing = MissingAddresses(existing, addresses);
        if (missing.Count == 0)
        {
            outcome = new CertificateOutcome(CertificateOrigin.Loaded, []);
            return existing;
        }

        if (!IsGenerated(dataDirectory, existing))
        {
            outcome = new CertificateOutcome(CertificateOrigin.SuppliedWithoutAddresses, missing);
            return existing;
        }

        existing.Dispose();
        Generate(dataDirectory, addresses);
        outcome = new CertificateOutcome(CertificateOrigin.Regenerated, missing);
        return X509Certificate2.CreateFromPemFile(crt, key);
    }

    /// <summary>The concrete addresses of <paramref name="listenAddresses"/> and the loopbacks that the certificate's SANs lack.</summary>
    public static IReadOnlyList<IPAddress> MissingAddresses(X509Certificate2 certificate, IEnumerable<IPAddress> listenAddresses)
    {
        ArgumentNullException.ThrowIfNull(certificate);
        var named = certificate.Extensions.OfType<X509SubjectAlternativeNameExtension>().SelectMany(e => e.EnumerateIPAddresses()).ToHashSet();
        return Concrete(listenAddresses).Where(a => !named.Contains(a)).ToList();
    }

    /// <summary>Creates a self-signed ECDSA P-384 server certificate valid for ten years.</summary>
    public static X509Certificate2 Create(IEnumerable<IPAddress> listenAddresses, string hostName)
    {
        ArgumentNullException.ThrowIfNull(listenAddresses);
        using var key = ECDsa.Create(ECCurve.NamedCurves.nistP384);
        var request = new CertificateRequest($"CN=imageactors@{hostName}, O=ImageActors", key, HashAlgorithmName.SHA384);

        var san = new SubjectAlternativeNameBuilder();
        foreach (var address in Concrete(listenAddresses))
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

    private static void Generate(string dataDirectory, IEnumerable<IPAddress> listenAddresses)
    {
        Directory.CreateDirectory(dataDirectory);
        using var created = Create(listenAddresses, Environment.MachineName);
        WriteAtomically(Path.Combine(dataDirectory, KeyFile), created.GetECDsaPrivateKey()!.ExportPkcs8PrivateKeyPem(), privateFile: true);
        WriteAtomically(Path.Combine(dataDirectory, CertificateFile), created.ExportCertificatePem(), privateFile: false);
        WriteAtomically(Path.Combine(dataDirectory, GeneratedMarkerFile), FingerprintOf(created) + "\n", privateFile: false);
    }

    // Ours when the marker names this very certificate; a data directory from before the marker existed is
    // recognised by the subject this class writes.
    private static bool IsGenerated(string dataDirectory, X509Certificate2 certificate)
    {
        var marker = Path.Combine(dataDirectory, GeneratedMarkerFile);
        if (File.Exists(marker))
        {
            return File.ReadAllText(marker).Trim() == FingerprintOf(certificate);
        }

        return certificate.SubjectName.Name.StartsWith("CN=imageactors@", StringComparison.Ordinal)
            && certificate.SubjectName.Name.EndsWith(", O=ImageActors", StringComparison.Ordinal)
            && certificate.Subject == certificate.Issuer;
    }

    private static HashSet<IPAddress> Concrete(IEnumerable<IPAddress> listenAddresses)
    {
        var addresses = new HashSet<IPAddress> { IPAddress.Loopback, IPAddress.IPv6Loopback };
        foreach (var address in listenAddresses)
        {
            if (!address.Equals(IPAddress.Any) && !address.Equals(IPAddress.IPv6Any))
            {
                addresses.Add(address);
            }
        }

        return addresses;
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

/// <summary>Where the server certificate came from at this start.</summary>
public enum CertificateOrigin
{
    /// <summary>Loaded as it was; it names every listen address.</summary>
    Loaded,

    /// <summary>Generated because there was none.</summary>
    Created,

    /// <summary>Generated again because the one this server had made lacked listen addresses.</summary>
    Regenerated,

    /// <summary>Supplied by the operator and lacking listen addresses; used as it is.</summary>
    SuppliedWithoutAddresses,
}

/// <summary>What <see cref="ServerCertificate.LoadOrCreate(string, IEnumerable{IPAddress}, out CertificateOutcome)"/> did.</summary>
/// <param name="Origin">Where the certificate came from.</param>
/// <param name="MissingAddresses">Listen addresses the previous (or the supplied) certificate did not name.</param>
public sealed record CertificateOutcome(CertificateOrigin Origin, IReadOnlyList<IPAddress> MissingAddresses);
