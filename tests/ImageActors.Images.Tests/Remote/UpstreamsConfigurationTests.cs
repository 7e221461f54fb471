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

    [Fact]
    public void An_upstream_object_pins_the_certificate_in_a_PEM_file_named_relative_to_the_configuration_file()
    {
        var directory = Directory.CreateTempSubdirectory("imageactors-upstreams-").FullName;
        try
        {
            using var key = System.Security.Cryptography.ECDsa.Create();
            var request = new System.Security.Cryptography.X509Certificates.CertificateRequest("CN=upstream", key, System.Security.Cryptography.HashAlgorithmName.SHA256);
            using var certificate = request.CreateSelfSigned(DateTimeOffset.UtcNow.AddMinutes(-1), DateTimeOffset.UtcNow.AddYears(1));
            File.WriteAllText(Path.Combine(directory, "upstream.pem"), certificate.ExportCertificatePem());
            var file = Path.Combine(directory, "appliance.hocon");
            File.WriteAllText(file, "images.upstreams = [\"simplestreams:https://images.example\", { url = \"https://incus.internal:8443\", protocol = lxd, certificate = upstream.pem }]\n");
            var config = HoconConfig.Load(file);

            Assert.Empty(new ConfigurationSchema(ImagesOptions.Section).Check(config));
            var upstreams = ImagesOptions.Bind(config).Upstreams;

            Assert.Equal(new RemoteSource(new Uri("https://images.example"), "simplestreams"), upstreams[0]);
            Assert.Equal(new Uri("https://incus.internal:8443"), upstreams[1].Server);
            Assert.Equal("lxd", upstreams[1].Protocol);
            Assert.Equal(certificate.ExportCertificatePem(), upstreams[1].Certificate.Trim());
        }
        finally
        {
            Directory.Delete(directory, recursive: true);
        }
    }

    [Fact]
    public void An_upstream_object_without_a_protocol_speaks_incus_and_without_a_certificate_pins_nothing()
    {
        var config = HoconConfig.Parse("images.upstreams = [{ url = \"https://incus.example:8443\" }]");

        Assert.Equal([new RemoteSource(new Uri("https://incus.example:8443"), "incus")], ImagesOptions.Bind(config).Upstreams);
    }

    [Fact]
    public void A_pinned_certificate_file_that_is_missing_stops_start_up_naming_the_key_and_the_file()
    {
        var config = HoconConfig.Parse("images.upstreams = [{ url = \"https://incus.example:8443\", certificate = \"/nonexistent/upstream.pem\" }]");

        var error = Assert.Throws<ConfigurationException>(() => ImagesOptions.Bind(config));

        Assert.Contains("images.upstreams", error.Message, StringComparison.Ordinal);
        Assert.Contains("/nonexistent/upstream.pem", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void A_pinned_certificate_file_that_is_not_PEM_stops_start_up()
    {
        var path = Path.GetTempFileName();
        try
        {
            File.WriteAllText(path, "not a certificate");
            var config = HoconConfig.Parse($"images.upstreams = [{{ url = \"https://incus.example:8443\", certificate = \"{path}\" }}]");

            var error = Assert.Throws<ConfigurationException>(() => ImagesOptions.Bind(config));

            Assert.Contains("is not a PEM certificate", error.Message, StringComparison.Ordinal);
        }
        finally
        {
            File.Delete(path);
        }
    }

    [Theory]
    [InlineData("{ url = \"https://a.example\", pin = x }", "unknown field 'pin'")]
    [InlineData("{ protocol = incus }", "needs a url")]
    [InlineData("{ url = \"https://a.example\", protocol = oci }", "protocol 'oci' is not one of")]
    [InlineData("{ url = \"ftp://a.example\" }", "is not an http(s) URL")]
    public void A_malformed_upstream_object_is_rejected_by_the_schema_check_naming_the_key(string entry, string problem)
    {
        var config = HoconConfig.Parse($"images.upstreams = [{entry}]");

        var errors = new ConfigurationSchema(ImagesOptions.Section).Check(config);

        var error = Assert.Single(errors);
        Assert.Equal("images.upstreams", error.Path);
        Assert.Contains(problem, error.Message, StringComparison.Ordinal);
        Assert.Throws<ConfigurationException>(() => ImagesOptions.Bind(config));
    }
}
