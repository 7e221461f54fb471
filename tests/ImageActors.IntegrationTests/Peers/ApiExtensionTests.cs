using System.Text.Json;
using ImageActors.IntegrationTests.Support;

namespace ImageActors.IntegrationTests.Peers;

/// <summary>
/// The API extensions <c>GET /1.0</c> lists are the ones our API implements among those the real <c>incus</c> and
/// <c>lxc</c> clients look for, and the image commands that need one work against our server with the real client:
/// <c>image refresh</c> of an image on our server (<c>image_force_refresh</c>), and <c>image copy</c> to our server with
/// <c>--alias</c> (<c>image_create_aliases</c>: the client leaves the alias to the copy) and <c>--profile</c>
/// (<c>image_copy_profile</c>).
/// </summary>
public sealed class ApiExtensionTests(TwoServes servers) : IClassFixture<TwoServes>
{
    [Theory]
    [InlineData("Incus")]
    [InlineData("LXD")]
    public async Task Get_1_0_lists_exactly_the_image_extensions_our_api_implements(string family)
    {
        using var client = await servers.TrustedClientAsync(Kind(family));

        var server = await client.RunOkAsync(null, "query", "ours:/1.0");

        using var document = JsonDocument.Parse(server);
        var listed = document.RootElement.GetProperty("api_extensions").EnumerateArray().Select(e => e.GetString()).Order(StringComparer.Ordinal);
        string[] implemented = ["api_filtering", "image_copy_profile", "image_create_aliases", "image_force_refresh", "image_profiles", "image_types", "images_expiry", "images_push_relay"];
        Assert.Equal(implemented, listed);
    }

    [Theory]
    [InlineData("Incus")]
    [InlineData("LXD")]
    public async Task Image_refresh_of_an_image_on_our_server_runs_there_and_finds_it_up_to_date(string family)
    {
        using var client = await servers.TrustedClientAsync(Kind(family));

        var refreshed = await client.RunOkAsync(null, "image", "refresh", "ours:" + TwoServes.CopiedAlias);

        Assert.Contains("Image already up to date.", refreshed, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("Incus")]
    [InlineData("LXD")]
    public async Task Image_copy_to_our_server_with_an_alias_creates_the_alias_with_the_copy(string family)
    {
        var kind = Kind(family);
        var source = "two-serves/" + kind.Protocol;
        using var client = await servers.TrustedClientAsync(kind);
        await client.RunOkAsync(null, "remote", "add", "upstream", servers.Upstream.Https.ToString().TrimEnd('/'), "--public", "--accept-certificate");

        await client.RunOkAsync(null, "image", "copy", "upstream:" + source, "ours:", "--alias", "copied-by/" + kind.Protocol);

        using var alias = JsonDocument.Parse(await client.RunOkAsync(null, "query", "ours:/1.0/images/aliases/copied-by%2F" + kind.Protocol));
        Assert.Equal(servers.UpstreamOnly[source], alias.RootElement.GetProperty("target").GetString());
    }

    [Fact]
    public async Task Incus_image_copy_to_our_server_with_a_profile_stores_the_profile_on_the_copy()
    {
        // lxc 5.0 has no --profile on image copy; its client library looks for the same extension.
        var fingerprint = servers.UpstreamOnly[TwoServes.ProfileSource];
        using var client = await servers.TrustedClientAsync(PeerKind.Incus);
        await client.RunOkAsync(null, "remote", "add", "upstream", servers.Upstream.Https.ToString().TrimEnd('/'), "--public", "--accept-certificate");

        await client.RunOkAsync(null, "image", "copy", "upstream:" + TwoServes.ProfileSource, "ours:", "--profile", "build");

        using var image = JsonDocument.Parse(await client.RunOkAsync(null, "query", "ours:/1.0/images/" + fingerprint));
        Assert.Equal(["build"], image.RootElement.GetProperty("profiles").EnumerateArray().Select(p => p.GetString()));
    }

    private static PeerKind Kind(string family) => family == "LXD" ? PeerKind.Lxd : PeerKind.Incus;
}
