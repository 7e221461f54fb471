using System.Text.Json;
using ImageActors.IntegrationTests.Support;

namespace ImageActors.IntegrationTests.Peers;

/// <summary>
/// Where Incus and LXD answer differently, our server answers the real <c>incus</c> and <c>lxc</c> clients each as its
/// own server would: an image copied over the REST API names its source protocol <c>incus</c> to Incus' client and
/// <c>lxd</c> to LXD's, in the image object, in the recursive list (whichever client listed first) and in
/// <c>image info</c>.
/// </summary>
public sealed class ClientFamilyTests(TwoServes servers) : IClassFixture<TwoServes>
{
    [Theory]
    [InlineData("Incus", "incus")]
    [InlineData("LXD", "lxd")]
    public async Task The_source_protocol_of_an_image_copied_over_rest_is_the_one_the_clients_own_server_names(string family, string protocol)
    {
        using var client = await servers.TrustedClientAsync(family == "LXD" ? PeerKind.Lxd : PeerKind.Incus);

        var image = await client.RunOkAsync(null, "query", "ours:/1.0/images/" + servers.CopiedFingerprint);
        var list = await client.RunOkAsync(null, "image", "list", "ours:", "--format", "json");
        var info = await client.RunOkAsync(null, "image", "info", "ours:" + TwoServes.CopiedAlias);

        using (var document = JsonDocument.Parse(image))
        {
            Assert.Equal(protocol, document.RootElement.GetProperty("update_source").GetProperty("protocol").GetString());
        }

        using (var document = JsonDocument.Parse(list))
        {
            var listed = document.RootElement.EnumerateArray().Single(i => i.GetProperty("fingerprint").GetString() == servers.CopiedFingerprint);
            Assert.Equal(protocol, listed.GetProperty("update_source").GetProperty("protocol").GetString());
        }

        Assert.Contains("Protocol: " + protocol + "\n", info, StringComparison.Ordinal);
    }
}
