using System.Formats.Tar;
using System.IO.Compression;
using System.Net;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json;
using ImageActors.Server.Tests.Support;

namespace ImageActors.Server.Tests.Api;

/// <summary>
/// Bad input sent to a real store behind a real Kestrel is refused with one line that names what is wrong and the
/// file it came in; alias names the API could not address again are refused when they are created.
/// </summary>
public sealed class HostileInputApiTests : IAsyncLifetime
{
    private const string Token = "hostile-token";
    private ServedStore _server = null!;

    public async Task InitializeAsync() => _server = await ServedStore.StartAsync(null, Token);

    public async Task DisposeAsync() => await _server.DisposeAsync();

    [Fact]
    public async Task A_creation_date_outside_what_can_be_stored_fails_the_upload_with_one_line_naming_the_field_and_the_file()
    {
        var error = await FailedUploadAsync(Gzip(Tarball("architecture: x86_64\ncreation_date: 99999999999999\n", 4096)), "far-future.tar.gz");

        Assert.DoesNotContain('\n', error);
        Assert.StartsWith("far-future.tar.gz: ", error, StringComparison.Ordinal);
        Assert.Contains("creation_date", error, StringComparison.Ordinal);
        Assert.Contains("metadata.yaml", error, StringComparison.Ordinal);
        Assert.Contains("99999999999999", error, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_50_MB_metadata_yaml_is_refused_naming_the_limit_not_stored_with_its_description_cut()
    {
        var yaml = "architecture: x86_64\ncreation_date: 1700000000\nproperties:\n  description: " + new string('d', 50 << 20) + "\n";

        var error = await FailedUploadAsync(Gzip(Tarball(yaml, 4096)), "huge-metadata.tar.gz");

        Assert.DoesNotContain('\n', error);
        Assert.StartsWith("huge-metadata.tar.gz: ", error, StringComparison.Ordinal);
        Assert.Contains("1 MiB (1048576 bytes) limit", error, StringComparison.Ordinal);
        Assert.Empty(_server.Store.List());
    }

    [Fact]
    public async Task A_gzip_image_with_a_byte_flipped_after_its_metadata_is_refused_as_damaged_and_not_stored()
    {
        var image = Gzip(Tarball("architecture: x86_64\ncreation_date: 1700000000\n", 1 << 20));
        image[image.Length * 3 / 4] ^= 0x55;

        var error = await FailedUploadAsync(image, "flipped.tar.gz");

        Assert.DoesNotContain('\n', error);
        Assert.StartsWith("flipped.tar.gz: The image file is damaged: The gzip stream is corrupt", error, StringComparison.Ordinal);
        Assert.Empty(_server.Store.List());
    }

    [Fact]
    public async Task An_alias_name_with_a_NUL_is_refused_at_creation_and_never_listed()
    {
        using var client = _server.TrustedClient(Token);
        var fingerprint = await UploadAsync(client, Gzip(Tarball("architecture: x86_64\ncreation_date: 1700000000\n", 4096)));

        using var response = await client.PostAsync(
            new Uri("/1.0/images/aliases", UriKind.Relative),
            new StringContent($"{{\"name\":\"bad\\u0000name\",\"target\":\"{fingerprint}\"}}", Encoding.UTF8, "application/json"));
        using var body = JsonDocument.Parse(await response.Content.ReadAsStringAsync());
        using var list = JsonDocument.Parse(await client.GetStringAsync(new Uri("/1.0/images/aliases", UriKind.Relative)));

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.Contains("control characters (U+0000)", body.RootElement.GetProperty("error").GetString(), StringComparison.Ordinal);
        Assert.Equal(0, list.RootElement.GetProperty("metadata").GetArrayLength());
    }

    [Fact]
    public async Task An_alias_named_with_a_percent_escape_is_read_and_deleted_by_its_own_name_not_the_decoded_one()
    {
        using var client = _server.TrustedClient(Token);
        var fingerprint = await UploadAsync(client, Gzip(Tarball("architecture: x86_64\ncreation_date: 1700000000\n", 4096)));
        await CreateAliasAsync(client, "a%2Fb", fingerprint);
        await CreateAliasAsync(client, "a/b", fingerprint);
        var url = "/1.0/images/aliases/" + Uri.EscapeDataString("a%2Fb");

        using var read = JsonDocument.Parse(await client.GetStringAsync(new Uri(url, UriKind.Relative)));
        using var deleted = await client.DeleteAsync(new Uri(url, UriKind.Relative));
        using var list = JsonDocument.Parse(await client.GetStringAsync(new Uri("/1.0/images/aliases", UriKind.Relative)));

        Assert.Equal("a%2Fb", read.RootElement.GetProperty("metadata").GetProperty("name").GetString());
        Assert.True(deleted.IsSuccessStatusCode, await deleted.Content.ReadAsStringAsync());
        Assert.Equal(["/1.0/images/aliases/a%2Fb"], list.RootElement.GetProperty("metadata").EnumerateArray().Select(e => e.GetString()));
    }

    private static async Task CreateAliasAsync(HttpClient client, string name, string fingerprint)
    {
        var json = JsonSerializer.Serialize(new Dictionary<string, string> { ["name"] = name, ["target"] = fingerprint });
        using var response = await client.PostAsync(new Uri("/1.0/images/aliases", UriKind.Relative), new StringContent(json, Encoding.UTF8, "application/json"));
        Assert.True(response.IsSuccessStatusCode, await response.Content.ReadAsStringAsync());
    }

    private async Task<string> FailedUploadAsync(byte[] image, string filename)
    {
        using var client = _server.TrustedClient(Token);
        using var operation = await PostImageAsync(client, image, filename);
        var metadata = operation.RootElement.GetProperty("metadata");
        Assert.Equal("Failure", metadata.GetProperty("status").GetString());
        return metadata.GetProperty("err").GetString()!;
    }

    private static async Task<string> UploadAsync(HttpClient client, byte[] image)
    {
        using var operation = await PostImageAsync(client, image, "image.tar.gz");
        var metadata = operation.RootElement.GetProperty("metadata");
        Assert.Equal("Success", metadata.GetProperty("status").GetString());
        return metadata.GetProperty("metadata").GetProperty("fingerprint").GetString()!;
    }

    // The operation once it has finished, whether the answer carried it finished or it had to be waited for.
    private static async Task<JsonDocument> PostImageAsync(HttpClient client, byte[] image, string filename)
    {
        using var content = new ByteArrayContent(image);
        content.Headers.ContentType = new MediaTypeHeaderValue("application/octet-stream");
        content.Headers.Add("X-Incus-filename", filename);
        using var response = await client.PostAsync(new Uri("/1.0/images", UriKind.Relative), content);
        var text = await response.Content.ReadAsStringAsync();
        Assert.True(response.StatusCode == HttpStatusCode.Accepted, text);
        using var created = JsonDocument.Parse(text);
        var url = created.RootElement.GetProperty("operation").GetString()!;
        return JsonDocument.Parse(await client.GetStringAsync(new Uri(url + "/wait?timeout=60", UriKind.Relative)));
    }

    // metadata.yaml first and a rootfs after it, as tar writes them when named in that order.
    private static byte[] Tarball(string yaml, int rootfsBytes)
    {
        var payload = new byte[rootfsBytes];
        new Random(17).NextBytes(payload);
        using var buffer = new MemoryStream();
        using (var tar = new TarWriter(buffer, TarEntryFormat.Pax, leaveOpen: true))
        {
            tar.WriteEntry(new PaxTarEntry(TarEntryType.RegularFile, "metadata.yaml") { DataStream = new MemoryStream(Encoding.UTF8.GetBytes(yaml)) });
            tar.WriteEntry(new PaxTarEntry(TarEntryType.RegularFile, "rootfs/etc/payload") { DataStream = new MemoryStream(payload) });
        }

        return buffer.ToArray();
    }

    private static byte[] Gzip(byte[] bytes)
    {
        using var buffer = new MemoryStream();
        using (var gzip = new GZipStream(buffer, CompressionLevel.Fastest, leaveOpen: true))
        {
            gzip.Write(bytes);
        }

        return buffer.ToArray();
    }
}
