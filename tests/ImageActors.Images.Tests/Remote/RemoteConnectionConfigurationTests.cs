using ImageActors.Images.Configuration;
using ImageActors.Images.Remote;
using ImageActors.Remotes;
using Microsoft.Extensions.DependencyInjection;

namespace ImageActors.Images.Tests.Remote;

/// <summary><c>images.max_connections_per_server</c>: how many connections the remotes open to one server.</summary>
public sealed class RemoteConnectionConfigurationTests
{
    [Fact]
    public void Max_connections_per_server_is_read_into_the_connection_remotes_use()
    {
        var options = ImagesOptions.Bind(HoconConfig.Parse("images.max_connections_per_server = 3"));

        Assert.Equal(3, options.MaxConnectionsPerServer);
        Assert.Equal(3, options.ToRemoteConnection().MaxConnectionsPerServer);
    }

    [Fact]
    public void Without_the_key_remotes_keep_the_connection_default() =>
        Assert.Equal(new RemoteConnection().MaxConnectionsPerServer, ImagesOptions.Bind(HoconConfig.Empty).ToRemoteConnection().MaxConnectionsPerServer);

    [Fact]
    public void The_download_stall_timeout_is_read_into_the_download_options()
    {
        Assert.Equal(TimeSpan.FromSeconds(60), ImagesOptions.Bind(HoconConfig.Empty).ToDownloadOptions().StallTimeout);
        Assert.Equal(TimeSpan.FromMinutes(5), ImagesOptions.Bind(HoconConfig.Parse("images.download_stall_timeout = 5m")).ToDownloadOptions().StallTimeout);
    }

    [Fact]
    public void OpenSSL_downloads_are_on_unless_the_key_turns_them_off()
    {
        Assert.True(ImagesOptions.Bind(HoconConfig.Empty).ToRemoteConnection().OpenSslDownloads);
        Assert.False(ImagesOptions.Bind(HoconConfig.Parse("images.openssl_downloads = off")).ToRemoteConnection().OpenSslDownloads);
    }

    [Theory]
    [InlineData("0", "0 is out of range (>= 1)")]
    [InlineData("-4", "-4 is out of range (>= 1)")]
    [InlineData("many", "'many'")]
    public void A_max_connections_per_server_that_is_not_a_positive_number_stops_start_up_naming_the_key(string value, string problem)
    {
        var config = HoconConfig.Parse($"images.max_connections_per_server = {value}");

        var error = Assert.Throws<ConfigurationException>(() => ImagesOptions.Bind(config));

        Assert.Contains("images.max_connections_per_server", error.Message, StringComparison.Ordinal);
        Assert.Contains(problem, error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void A_hosted_store_opens_its_remotes_with_the_configured_connections_per_server()
    {
        var options = new ImagesOptions { MaxConnectionsPerServer = 5 };
        using var provider = new ServiceCollection().AddImageActors(Path.Combine(Path.GetTempPath(), "imageactors-unstarted"), options).BuildServiceProvider();

        Assert.Equal(5, provider.GetRequiredService<RemoteImageSources>().Connection.MaxConnectionsPerServer);
    }
}
