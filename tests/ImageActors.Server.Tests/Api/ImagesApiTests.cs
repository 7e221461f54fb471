using System.Net;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json;
using ImageActors.Images.Domain;
using ImageActors.Server.Tests.Support;
using Microsoft.AspNetCore.WebUtilities;

namespace ImageActors.Server.Tests.Api;

public sealed class ImagesApiTests : CatalogApiTest
{
    [Fact]
    public async Task Server_info_says_public_and_untrusted_to_an_anonymous_caller()
    {
        using var client = Factory.CreateClient();
        using var body = await GetJsonAsync(client, "/1.0");

        var metadata = body.RootElement.GetProperty("metadata");
        Assert.True(metadata.GetProperty("public").GetBoolean());
        Assert.Equal("untrusted", metadata.GetProperty("auth").GetString());
        Assert.Equal("1.0", metadata.GetProperty("api_version").GetString());
        Assert.False(metadata.TryGetProperty("environment", out _));
    }

    [Fact]
    public async Task Untrusted_listing_shows_public_images_only()
    {
        var visible = Backend.Seed(TestImages.Unified(Files.Path), isPublic: true);
        var hidden = Backend.Seed(TestImages.Unified(Files.Path), isPublic: false);
        using var anonymous = Factory.CreateClient();
        using var trusted = Factory.TrustedClient();

        using var urls = await GetJsonAsync(anonymous, "/1.0/images");
        using var objects = await GetJsonAsync(anonymous, "/1.0/images?recursion=1");
        using var all = await GetJsonAsync(trusted, "/1.0/images?recursion=1");

        Assert.Equal(["/1.0/images/" + visible.Fingerprint], urls.RootElement.GetProperty("metadata").EnumerateArray().Select(e => e.GetString()));
        Assert.Equal([visible.Fingerprint.ToString()], objects.RootElement.GetProperty("metadata").EnumerateArray().Select(e => e.GetProperty("fingerprint").GetString()));
        Assert.Equal(2, all.RootElement.GetProperty("metadata").GetArrayLength());
        Assert.DoesNotContain(hidden.Fingerprint.ToString(), urls.RootElement.GetRawText(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Filter_selects_images_by_property()
    {
        Backend.Seed(TestImages.Unified(Files.Path), properties: new Dictionary<string, string> { ["os"] = "Debian", ["architecture"] = "x86_64" });
        var alpine = Backend.Seed(TestImages.Unified(Files.Path), properties: new Dictionary<string, string> { ["os"] = "Alpine", ["architecture"] = "x86_64" });
        using var client = Factory.CreateClient();

        using var body = await GetJsonAsync(client, "/1.0/images?recursion=1&filter=" + Uri.EscapeDataString("properties.os eq Alpine"));

        Assert.Equal([alpine.Fingerprint.ToString()], body.RootElement.GetProperty("metadata").EnumerateArray().Select(e => e.GetProperty("fingerprint").GetString()));
    }

    [Fact]
    public async Task An_image_is_found_by_a_unique_fingerprint_prefix_and_carries_an_etag()
    {
        var image = Backend.Seed(TestImages.Unified(Files.Path), aliases: ["testos/1"]);
        using var client = Factory.CreateClient();

        var response = await client.GetAsync(new Uri("/1.0/images/" + image.Fingerprint.ToShortString(12), UriKind.Relative));
        using var body = JsonDocument.Parse(await response.Content.ReadAsStringAsync());

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        var metadata = body.RootElement.GetProperty("metadata");
        Assert.Equal(image.Fingerprint.ToString(), metadata.GetProperty("fingerprint").GetString());
        Assert.Equal("testos/1", metadata.GetProperty("aliases")[0].GetProperty("name").GetString());
        Assert.Equal("container", metadata.GetProperty("type").GetString());
        Assert.Equal("0001-01-01T00:00:00Z", metadata.GetProperty("expires_at").GetString());
        Assert.NotNull(response.Headers.ETag);
    }

    [Fact]
    public async Task A_private_image_is_not_found_for_an_untrusted_caller_never_forbidden()
    {
        var image = Backend.Seed(TestImages.Unified(Files.Path), isPublic: false);
        using var client = Factory.CreateClient();

        var info = await client.GetAsync(new Uri("/1.0/images/" + image.Fingerprint, UriKind.Relative));
        var export = await client.GetAsync(new Uri("/1.0/images/" + image.Fingerprint + "/export", UriKind.Relative));
        using var body = JsonDocument.Parse(await info.Content.ReadAsStringAsync());

        Assert.Equal(HttpStatusCode.NotFound, info.StatusCode);
        Assert.Equal(HttpStatusCode.NotFound, export.StatusCode);
        Assert.Equal($"Image \"{image.Fingerprint}\" not found", body.RootElement.GetProperty("error").GetString());
    }

    [Fact]
    public async Task A_prefix_matching_several_images_is_an_error()
    {
        // Seventeen images: two of them must share their first hex digit.
        var images = Enumerable.Range(0, 17).Select(_ => Backend.Seed(TestImages.Unified(Files.Path, 1000))).ToList();
        var shared = images.GroupBy(i => i.Fingerprint.ToString()[0]).First(g => g.Count() > 1).Key;
        using var client = Factory.TrustedClient();

        var response = await client.GetAsync(new Uri("/1.0/images/" + shared, UriKind.Relative));
        using var body = JsonDocument.Parse(await response.Content.ReadAsStringAsync());

        Assert.Equal(HttpStatusCode.InternalServerError, response.StatusCode);
        Assert.Contains("More than one image matches", body.RootElement.GetProperty("error").GetString(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Unified_export_names_the_file_and_honours_range_requests()
    {
        var path = TestImages.Unified(Files.Path);
        var image = Backend.Seed(path);
        var bytes = await File.ReadAllBytesAsync(path);
        using var client = Factory.CreateClient();

        var whole = await client.GetAsync(new Uri($"/1.0/images/{image.Fingerprint}/export", UriKind.Relative));
        using var ranged = new HttpRequestMessage(HttpMethod.Get, $"/1.0/images/{image.Fingerprint}/export");
        ranged.Headers.Range = new RangeHeaderValue(100, 199);
        var part = await client.SendAsync(ranged);

        Assert.Equal(HttpStatusCode.OK, whole.StatusCode);
        Assert.Equal("application/octet-stream", whole.Content.Headers.ContentType?.MediaType);
        Assert.Equal("inline", whole.Content.Headers.ContentDisposition?.DispositionType);
        Assert.Equal($"{image.Fingerprint}.tar.xz", whole.Content.Headers.ContentDisposition?.FileName);
        Assert.Equal("incus", whole.Headers.GetValues("X-Incus-Type").Single());
        Assert.Equal($"\"{image.Fingerprint}\"", whole.Headers.ETag?.Tag);
        Assert.Equal(bytes, await whole.Content.ReadAsByteArrayAsync());
        Assert.Equal(HttpStatusCode.PartialContent, part.StatusCode);
        Assert.Equal(bytes[100..200], await part.Content.ReadAsByteArrayAsync());
    }

    [Fact]
    public async Task Split_export_is_multipart_metadata_then_rootfs_whose_bytes_hash_to_the_fingerprint()
    {
        var (meta, rootfs) = TestImages.Split(Files.Path);
        var image = Backend.Seed(meta, rootfs);
        using var client = Factory.CreateClient();

        var response = await client.GetAsync(new Uri($"/1.0/images/{image.Fingerprint}/export", UriKind.Relative), HttpCompletionOption.ResponseHeadersRead);
        var boundary = response.Content.Headers.ContentType!.Parameters.Single(p => p.Name == "boundary").Value!;
        var reader = new MultipartReader(boundary, await response.Content.ReadAsStreamAsync());
        var parts = new List<(string Disposition, byte[] Bytes)>();
        while (await reader.ReadNextSectionAsync() is { } section)
        {
            using var copy = new MemoryStream();
            await section.Body.CopyToAsync(copy);
            parts.Add((section.ContentDisposition!, copy.ToArray()));
        }

        Assert.Equal("multipart/form-data", response.Content.Headers.ContentType.MediaType);
        Assert.Null(response.Content.Headers.ContentLength);
        Assert.Equal(2, parts.Count);
        Assert.Equal($"form-data; name=\"metadata\"; filename=\"meta-{image.Fingerprint}.tar.xz\"", parts[0].Disposition);
        Assert.Equal($"form-data; name=\"rootfs\"; filename=\"{image.Fingerprint}.squashfs\"", parts[1].Disposition);
        Assert.Equal(image.Fingerprint.ToString(), TestImages.Sha256Hex(parts[0].Bytes, parts[1].Bytes));
    }

    [Fact]
    public async Task Split_vm_export_names_its_second_part_rootfs_img()
    {
        var (meta, disk) = TestImages.Split(Files.Path, vm: true);
        var image = Backend.Seed(meta, disk, type: ImageType.VirtualMachine);
        using var client = Factory.CreateClient();

        var text = await client.GetStringAsync(new Uri($"/1.0/images/{image.Fingerprint}/export", UriKind.Relative));

        Assert.Contains($"name=\"rootfs.img\"; filename=\"{image.Fingerprint}.qcow2\"", text, StringComparison.Ordinal);
    }

    [Fact]
    public async Task An_alias_with_a_slash_is_found_when_sent_percent_encoded()
    {
        var image = Backend.Seed(TestImages.Unified(Files.Path), aliases: ["ubuntu/24.04"]);
        using var client = Factory.CreateClient();

        using var body = await GetJsonAsync(client, "/1.0/images/aliases/ubuntu%2F24.04");
        using var plain = await GetJsonAsync(client, "/1.0/images/aliases/ubuntu/24.04");
        using var list = await GetJsonAsync(client, "/1.0/images/aliases?recursion=1");

        Assert.Equal(image.Fingerprint.ToString(), body.RootElement.GetProperty("metadata").GetProperty("target").GetString());
        Assert.Equal("ubuntu/24.04", plain.RootElement.GetProperty("metadata").GetProperty("name").GetString());
        Assert.Equal("ubuntu/24.04", list.RootElement.GetProperty("metadata")[0].GetProperty("name").GetString());
    }

    [Fact]
    public async Task An_alias_of_a_private_image_is_hidden_from_untrusted_callers()
    {
        Backend.Seed(TestImages.Unified(Files.Path), isPublic: false, aliases: ["secret/1"]);
        using var client = Factory.CreateClient();

        var response = await client.GetAsync(new Uri("/1.0/images/aliases/secret%2F1", UriKind.Relative));
        using var list = await GetJsonAsync(client, "/1.0/images/aliases");

        Assert.Equal(HttpStatusCode.NotFound, response.StatusCode);
        Assert.Equal(0, list.RootElement.GetProperty("metadata").GetArrayLength());
    }

    [Fact]
    public async Task A_secret_lets_an_untrusted_caller_fetch_a_private_image_info_then_export()
    {
        var path = TestImages.Unified(Files.Path);
        var image = Backend.Seed(path, isPublic: false);
        using var trusted = Factory.TrustedClient();
        using var anonymous = Factory.CreateClient();

        var created = await trusted.PostAsync(new Uri($"/1.0/images/{image.Fingerprint}/secret", UriKind.Relative), null);
        using var token = JsonDocument.Parse(await created.Content.ReadAsStringAsync());
        var secret = token.RootElement.GetProperty("metadata").GetProperty("metadata").GetProperty("secret").GetString();

        var info = await anonymous.GetAsync(new Uri($"/1.0/images/{image.Fingerprint}?secret={secret}", UriKind.Relative));
        var export = await anonymous.GetAsync(new Uri($"/1.0/images/{image.Fingerprint}/export?secret={secret}", UriKind.Relative));
        var wrong = await anonymous.GetAsync(new Uri($"/1.0/images/{image.Fingerprint}?secret={new string('0', 64)}", UriKind.Relative));

        Assert.Equal(HttpStatusCode.Accepted, created.StatusCode);
        Assert.Equal("token", token.RootElement.GetProperty("metadata").GetProperty("class").GetString());
        Assert.Equal(HttpStatusCode.OK, info.StatusCode);
        Assert.Equal(await File.ReadAllBytesAsync(path), await export.Content.ReadAsByteArrayAsync());
        Assert.Equal(HttpStatusCode.NotFound, wrong.StatusCode);
    }

    [Fact]
    public async Task A_raw_unified_upload_with_lxd_headers_is_stored_and_answers_with_the_finished_operation()
    {
        var path = TestImages.Unified(Files.Path);
        var bytes = await File.ReadAllBytesAsync(path);
        var fingerprint = TestImages.Sha256Hex(bytes);
        using var client = Factory.TrustedClient();
        using var content = new StreamContent(File.OpenRead(path));
        content.Headers.ContentType = new MediaTypeHeaderValue("application/octet-stream");
        content.Headers.Add("X-LXD-fingerprint", fingerprint);
        content.Headers.Add("X-LXD-public", "true");
        content.Headers.Add("X-LXD-properties", "os=Testos&release=2");
        content.Headers.Add("X-Incus-aliases", "alias=testos/2&alias=latest");

        var response = await client.PostAsync(new Uri("/1.0/images", UriKind.Relative), content);
        using var body = JsonDocument.Parse(await response.Content.ReadAsStringAsync());

        Assert.Equal(HttpStatusCode.Accepted, response.StatusCode);
        Assert.Equal("async", body.RootElement.GetProperty("type").GetString());
        var operation = body.RootElement.GetProperty("metadata");
        Assert.Equal("Downloading image", operation.GetProperty("description").GetString());
        Assert.Equal("Success", operation.GetProperty("status").GetString());
        Assert.Equal(fingerprint, operation.GetProperty("metadata").GetProperty("fingerprint").GetString());
        Assert.Equal(bytes.Length.ToString(System.Globalization.CultureInfo.InvariantCulture), operation.GetProperty("metadata").GetProperty("size").GetString());
        var stored = Backend.Find(ProjectName.Default, ImageActors.Streaming.Fingerprint.Parse(fingerprint))!;
        Assert.True(stored.Public);
        Assert.Equal("2", stored.Properties["release"]);
        Assert.Equal(["latest", "testos/2"], stored.Aliases.Select(a => a.Name.Value));
    }

    [Fact]
    public async Task A_multipart_split_upload_streams_both_parts_into_one_image()
    {
        var (meta, rootfs) = TestImages.Split(Files.Path, vm: true);
        var fingerprint = TestImages.Sha256Hex(await File.ReadAllBytesAsync(meta), await File.ReadAllBytesAsync(rootfs));
        using var client = Factory.TrustedClient();
        using var form = new MultipartFormDataContent();
        form.Add(new StreamContent(File.OpenRead(meta)), "metadata", "meta.tar.xz");
        form.Add(new StreamContent(File.OpenRead(rootfs)), "rootfs.img", "disk.qcow2");

        var response = await client.PostAsync(new Uri("/1.0/images", UriKind.Relative), form);
        using var body = JsonDocument.Parse(await response.Content.ReadAsStringAsync());

        Assert.Equal("Success", body.RootElement.GetProperty("metadata").GetProperty("status").GetString());
        var stored = Backend.Find(ProjectName.Default, ImageActors.Streaming.Fingerprint.Parse(fingerprint))!;
        Assert.True(stored.Split);
        Assert.Equal(ImageType.VirtualMachine, stored.Type);
    }

    [Theory]
    [InlineData(100, "metadata")]
    [InlineData(40, "rootfs.img")]
    public async Task A_split_upload_cut_short_inside_a_part_fails_its_operation_naming_the_part(int keptOfPart, string part)
    {
        // Before, the operation failed with the multipart reader's "Unexpected end of Stream, the content may have
        // already been read by another component", which names neither the upload nor what to do.
        var (meta, rootfs) = TestImages.Split(Files.Path, vm: true);
        var metadataBytes = await File.ReadAllBytesAsync(meta);
        var head = Encoding.ASCII.GetBytes("--B\r\nContent-Disposition: form-data; name=\"metadata\"; filename=\"meta.tar.xz\"\r\n\r\n");
        var second = Encoding.ASCII.GetBytes("\r\n--B\r\nContent-Disposition: form-data; name=\"rootfs.img\"; filename=\"disk.qcow2\"\r\n\r\n");
        byte[] body = part == "metadata"
            ? [.. head, .. metadataBytes.AsSpan(0, keptOfPart)]
            : [.. head, .. metadataBytes, .. second, .. (await File.ReadAllBytesAsync(rootfs)).AsSpan(0, keptOfPart)];
        using var client = Factory.TrustedClient();
        using var content = new ByteArrayContent(body);
        content.Headers.ContentType = MediaTypeHeaderValue.Parse("multipart/form-data; boundary=B");

        var response = await client.PostAsync(new Uri("/1.0/images", UriKind.Relative), content);
        using var answer = JsonDocument.Parse(await response.Content.ReadAsStringAsync());

        var error = answer.RootElement.GetProperty("metadata").TryGetProperty("err", out var err) ? err.GetString() : answer.RootElement.GetProperty("error").GetString();
        Assert.Contains($"the body ended inside the \"{part}\" part", error, StringComparison.Ordinal);
        Assert.Empty(Backend.List(ProjectName.Default, null));
    }

    [Fact]
    public async Task A_split_upload_whose_boundary_is_longer_than_rfc_2046_allows_fails_naming_the_boundary()
    {
        // Before, the multipart reader threw an ArgumentOutOfRangeException about its buffer size (found by fuzzing).
        var boundary = new string('b', 5000);
        using var client = Factory.TrustedClient();
        using var content = new ByteArrayContent(Encoding.ASCII.GetBytes($"--{boundary}\r\n"));
        content.Headers.ContentType = MediaTypeHeaderValue.Parse($"multipart/form-data; boundary={boundary}");

        var response = await client.PostAsync(new Uri("/1.0/images", UriKind.Relative), content);
        using var answer = JsonDocument.Parse(await response.Content.ReadAsStringAsync());

        var error = answer.RootElement.GetProperty("metadata").TryGetProperty("err", out var err) ? err.GetString() : answer.RootElement.GetProperty("error").GetString();
        Assert.Contains("boundary has 5000 characters, more than the 70 RFC 2046 allows", error, StringComparison.Ordinal);
        Assert.Empty(Backend.List(ProjectName.Default, null));
    }

    [Fact]
    public async Task An_upload_whose_bytes_do_not_match_the_announced_fingerprint_fails_its_operation()
    {
        using var client = Factory.TrustedClient();
        using var content = new ByteArrayContent(Encoding.ASCII.GetBytes("not the image you announced"));
        content.Headers.Add("X-Incus-fingerprint", new string('a', 64));

        var response = await client.PostAsync(new Uri("/1.0/images", UriKind.Relative), content);
        using var body = JsonDocument.Parse(await response.Content.ReadAsStringAsync());

        var operation = body.RootElement.GetProperty("metadata");
        Assert.Equal("Failure", operation.GetProperty("status").GetString());
        Assert.Contains("fingerprints don't match", operation.GetProperty("err").GetString(), StringComparison.Ordinal);
        Assert.Empty(Backend.List(ProjectName.Default, null));
    }

    [Fact]
    public async Task Untrusted_callers_cannot_write()
    {
        var image = Backend.Seed(TestImages.Unified(Files.Path));
        using var client = Factory.CreateClient();

        var upload = await client.PostAsync(new Uri("/1.0/images", UriKind.Relative), new ByteArrayContent([1, 2, 3]));
        var delete = await client.DeleteAsync(new Uri("/1.0/images/" + image.Fingerprint, UriKind.Relative));
        var alias = await client.PostAsync(new Uri("/1.0/images/aliases", UriKind.Relative), Json($"{{\"name\":\"x\",\"target\":\"{image.Fingerprint}\"}}"));

        Assert.Equal(HttpStatusCode.Forbidden, upload.StatusCode);
        Assert.Equal(HttpStatusCode.Forbidden, delete.StatusCode);
        Assert.Equal(HttpStatusCode.Forbidden, alias.StatusCode);
        Assert.Single(Backend.List(ProjectName.Default, null));
    }

    [Fact]
    public async Task Put_with_a_stale_etag_is_refused_and_patch_merges_properties()
    {
        var image = Backend.Seed(TestImages.Unified(Files.Path));
        using var client = Factory.TrustedClient();

        using var stale = new HttpRequestMessage(HttpMethod.Put, "/1.0/images/" + image.Fingerprint) { Content = Json("{\"public\":false,\"properties\":{}}") };
        stale.Headers.TryAddWithoutValidation("If-Match", "\"0000\"");
        var refused = await client.SendAsync(stale);
        var patched = await client.PatchAsync(new Uri("/1.0/images/" + image.Fingerprint, UriKind.Relative), Json("{\"properties\":{\"variant\":\"cloud\"}}"));

        Assert.Equal(HttpStatusCode.PreconditionFailed, refused.StatusCode);
        Assert.Equal(HttpStatusCode.OK, patched.StatusCode);
        var after = Backend.Find(ProjectName.Default, image.Fingerprint)!;
        Assert.Equal("cloud", after.Properties["variant"]);
        Assert.Equal("Testos", after.Properties["os"]);
        Assert.True(after.Public);
    }

    [Fact]
    public async Task Aliases_are_created_renamed_and_deleted()
    {
        var image = Backend.Seed(TestImages.Unified(Files.Path));
        using var client = Factory.TrustedClient();

        var created = await client.PostAsync(new Uri("/1.0/images/aliases", UriKind.Relative), Json($"{{\"name\":\"debian/12\",\"description\":\"d\",\"target\":\"{image.Fingerprint.ToShortString(8)}\"}}"));
        var renamed = await client.PostAsync(new Uri("/1.0/images/aliases/debian%2F12", UriKind.Relative), Json("{\"name\":\"debian/bookworm\"}"));
        var afterRename = Backend.FindAlias(ProjectName.Default, AliasName.Parse("debian/bookworm"));
        var deleted = await client.DeleteAsync(new Uri("/1.0/images/aliases/debian%2Fbookworm", UriKind.Relative));

        Assert.Equal(HttpStatusCode.Created, created.StatusCode);
        Assert.Equal("/1.0/images/aliases/debian%2F12", created.Headers.Location?.OriginalString);
        Assert.Equal(HttpStatusCode.Created, renamed.StatusCode);
        Assert.Equal(image.Fingerprint, afterRename?.Target);
        Assert.Equal(HttpStatusCode.OK, deleted.StatusCode);
        Assert.Empty(Backend.ListAliases(ProjectName.Default));
    }

    [Fact]
    public async Task Delete_runs_as_an_operation_that_removes_the_image()
    {
        var image = Backend.Seed(TestImages.Unified(Files.Path));
        using var client = Factory.TrustedClient();

        var response = await client.DeleteAsync(new Uri("/1.0/images/" + image.Fingerprint, UriKind.Relative));
        var wait = await client.GetStringAsync(new Uri(response.Headers.Location + "/wait?timeout=30", UriKind.Relative));
        using var body = JsonDocument.Parse(wait);

        Assert.Equal(HttpStatusCode.Accepted, response.StatusCode);
        Assert.Equal("Success", body.RootElement.GetProperty("metadata").GetProperty("status").GetString());
        Assert.Null(Backend.Find(ProjectName.Default, image.Fingerprint));
    }

    [Fact]
    public async Task A_copy_request_returns_an_operation_that_fails_with_a_clear_not_supported_error()
    {
        using var client = Factory.TrustedClient();
        var response = await client.PostAsync(
            new Uri("/1.0/images", UriKind.Relative),
            Json("{\"source\":{\"type\":\"image\",\"mode\":\"pull\",\"server\":\"https://images.example\",\"protocol\":\"simplestreams\",\"alias\":\"debian/12\"}}"));
        using var created = JsonDocument.Parse(await response.Content.ReadAsStringAsync());
        var url = created.RootElement.GetProperty("operation").GetString();
        using var done = await GetJsonAsync(client, url + "/wait?timeout=30");

        Assert.Equal(HttpStatusCode.Accepted, response.StatusCode);
        Assert.Equal("Failure", done.RootElement.GetProperty("metadata").GetProperty("status").GetString());
        Assert.Contains("not supported", done.RootElement.GetProperty("metadata").GetProperty("err").GetString(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Untrusted_callers_are_kept_to_the_default_project()
    {
        using var client = Factory.CreateClient();
        var response = await client.GetAsync(new Uri("/1.0/images?project=other", UriKind.Relative));

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
    }

    private static StringContent Json(string json) => new(json, Encoding.UTF8, "application/json");

    private static async Task<JsonDocument> GetJsonAsync(HttpClient client, string url)
    {
        var response = await client.GetAsync(new Uri(url, UriKind.Relative));
        Assert.True(response.IsSuccessStatusCode, $"{url}: {(int)response.StatusCode} {await response.Content.ReadAsStringAsync()}");
        return JsonDocument.Parse(await response.Content.ReadAsStringAsync());
    }
}
