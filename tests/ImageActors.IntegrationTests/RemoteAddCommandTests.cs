using System.Net;
using System.Net.Sockets;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using ImageActors.IntegrationTests.Support;
using ImageActors.Server.Tests.Support;

namespace ImageActors.IntegrationTests;

/// <summary>
/// <c>imageactors remote add</c> against a real <c>imageactors serve</c>, with the certificate habits of
/// <c>incus remote add</c>: the fingerprint shown, the certificate pinned, a changed certificate refused later.
/// </summary>
public sealed class RemoteAddCommandTests : IAsyncLifetime
{
    private readonly TempDirectory _root = new();
    private readonly string _port = FreePort().ToString(System.Globalization.CultureInfo.InvariantCulture);
    private ImageActorsCli _server = null!;
    private ImageActorsCli _client = null!;
    private ImageActorsServe? _serve;

    public async Task InitializeAsync()
    {
        _server = new ImageActorsCli(Directory.CreateDirectory(Path.Combine(_root.Path, "server")).FullName);
        _client = new ImageActorsCli(Directory.CreateDirectory(Path.Combine(_root.Path, "client")).FullName);
        var file = await RealImages.UnifiedAsync(_root.Path, "remote-add", "61");
        await _server.RunAsync("image", "import", file, "--alias", "remote-add/unified", "--public");
        _serve = await ImageActorsServe.StartAsync(_server, _root.Path, "127.0.0.1:" + _port);
    }

    public async Task DisposeAsync()
    {
        if (_serve is not null)
        {
            await _serve.DisposeAsync();
        }

        _root.Dispose();
    }

    [Fact]
    public async Task Accept_certificate_shows_the_servers_fingerprint_and_pins_the_certificate_for_later_copies()
    {
        var add = await _client.RunAsync("remote", "add", "ours", Url, "--public", "--accept-certificate");
        var copy = await _client.RunAsync("image", "copy", "ours:remote-add/unified");

        Assert.Contains("Certificate fingerprint: " + ServerFingerprint(), add.Output, StringComparison.Ordinal);
        Assert.Contains(X509Certificate2.CreateFromPem(File.ReadAllText(_serve!.CertificatePath)).ExportCertificatePem().Split('\n')[1], await File.ReadAllTextAsync(Path.Combine(_client.Data, "remotes.yml")), StringComparison.Ordinal);
        Assert.Equal(0, copy.ExitCode);
    }

    [Fact]
    public async Task Without_the_flag_and_without_a_terminal_remote_add_fails_naming_the_flag_and_adds_nothing()
    {
        var add = await _client.RunAsync(false, "remote", "add", "ours", Url, "--public");
        var list = await _client.RunAsync("remote", "list", "--format", "csv");

        Assert.Equal(1, add.ExitCode);
        Assert.Contains("--accept-certificate", add.Error, StringComparison.Ordinal);
        Assert.Single(add.Error.Split('\n', StringSplitOptions.RemoveEmptyEntries));
        Assert.DoesNotContain("ours,", list.Output, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("n", false)]
    [InlineData("y", true)]
    [InlineData("fingerprint", true)]
    public async Task On_a_terminal_remote_add_asks_as_incus_does_and_pins_only_an_accepted_certificate(string answer, bool pinned)
    {
        var typed = answer == "fingerprint" ? ServerFingerprint() : answer;

        var add = await _client.RunOnTerminalAsync(typed + "\n", "remote", "add", "ours", Url, "--public");
        var list = await _client.RunAsync("remote", "list", "--format", "csv");

        Assert.Contains("Certificate fingerprint: " + ServerFingerprint() + "\nok (y/n/[fingerprint])? ", add.Output.ReplaceLineEndings("\n"), StringComparison.Ordinal);
        Assert.Equal(pinned ? 0 : 1, add.ExitCode);
        Assert.Equal(pinned, list.Output.Contains("ours,", StringComparison.Ordinal));
        if (!pinned)
        {
            Assert.Contains("Server certificate NACKed by user", add.Error, StringComparison.Ordinal);
        }
    }

    [Fact]
    public async Task A_server_whose_certificate_changed_after_it_was_pinned_is_refused()
    {
        await _client.RunAsync("remote", "add", "ours", Url, "--public", "--accept-certificate");
        await _serve!.DisposeAsync();
        _serve = null;
        File.Delete(Path.Combine(_server.Data, "server.crt"));
        File.Delete(Path.Combine(_server.Data, "server.key"));
        _serve = await ImageActorsServe.StartAsync(_server, _root.Path, "127.0.0.1:" + _port);

        var copy = await _client.RunAsync(false, "image", "copy", "ours:remote-add/unified");

        Assert.Equal(1, copy.ExitCode);
        Assert.True(copy.Error.Contains("certificate is not the one pinned", StringComparison.Ordinal), copy.Error);
        var list = await _client.RunAsync("image", "list", "--format", "json");
        Assert.Equal("[]", list.Output.Trim());
    }

    private string Url => "https://127.0.0.1:" + _port;

    private string ServerFingerprint() =>
        Convert.ToHexStringLower(SHA256.HashData(X509Certificate2.CreateFromPem(File.ReadAllText(_serve!.CertificatePath)).RawData));

    private static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }
}
