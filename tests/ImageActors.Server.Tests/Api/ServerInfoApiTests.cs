using System.Net;
using System.Text.Json;
using ImageActors.Server.Tests.Support;

namespace ImageActors.Server.Tests.Api;

/// <summary>
/// <c>GET /1.0</c> as <c>remote add</c> reads it, and the error texts of exports, which the clients print as they are.
/// </summary>
public sealed class ServerInfoApiTests : CatalogApiTest
{
    [Fact]
    public async Task A_trusted_caller_is_told_the_server_is_private_so_remote_add_records_a_private_remote()
    {
        using var anonymous = Factory.CreateClient();
        using var trusted = Factory.TrustedClient();

        using var forAnonymous = await GetJsonAsync(anonymous, "/1.0");
        using var forTrusted = await GetJsonAsync(trusted, "/1.0");

        Assert.True(forAnonymous.RootElement.GetProperty("metadata").GetProperty("public").GetBoolean());
        Assert.False(forTrusted.RootElement.GetProperty("metadata").GetProperty("public").GetBoolean());
        Assert.Equal("trusted", forTrusted.RootElement.GetProperty("metadata").GetProperty("auth").GetString());
    }

    [Fact]
    public async Task The_environment_names_architectures_as_incus_does_not_as_dotnet_does()
    {
        using var trusted = Factory.TrustedClient();

        using var info = await GetJsonAsync(trusted, "/1.0");

        var environment = info.RootElement.GetProperty("metadata").GetProperty("environment");
        var expected = System.Runtime.InteropServices.RuntimeInformation.OSArchitecture switch
        {
            System.Runtime.InteropServices.Architecture.X64 => "x86_64",
            System.Runtime.InteropServices.Architecture.Arm64 => "aarch64",
            var other => other.ToString(),
        };
        Assert.Equal(expected, environment.GetProperty("kernel_architecture").GetString());
        Assert.Equal(expected, environment.GetProperty("architectures")[0].GetString());
        Assert.DoesNotContain(environment.GetProperty("architectures").EnumerateArray(), a => a.GetString() is "x64" or "arm64" or "x86");
    }

    [Fact]
    public async Task Export_of_an_unknown_name_with_a_slash_is_not_found_naming_it_decoded()
    {
        using var client = Factory.TrustedClient();

        var response = await client.GetAsync(new Uri("/1.0/images/testos%2Fs/export", UriKind.Relative));
        using var body = JsonDocument.Parse(await response.Content.ReadAsStringAsync());

        Assert.Equal(HttpStatusCode.NotFound, response.StatusCode);
        Assert.Equal("Image \"testos/s\" not found", body.RootElement.GetProperty("error").GetString());
    }

    private static async Task<JsonDocument> GetJsonAsync(HttpClient client, string url)
    {
        var response = await client.GetAsync(new Uri(url, UriKind.Relative));
        Assert.True(response.IsSuccessStatusCode, $"{url}: {(int)response.StatusCode} {await response.Content.ReadAsStringAsync()}");
        return JsonDocument.Parse(await response.Content.ReadAsStringAsync());
    }
}
