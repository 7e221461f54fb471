using System.Collections.Frozen;
using System.Security.Cryptography.X509Certificates;
using ImageActors.Server.Hosting;

namespace ImageActors.Server.Trust;

/// <summary>
/// The client certificates this server trusts: one PEM file per certificate,
/// <c>&lt;data&gt;/trust/&lt;sha256&gt;.crt</c>, so that an operator can inspect, add and remove them with
/// ordinary tools and the command line can change them while the server runs.
/// </summary>
public sealed class TrustStore
{
    private readonly string _directory;
    private Snapshot _snapshot = new(DateTime.MinValue, FrozenSet<string>.Empty);

    /// <summary>Opens (without creating) the trust store under <paramref name="dataDirectory"/>.</summary>
    public TrustStore(string dataDirectory)
    {
        ArgumentNullException.ThrowIfNull(dataDirectory);
        _directory = Path.Combine(dataDirectory, "trust");
    }

    /// <summary>The folder holding the trusted certificates.</summary>
    public string Directory => _directory;

    /// <summary>Adds a certificate and returns its fingerprint.</summary>
    public string Add(X509Certificate2 certificate)
    {
        ArgumentNullException.ThrowIfNull(certificate);
        System.IO.Directory.CreateDirectory(_directory);
        var fingerprint = ServerCertificate.FingerprintOf(certificate);
        var path = Path.Combine(_directory, fingerprint + ".crt");
        var temp = path + ".tmp";
        File.WriteAllText(temp, certificate.ExportCertificatePem());
        File.Move(temp, path, overwrite: true);
        return fingerprint;
    }

    /// <summary>Adds the certificate in a PEM or DER file and returns its fingerprint.</summary>
    public string AddFile(string certificateFile)
    {
        using var certificate = X509CertificateLoader.LoadCertificateFromFile(certificateFile);
        return Add(certificate);
    }

    /// <summary>The trusted certificates' fingerprints with their subjects and expiry, sorted by fingerprint.</summary>
    public IReadOnlyList<TrustedCertificate> List()
    {
        if (!System.IO.Directory.Exists(_directory))
        {
            return [];
        }

        var result = new List<TrustedCertificate>();
        foreach (var file in System.IO.Directory.EnumerateFiles(_directory, "*.crt"))
        {
            using var certificate = X509CertificateLoader.LoadCertificateFromFile(file);
            result.Add(new TrustedCertificate(ServerCertificate.FingerprintOf(certificate), certificate.Subject, certificate.NotAfter.ToUniversalTime()));
        }

        result.Sort((a, b) => string.CompareOrdinal(a.Fingerprint, b.Fingerprint));
        return result;
    }

    /// <summary>
    /// Removes the certificate whose fingerprint starts with <paramref name="fingerprintPrefix"/>.
    /// </summary>
    /// <returns>The removed certificate's full fingerprint.</returns>
    /// <exception cref="KeyNotFoundException">No certificate, or more than one, matches.</exception>
    public string Remove(string fingerprintPrefix)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(fingerprintPrefix);
        var matches = List().Where(c => c.Fingerprint.StartsWith(fingerprintPrefix.ToLowerInvariant(), StringComparison.Ordinal)).ToList();
        if (matches.Count != 1)
        {
            throw new KeyNotFoundException(matches.Count == 0
                ? $"No trusted certificate matches \"{fingerprintPrefix}\"."
                : $"More than one trusted certificate matches \"{fingerprintPrefix}\": give more digits.");
        }

        File.Delete(Path.Combine(_directory, matches[0].Fingerprint + ".crt"));
        return matches[0].Fingerprint;
    }

    /// <summary>Whether a client certificate with this fingerprint is trusted.</summary>
    public bool IsTrusted(string fingerprint)
    {
        ArgumentNullException.ThrowIfNull(fingerprint);
        return Current().Fingerprints.Contains(fingerprint);
    }

    private Snapshot Current()
    {
        // Re-read only when the folder changed (adding or removing a file touches its mtime),
        // so the command line can change trust while the server runs.
        var stamp = System.IO.Directory.Exists(_directory) ? System.IO.Directory.GetLastWriteTimeUtc(_directory) : DateTime.MinValue;
        var snapshot = Volatile.Read(ref _snapshot);
        if (snapshot.Stamp == stamp)
        {
            return snapshot;
        }

        var fresh = new Snapshot(stamp, List().Select(c => c.Fingerprint).ToFrozenSet(StringComparer.Ordinal));
        Volatile.Write(ref _snapshot, fresh);
        return fresh;
    }

    private sealed record Snapshot(DateTime Stamp, FrozenSet<string> Fingerprints);
}

/// <summary>One trusted client certificate.</summary>
/// <param name="Fingerprint">SHA-256 of the certificate, lowercase hex.</param>
/// <param name="Subject">The certificate's subject.</param>
/// <param name="NotAfter">When it expires (UTC).</param>
public sealed record TrustedCertificate(string Fingerprint, string Subject, DateTime NotAfter);
