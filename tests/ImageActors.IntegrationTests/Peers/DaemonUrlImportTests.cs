using System.Security.Cryptography.X509Certificates;
using ImageActors.IntegrationTests.Support;
using ImageActors.Server.Tests.Support;

namespace ImageActors.IntegrationTests.Peers;

/// <summary>
/// The real LXD or Incus daemon importing our image by URL over HTTPS (<c>image import https://…/direct/ALIAS</c>,
/// spec §4): the daemon asks with <c>HEAD</c>, reads the file's hash and address from the headers of its own family
/// (<c>Incus-Image-*</c> or <c>LXD-Image-*</c>), downloads the file and stores it under our fingerprint. Our server
/// uses a certificate the daemon trusts (<see cref="PeerDaemon.UseTrustedServeCertificate"/>), as a server with a
/// proper certificate would; the daemon verifies it like any other.
/// </summary>
public abstract class DaemonUrlImportTests(PeerDaemon daemon) : IAsyncLifetime
{
    private const string Alias = "url-import/unified";
    private readonly TempDirectory _root = new();
    private ImageActorsServe _server = null!;
    private string _fingerprint = null!;

    public async Task InitializeAsync()
    {
        var cli = new ImageActorsCli(_root.Path);
        daemon.UseTrustedServeCertificate(cli.Data);
        var unified = await RealImages.UnifiedAsync(_root.Path, "url-import-unified", "94");
        _fingerprint = (await cli.RunAsync("image", "import", unified, "--alias", Alias, "--public")).ImportedFingerprint();
        _server = await ImageActorsServe.StartAsync(cli, _root.Path);
    }

    public async Task DisposeAsync()
    {
        if (_server is not null)
        {
            await _server.DisposeAsync();
        }

        _root.Dispose();
    }

    private string ImageUrl => $"{_server.Https.ToString().TrimEnd('/')}/direct/{Alias}";

    [Fact]
    public async Task The_daemon_imports_our_unified_image_by_https_url_with_our_fingerprint_and_bytes()
    {
        await daemon.DeleteImageIfPresentAsync(_fingerprint);

        var imported = await daemon.ClientAsync("image", "import", ImageUrl, "local:", "--alias", "by-url");

        Assert.True(imported.ExitCode == 0, $"{daemon.Kind.Client} image import {ImageUrl} exited {imported.ExitCode}: {imported.Stderr}{imported.Stdout}\n{daemon.LogTail()}");
        var image = await daemon.FindImageAsync(_fingerprint);
        Assert.NotNull(image);
        Assert.Contains("by-url", image.Aliases);
        Assert.Equal("Testos", image.Properties["os"]);
        await daemon.AssertSameFilesAsync(_fingerprint, _server.Cli.Data);
    }

    [Fact]
    public async Task Our_answer_to_the_daemons_head_names_hash_and_url_only_in_its_own_familys_headers()
    {
        // The request the daemon sends (observed with a recording server): its User-Agent and its server headers.
        var version = ServerVersion(await daemon.ClientOkAsync("version"));
        var own = daemon.Kind.HeaderPrefix;
        var other = own == "LXD" ? "Incus" : "LXD";
        using var trusted = X509Certificate2.CreateFromPem(await File.ReadAllTextAsync(_server.CertificatePath));
        using var handler = new HttpClientHandler { ServerCertificateCustomValidationCallback = (_, presented, _, _) => presented?.RawData.AsSpan().SequenceEqual(trusted.RawData) == true };
        using var http = new HttpClient(handler);
        using var head = new HttpRequestMessage(HttpMethod.Head, ImageUrl);
        head.Headers.TryAddWithoutValidation("User-Agent", $"{daemon.Kind.Name} {version} (Linux; x86_64; 6.1.0; Debian GNU/Linux; 12)");
        head.Headers.Add(own + "-Server-Architectures", "x86_64, i686");
        head.Headers.Add(own + "-Server-Version", version);

        using var answer = await http.SendAsync(head);

        Assert.Equal([_fingerprint], answer.Headers.GetValues(own + "-Image-Hash"));
        Assert.Equal([$"{_server.Https.ToString().TrimEnd('/')}/images/{_fingerprint}/{_fingerprint}.tar.xz"], answer.Headers.GetValues(own + "-Image-URL"));
        Assert.False(answer.Headers.Contains(other + "-Image-Hash"), $"{other}-Image-Hash sent to {daemon.Kind}");
        Assert.False(answer.Headers.Contains(other + "-Image-URL"), $"{other}-Image-URL sent to {daemon.Kind}");
    }

    private static string ServerVersion(string output)
    {
        var line = output.Split('\n').Single(l => l.StartsWith("Server version:", StringComparison.Ordinal));
        return line["Server version:".Length..].Trim();
    }
}

/// <summary>The checks against the real LXD 5.0 daemon.</summary>
[Collection(LxdDaemonCollection.Name)]
public sealed class LxdUrlImportTests(LxdDaemon daemon) : DaemonUrlImportTests(daemon);

/// <summary>The checks against the real Incus 6.0 daemon.</summary>
[Collection(IncusDaemonCollection.Name)]
public sealed class IncusUrlImportTests(IncusDaemon daemon) : DaemonUrlImportTests(daemon);
