using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using ImageActors.IntegrationTests.Support;
using ImageActors.Server.Tests.Support;

namespace ImageActors.IntegrationTests.Peers;

/// <summary>
/// Two <c>imageactors serve</c>: an upstream with public unified images, and a cache holding one of them copied over
/// the REST API by <c>imageactors image copy … --auto-update</c> (so its <c>update_source</c> names the upstream and
/// the protocol <c>incus</c>) under the public alias <see cref="CopiedAlias"/>.
/// </summary>
public sealed class TwoServes : IAsyncLifetime
{
    /// <summary>The alias of the copied image on the cache (and on the upstream).</summary>
    public const string CopiedAlias = "two-serves/copied";

    /// <summary>An upstream image the cache does not hold, for a copy with a profile.</summary>
    public const string ProfileSource = "two-serves/profile";

    private readonly TempDirectory _root = new();

    /// <summary>The upstream server.</summary>
    public ImageActorsServe Upstream { get; private set; } = null!;

    /// <summary>The cache, which copied <see cref="CopiedAlias"/> from the upstream.</summary>
    public ImageActorsServe Cache { get; private set; } = null!;

    /// <summary>The fingerprint of the copied image.</summary>
    public string CopiedFingerprint { get; private set; } = null!;

    /// <summary>
    /// The upstream's public images that the cache does not hold, by alias: <c>two-serves/lxd</c>,
    /// <c>two-serves/incus</c> and <see cref="ProfileSource"/>.
    /// </summary>
    public Dictionary<string, string> UpstreamOnly { get; } = new(StringComparer.Ordinal);

    /// <inheritdoc />
    public async Task InitializeAsync()
    {
        var upstreamRoot = Directory.CreateDirectory(Path.Combine(_root.Path, "upstream")).FullName;
        var upstream = new ImageActorsCli(upstreamRoot);
        var copied = await RealImages.UnifiedAsync(upstreamRoot, "two-serves-copied", "91");
        CopiedFingerprint = (await upstream.RunAsync("image", "import", copied, "--alias", CopiedAlias, "--public")).ImportedFingerprint();
        foreach (var (family, release) in new[] { ("lxd", "92"), ("incus", "93"), ("profile", "95") })
        {
            var file = await RealImages.UnifiedAsync(upstreamRoot, "two-serves-" + family, release);
            UpstreamOnly["two-serves/" + family] = (await upstream.RunAsync("image", "import", file, "--alias", "two-serves/" + family, "--public")).ImportedFingerprint();
        }

        Upstream = await ImageActorsServe.StartAsync(upstream, upstreamRoot);

        var cacheRoot = Directory.CreateDirectory(Path.Combine(_root.Path, "cache")).FullName;
        var cache = new ImageActorsCli(cacheRoot);
        await cache.RunAsync("image", "copy", $"{Upstream.Https.ToString().TrimEnd('/')}:{CopiedAlias}", "--protocol", "incus", "--certificate", Upstream.CertificatePath, "--alias", CopiedAlias, "--public", "--auto-update");
        Cache = await ImageActorsServe.StartAsync(cache, cacheRoot);
    }

    /// <summary>
    /// The real client of <paramref name="kind"/> with the cache added as the remote <c>ours</c>, as a private server
    /// that trusts it: its certificate is made here and trusted by the cache before the client first connects.
    /// </summary>
    public async Task<PeerClient> TrustedClientAsync(PeerKind kind)
    {
        var client = new PeerClient(kind);
        using var key = ECDsa.Create(ECCurve.NamedCurves.nistP384);
        var request = new CertificateRequest($"CN={kind.Client}-{Guid.NewGuid():N}", key, HashAlgorithmName.SHA384);
        request.CertificateExtensions.Add(new X509EnhancedKeyUsageExtension([new Oid("1.3.6.1.5.5.7.3.2")], critical: false));
        using var certificate = request.CreateSelfSigned(DateTimeOffset.UtcNow.AddMinutes(-5), DateTimeOffset.UtcNow.AddDays(1));
        var certificatePath = Path.Combine(client.ConfigDirectory, "client.crt");
        await File.WriteAllTextAsync(certificatePath, certificate.ExportCertificatePem());
        await File.WriteAllTextAsync(Path.Combine(client.ConfigDirectory, "client.key"), key.ExportECPrivateKeyPem());
        await Cache.Cli.RunAsync("config", "trust", "add", certificatePath);
        await client.RunOkAsync(null, "remote", "add", "ours", Cache.Https.ToString().TrimEnd('/'), "--accept-certificate");
        return client;
    }

    /// <inheritdoc />
    public async Task DisposeAsync()
    {
        if (Cache is not null)
        {
            await Cache.DisposeAsync();
        }

        if (Upstream is not null)
        {
            await Upstream.DisposeAsync();
        }

        _root.Dispose();
    }
}
