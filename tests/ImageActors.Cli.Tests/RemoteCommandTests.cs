using System.Text.Json;

namespace ImageActors.Cli.Tests;

/// <summary><c>remote add|list|remove|rename|set-default</c> against a fresh data directory.</summary>
public sealed class RemoteCommandTests : IDisposable
{
    private readonly DirectoryInfo _data = Directory.CreateTempSubdirectory("imageactors-cli-remote-");

    public void Dispose() => _data.Delete(recursive: true);

    [Fact]
    public async Task A_fresh_data_directory_lists_local_and_images_with_local_as_default()
    {
        var list = await Remote("list", "--format", "csv");

        Assert.True(list.ExitCode == 0, list.Error);
        Assert.Equal(
            ["images,https://images.linuxcontainers.org,simplestreams,true,false", "local,unix://,imageactors,false,true"],
            Lines(list.Output));
    }

    [Fact]
    public async Task An_added_remote_is_listed_with_its_URL_protocol_and_public_flag_in_json()
    {
        var add = await Remote("add", "mirror", "https://mirror.example:8443/", "--protocol", "lxd", "--public", "--certificate", Pem());
        var list = await Remote("list", "--format", "json");

        Assert.True(add.ExitCode == 0, add.Error);
        using var json = JsonDocument.Parse(list.Output);
        var mirror = json.RootElement.GetProperty("mirror");
        Assert.Equal("https://mirror.example:8443", mirror.GetProperty("addr").GetString());
        Assert.Equal("lxd", mirror.GetProperty("protocol").GetString());
        Assert.True(mirror.GetProperty("public").GetBoolean());
        Assert.True(json.RootElement.GetProperty("local").GetProperty("default").GetBoolean());
    }

    [Fact]
    public async Task List_as_yaml_and_table_names_every_remote()
    {
        await Remote("add", "mirror", "https://mirror.example", "--certificate", Pem());

        var yaml = await Remote("list", "--format", "yaml");
        var table = await Remote("list");

        Assert.Contains("mirror:", yaml.Output, StringComparison.Ordinal);
        Assert.Contains("url: https://mirror.example", yaml.Output, StringComparison.Ordinal);
        Assert.Contains("mirror", table.Output, StringComparison.Ordinal);
        Assert.Contains("https://images.linuxcontainers.org", table.Output, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Set_default_then_remove_of_the_default_falls_back_to_local()
    {
        await Remote("add", "mirror", "https://mirror.example", "--certificate", Pem());

        var setDefault = await Remote("set-default", "mirror");
        var afterSet = await Remote("list", "--format", "csv");
        var remove = await Remote("remove", "mirror");
        var afterRemove = await Remote("list", "--format", "csv");

        Assert.True(setDefault.ExitCode == 0, setDefault.Error);
        Assert.Contains("mirror,https://mirror.example,incus,false,true", Lines(afterSet.Output));
        Assert.True(remove.ExitCode == 0, remove.Error);
        Assert.DoesNotContain(Lines(afterRemove.Output), l => l.StartsWith("mirror,", StringComparison.Ordinal));
        Assert.Contains("local,unix://,imageactors,false,true", Lines(afterRemove.Output));
    }

    [Fact]
    public async Task Rename_keeps_the_remote_and_its_default_flag_under_the_new_name()
    {
        await Remote("add", "mirror", "https://mirror.example", "--certificate", Pem());
        await Remote("set-default", "mirror");

        var rename = await Remote("rename", "mirror", "upstream");
        var list = await Remote("list", "--format", "csv");

        Assert.True(rename.ExitCode == 0, rename.Error);
        Assert.Contains("upstream,https://mirror.example,incus,false,true", Lines(list.Output));
    }

    [Fact]
    public async Task Removing_the_images_default_is_remembered()
    {
        var remove = await Remote("remove", "images");
        var list = await Remote("list", "--format", "csv");

        Assert.True(remove.ExitCode == 0, remove.Error);
        Assert.Equal(["local,unix://,imageactors,false,true"], Lines(list.Output));
    }

    [Theory]
    [InlineData("Remote \"images\" already exists", "add", "images", "https://other.example")]
    [InlineData("\"not a url\" is not an http:// or https:// URL", "add", "bad", "not a url")]
    [InlineData("Unknown protocol \"ftp\"", "add", "bad", "https://other.example", "--protocol", "ftp")]
    [InlineData("Invalid remote name \"a:b\"", "add", "a:b", "https://other.example")]
    [InlineData("Cannot read the certificate of https://127.0.0.1:1", "add", "closed", "https://127.0.0.1:1")]
    [InlineData("Remote \"nosuch\" not found", "remove", "nosuch")]
    [InlineData("Remote \"nosuch\" not found", "set-default", "nosuch")]
    [InlineData("Remote \"local\" is this store and cannot be removed", "remove", "local")]
    [InlineData("Remote \"local\" is this store and cannot be renamed", "rename", "local", "here")]
    public async Task Bad_remote_commands_fail_with_one_line_naming_the_input(string message, params string[] args)
    {
        var run = await Remote(args);

        Assert.Equal(1, run.ExitCode);
        Assert.Contains(message, run.Error, StringComparison.Ordinal);
        Assert.Single(Lines(run.Error));
    }

    // A certificate to pin, so that remote add need not reach the (made-up) server to check its certificate.
    private string Pem()
    {
        using var key = System.Security.Cryptography.ECDsa.Create();
        var request = new System.Security.Cryptography.X509Certificates.CertificateRequest("CN=mirror.example", key, System.Security.Cryptography.HashAlgorithmName.SHA256);
        using var certificate = request.CreateSelfSigned(DateTimeOffset.UtcNow.AddMinutes(-5), DateTimeOffset.UtcNow.AddDays(1));
        var path = Path.Combine(_data.FullName, "mirror.crt");
        File.WriteAllText(path, certificate.ExportCertificatePem());
        return path;
    }

    private Task<CliRun> Remote(params string[] args) => CliRun.InvokeAsync(["--data", _data.FullName, "remote", .. args]);

    private static string[] Lines(string text) => text.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
}
