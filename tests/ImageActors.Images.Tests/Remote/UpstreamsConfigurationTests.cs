using ImageActors.Actors.Configuration;
using ImageActors.Images.Configuration;
using ImageActors.Images.Remote;

namespace ImageActors.Images.Tests.Remote;

/// <summary><c>images.upstreams</c>: the cache appliance's upstream servers as configured.</summary>
public sealed class UpstreamsConfigurationTests
{
    [Fact]
    public void Upstreams_are_read_in_order_with_their_protocols()
    {
        var config = HoconConfig.Parse("images.upstreams = [\"simplestreams:https://images.example\", \"https://incus.example:8443\", \"lxd:http://lxd.example\"]");

        var upstreams = ImagesOptions.Bind(config).Upstreams;

        Assert.Equal(
            [
                new RemoteSource(new Uri("https://images.example"), "simplestreams"),
                new RemoteSource(new Uri("https://incus.example:8443"), "incus"),
                new RemoteSource(new Uri("http://lxd.example"), "lxd"),
            ],
            upstreams);
    }

    [Fact]
    public void No_upstreams_are_configured_by_default() =>
        Assert.Empty(ImagesOptions.Bind(HoconConfig.Empty).Upstreams);

    [Theory]
    [InlineData("oci:https://registry.example", "'oci' is not one of")]
    [InlineData("simplestreams:ftp://images.example", "is not an http(s) URL")]
    [InlineData("images.example", "is not an http(s) URL")]
    public void An_upstream_with_an_unknown_protocol_or_a_non_http_url_is_rejected_naming_the_key(string entry, string problem)
    {
        var config = HoconConfig.Parse($"images.upstreams = [\"{entry}\"]");

        var error = Assert.Throws<ConfigurationException>(() => ImagesOptions.Bind(config));

        Assert.Contains("images.upstreams", error.Message, StringComparison.Ordinal);
        Assert.Contains(problem, error.Message, StringComparison.Ordinal);
    }
}
