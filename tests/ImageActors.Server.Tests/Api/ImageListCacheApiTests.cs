using System.Net;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json;
using ImageActors.Server.Tests.Support;

namespace ImageActors.Server.Tests.Api;

/// <summary>The list answers are cached per catalog view: every change must show at once, and trust must never leak.</summary>
public sealed class ImageListCacheApiTests : CatalogApiTest
{
    [Fact]
    public async Task A_list_served_from_the_cache_shows_an_import_an_alias_and_a_delete_at_once()
    {
        var first = Backend.Seed(TestImages.Unified(Files.Path));
        using var client = Factory.TrustedClient();
        await GetTwiceAsync(client, "/1.0/images?recursion=1");

        var second = Backend.Seed(TestImages.Unified(Files.Path));
        var afterImport = await FingerprintsAsync(client, "/1.0/images?recursion=1");
        using var urlsAfterImport = await GetJsonAsync(client, "/1.0/images");
        await client.PostAsync(new Uri("/1.0/images/aliases", UriKind.Relative), Json($"{{\"name\":\"testos/2\",\"target\":\"{second.Fingerprint}\"}}"));
        using var afterAlias = await GetJsonAsync(client, "/1.0/images?recursion=1");
        var delete = await client.DeleteAsync(new Uri("/1.0/images/" + first.Fingerprint, UriKind.Relative));
        await client.GetStringAsync(new Uri(delete.Headers.Location + "/wait?timeout=30", UriKind.Relative));
        var afterDelete = await FingerprintsAsync(client, "/1.0/images?recursion=1");
        using var urlsAfterDelete = await GetJsonAsync(client, "/1.0/images");

        Assert.Equal(new[] { first.Fingerprint.ToString(), second.Fingerprint.ToString() }.Order(StringComparer.Ordinal), afterImport.Order(StringComparer.Ordinal));
        Assert.Equal(2, urlsAfterImport.RootElement.GetProperty("metadata").GetArrayLength());
        var aliased = afterAlias.RootElement.GetProperty("metadata").EnumerateArray().Single(i => i.GetProperty("fingerprint").GetString() == second.Fingerprint.ToString());
        Assert.Equal(["testos/2"], aliased.GetProperty("aliases").EnumerateArray().Select(a => a.GetProperty("name").GetString()));
        Assert.Equal([second.Fingerprint.ToString()], afterDelete);
        Assert.Equal(["/1.0/images/" + second.Fingerprint], urlsAfterDelete.RootElement.GetProperty("metadata").EnumerateArray().Select(e => e.GetString()));
    }

    [Fact]
    public async Task An_untrusted_caller_is_never_served_the_list_cached_for_a_trusted_one()
    {
        var visible = Backend.Seed(TestImages.Unified(Files.Path), isPublic: true);
        var hidden = Backend.Seed(TestImages.Unified(Files.Path), isPublic: false);
        using var trusted = Factory.TrustedClient();
        using var anonymous = Factory.CreateClient();

        var trustedObjects = await GetTwiceAsync(trusted, "/1.0/images?recursion=1");
        var trustedUrls = await GetTwiceAsync(trusted, "/1.0/images");
        var anonymousObjects = await GetTwiceAsync(anonymous, "/1.0/images?recursion=1");
        var anonymousUrls = await GetTwiceAsync(anonymous, "/1.0/images");

        Assert.Contains(hidden.Fingerprint.ToString(), trustedObjects, StringComparison.Ordinal);
        Assert.Contains(hidden.Fingerprint.ToString(), trustedUrls, StringComparison.Ordinal);
        Assert.DoesNotContain(hidden.Fingerprint.ToString(), anonymousObjects, StringComparison.Ordinal);
        Assert.DoesNotContain(hidden.Fingerprint.ToString(), anonymousUrls, StringComparison.Ordinal);
        Assert.Contains(visible.Fingerprint.ToString(), anonymousObjects, StringComparison.Ordinal);
        Assert.Contains(visible.Fingerprint.ToString(), anonymousUrls, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_filtered_list_is_right_when_repeated_and_after_a_property_changes()
    {
        var debian = Backend.Seed(TestImages.Unified(Files.Path), properties: new Dictionary<string, string> { ["os"] = "Debian" });
        var alpine = Backend.Seed(TestImages.Unified(Files.Path), properties: new Dictionary<string, string> { ["os"] = "Alpine" });
        using var client = Factory.TrustedClient();
        var url = "/1.0/images?recursion=1&filter=" + Uri.EscapeDataString("properties.os eq Alpine");

        var once = await FingerprintsAsync(client, url);
        var twice = await FingerprintsAsync(client, url);
        var unfiltered = await FingerprintsAsync(client, "/1.0/images?recursion=1");
        var patched = await client.PatchAsync(new Uri("/1.0/images/" + debian.Fingerprint, UriKind.Relative), Json("{\"properties\":{\"os\":\"Alpine\"}}"));
        var afterPatch = await FingerprintsAsync(client, url);

        Assert.Equal([alpine.Fingerprint.ToString()], once);
        Assert.Equal(once, twice);
        Assert.Equal(2, unfiltered.Count);
        Assert.Equal(HttpStatusCode.OK, patched.StatusCode);
        Assert.Equal(new[] { alpine.Fingerprint.ToString(), debian.Fingerprint.ToString() }.Order(StringComparer.Ordinal), afterPatch.Order(StringComparer.Ordinal));
    }

    [Fact]
    public async Task A_client_holding_the_lists_etag_gets_not_modified_until_the_list_changes()
    {
        Backend.Seed(TestImages.Unified(Files.Path));
        using var client = Factory.TrustedClient();

        var first = await client.GetAsync(new Uri("/1.0/images?recursion=1", UriKind.Relative));
        var etag = first.Headers.ETag;
        var unchanged = await GetIfNoneMatchAsync(client, etag!);
        Backend.Seed(TestImages.Unified(Files.Path));
        var changed = await GetIfNoneMatchAsync(client, etag!);

        Assert.Equal(HttpStatusCode.OK, first.StatusCode);
        Assert.NotNull(etag);
        Assert.Equal(HttpStatusCode.NotModified, unchanged.StatusCode);
        Assert.Empty(await unchanged.Content.ReadAsByteArrayAsync());
        Assert.Equal(HttpStatusCode.OK, changed.StatusCode);
        Assert.NotEqual(etag, changed.Headers.ETag);
        using var body = JsonDocument.Parse(await changed.Content.ReadAsStringAsync());
        Assert.Equal(2, body.RootElement.GetProperty("metadata").GetArrayLength());
    }

    private static async Task<HttpResponseMessage> GetIfNoneMatchAsync(HttpClient client, EntityTagHeaderValue etag)
    {
        using var request = new HttpRequestMessage(HttpMethod.Get, "/1.0/images?recursion=1");
        request.Headers.IfNoneMatch.Add(etag);
        return await client.SendAsync(request);
    }

    /// <summary>Asks twice (the second answer comes from the cache) and checks both answers are the same.</summary>
    private static async Task<string> GetTwiceAsync(HttpClient client, string url)
    {
        var first = await client.GetStringAsync(new Uri(url, UriKind.Relative));
        var second = await client.GetStringAsync(new Uri(url, UriKind.Relative));
        Assert.Equal(first, second);
        return second;
    }

    private static async Task<List<string>> FingerprintsAsync(HttpClient client, string url)
    {
        using var body = await GetJsonAsync(client, url);
        return [.. body.RootElement.GetProperty("metadata").EnumerateArray().Select(e => e.GetProperty("fingerprint").GetString()!)];
    }

    private static StringContent Json(string json) => new(json, Encoding.UTF8, "application/json");

    private static async Task<JsonDocument> GetJsonAsync(HttpClient client, string url)
    {
        var response = await client.GetAsync(new Uri(url, UriKind.Relative));
        Assert.True(response.IsSuccessStatusCode, $"{url}: {(int)response.StatusCode} {await response.Content.ReadAsStringAsync()}");
        return JsonDocument.Parse(await response.Content.ReadAsStringAsync());
    }
}
