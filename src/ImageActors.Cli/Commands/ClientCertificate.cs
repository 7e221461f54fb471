using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;

namespace ImageActors.Cli.Commands;

/// <summary>
/// The command line's TLS client certificate, <c>&lt;data&gt;/client.crt</c> and <c>client.key</c>, made at first
/// need as the Incus client makes its <c>client.crt</c>: a self-signed ECDSA P-384 certificate presented to every
/// remote. A remote trusts it once its operator adds the file (<c>lxc config trust add client.crt</c> on LXD,
/// <c>incus config trust add-certificate client.crt</c> on Incus, <c>imageactors config trust add client.crt</c> here).
/// </summary>
public static class ClientCertificate
{
    /// <summary>The certificate file under <paramref name="dataDirectory"/>.</summary>
    public static string CertificatePath(string dataDirectory) => Path.Combine(Path.GetFullPath(dataDirectory), "client.crt");

    /// <summary>The key file under <paramref name="dataDirectory"/>.</summary>
    public static string KeyPath(string dataDirectory) => Path.Combine(Path.GetFullPath(dataDirectory), "client.key");

    /// <summary>Loads the certificate with its key, creating both files first if they do not exist.</summary>
    /// <exception cref="CommandException">The files exist but cannot be read as a certificate and key.</exception>
    public static X509Certificate2 LoadOrCreate(string dataDirectory)
    {
        var certificatePath = CertificatePath(dataDirectory);
        var keyPath = KeyPath(dataDirectory);
        if (!File.Exists(certificatePath) || !File.Exists(keyPath))
        {
            Create(certificatePath, keyPath);
        }

        try
        {
            // Through PKCS#12 so the key is one TLS can use on every platform, not an ephemeral one.
            using var pem = X509Certificate2.CreateFromPemFile(certificatePath, keyPath);
            return X509CertificateLoader.LoadPkcs12(pem.Export(X509ContentType.Pkcs12), null);
        }
        catch (CryptographicException e)
        {
            throw new CommandException($"{certificatePath}: not a certificate with its key in {keyPath} ({e.Message})");
        }
    }

    private static void Create(string certificatePath, string keyPath)
    {
        Directory.CreateDirectory(Path.GetDirectoryName(certificatePath)!);
        using var key = ECDsa.Create(ECCurve.NamedCurves.nistP384);
        var user = Environment.UserName.Length > 0 ? Environment.UserName : "root";
        var request = new CertificateRequest($"CN={user}@{Environment.MachineName}, O=ImageActors", key, HashAlgorithmName.SHA384);
        request.CertificateExtensions.Add(new X509KeyUsageExtension(X509KeyUsageFlags.DigitalSignature, critical: true));
        request.CertificateExtensions.Add(new X509EnhancedKeyUsageExtension([new Oid("1.3.6.1.5.5.7.3.2")], critical: false));
        request.CertificateExtensions.Add(new X509BasicConstraintsExtension(false, false, 0, true));
        var now = DateTimeOffset.UtcNow;
        using var certificate = request.CreateSelfSigned(now.AddMinutes(-5), now.AddYears(10));

        // Key first and private to the user; the certificate's appearance marks a complete pair.
        WriteAtomically(keyPath, key.ExportPkcs8PrivateKeyPem(), UnixFileMode.UserRead | UnixFileMode.UserWrite);
        WriteAtomically(certificatePath, certificate.ExportCertificatePem(), UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.GroupRead | UnixFileMode.OtherRead);
    }

    private static void WriteAtomically(string path, string text, UnixFileMode mode)
    {
        var temporary = path + ".tmp";
        using (var file = OperatingSystem.IsWindows()
            ? new FileStream(temporary, FileMode.Create, FileAccess.Write)
            : new FileStream(temporary, new FileStreamOptions { Mode = FileMode.Create, Access = FileAccess.Write, UnixCreateMode = mode }))
        using (var writer = new StreamWriter(file))
        {
            writer.Write(text);
            writer.WriteLine();
        }

        File.Move(temporary, path, overwrite: true);
    }
}
