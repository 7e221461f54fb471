using System.Net;
using System.Text.Json;
using ImageActors.Images.Domain;
using ImageActors.Server.Tests.Support;

namespace ImageActors.Server.Tests.Api;

public sealed class SimpleStreamsApiTests : CatalogApiTest
{
    [Fact]
    public async Task Index_lists_one_product_per_public_image_even_when_they_share_os_release_variant_and_arch()
    {
        var first = Backend.Seed(TestImages.Unified(Files.Path));
        var second = Backend.Seed(TestImages.Unified(Files.Path));
        Backend.Seed(TestImages.Unified(Files.Path), isPublic: false);
        using var client = Factory.CreateClient();

        using var index = JsonDocument.Parse(await client.GetStringAsync(new Uri("/streams/v1/index.json", UriKind.Relative)));

        var entry = index.RootElement.GetProperty("index").GetProperty("images");
        Assert.Equal("image-downloads", entry.GetProperty("datatype").GetString());
        Assert.Equal("streams/v1/images.json", entry.GetProperty("path").GetString());
        var products = entry.GetProperty("products").EnumerateArray().Select(p => p.GetString()!).ToList();
        Assert.Equal(2, products.Count);
        Assert.Contains(products, p => p.EndsWith(first.Fingerprint.ToShortString(12), StringComparison.Ordinal));
        Assert.Contains(products, p => p.EndsWith(second.Fingerprint.ToShortString(12), StringComparison.Ordinal));
    }

    [Theory]
    [InlineData("Ubuntu 22.04 LTS amd64 (release) (20260101)", null, "22.04 LTS")]
    [InlineData("Debian bookworm amd64 (20260101_05:24)", null, "bookworm")]
    [InlineData("something else", "12", "12")]
    [InlineData("something else", null, "jammy")]
    public async Task Products_carry_the_release_title_the_images_description_holds(string description, string? version, string title)
    {
        var properties = new Dictionary<string, string>(StringComparer.Ordinal)
        {
            ["os"] = description.Split(' ')[0] is "Ubuntu" or "Debian" ? description.Split(' ')[0] : "Ubuntu",
            ["release"] = "jammy",
            ["architecture"] = "amd64",
            ["description"] = description,
        };
        if (version is not null)
        {
            properties["version"] = version;
        }

        Backend.Seed(TestImages.Unified(Files.Path), properties: properties);
        using var client = Factory.CreateClient();

        using var products = JsonDocument.Parse(await client.GetStringAsync(new Uri("/streams/v1/images.json", UriKind.Relative)));

        var product = products.RootElement.GetProperty("products").EnumerateObject().Single().Value;
        Assert.Equal(title, product.GetProperty("release_title").GetString());
    }

    [Fact]
    public async Task Products_describe_a_split_image_for_incus_and_lxd_with_file_hashes_and_the_combined_fingerprint()
    {
        var (meta, rootfs) = TestImages.Split(Files.Path);
        var image = Backend.Seed(meta, rootfs, aliases: ["testos/1"]);
        using var client = Factory.CreateClient();

        using var products = JsonDocument.Parse(await client.GetStringAsync(new Uri("/streams/v1/images.json", UriKind.Relative)));

        var product = products.RootElement.GetProperty("products").EnumerateObject().Single().Value;
        Assert.Equal("testos/1", product.GetProperty("aliases").GetString());
        var version = product.GetProperty("versions").EnumerateObject().Single();
        Assert.Matches("^[0-9]{8}_[0-9]{4}$", version.Name);
        var items = version.Value.GetProperty("items");
        foreach (var ftype in new[] { "incus.tar.xz", "lxd.tar.xz" })
        {
            var metadata = items.GetProperty(ftype);
            Assert.Equal(ftype, metadata.GetProperty("ftype").GetString());
            Assert.Equal(TestImages.Sha256Hex(await File.ReadAllBytesAsync(meta)), metadata.GetProperty("sha256").GetString());
            Assert.Equal(image.Fingerprint.ToString(), metadata.GetProperty("combined_squashfs_sha256").GetString());
        }

        var root = items.GetProperty("squashfs");
        Assert.Equal(TestImages.Sha256Hex(await File.ReadAllBytesAsync(rootfs)), root.GetProperty("sha256").GetString());
        Assert.Equal(new FileInfo(rootfs).Length, root.GetProperty("size").GetInt64());

        var served = await client.GetByteArrayAsync(new Uri("/" + root.GetProperty("path").GetString(), UriKind.Relative));
        Assert.Equal(await File.ReadAllBytesAsync(rootfs), served);
    }

    [Fact]
    public async Task Products_describe_a_unified_image_with_both_combined_ftypes()
    {
        var path = TestImages.Unified(Files.Path);
        var image = Backend.Seed(path);
        using var client = Factory.CreateClient();

        using var products = JsonDocument.Parse(await client.GetStringAsync(new Uri("/streams/v1/images.json", UriKind.Relative)));

        var items = products.RootElement.GetProperty("products").EnumerateObject().Single().Value
            .GetProperty("versions").EnumerateObject().Single().Value.GetProperty("items");
        Assert.Equal(image.Fingerprint.ToString(), items.GetProperty("incus_combined.tar.gz").GetProperty("sha256").GetString());
        Assert.Equal(image.Fingerprint.ToString(), items.GetProperty("lxd_combined.tar.gz").GetProperty("sha256").GetString());
    }

    [Fact]
    public async Task Files_of_private_images_are_not_served()
    {
        var image = Backend.Seed(TestImages.Unified(Files.Path), isPublic: false);
        using var client = Factory.CreateClient();

        var response = await client.GetAsync(new Uri($"/images/{image.Fingerprint}/{image.Fingerprint}.tar.xz", UriKind.Relative));

        Assert.Equal(HttpStatusCode.NotFound, response.StatusCode);
    }

    [Theory]
    [InlineData("Incus 6.0.4 (Linux; x86_64; 6.1.0; Debian GNU/Linux; 12)", "Incus", "Incus", "LXD")]
    [InlineData("LXD 5.0.2 (Linux; x86_64; 6.1.0; Debian GNU/Linux; 12)", "LXD", "LXD", "Incus")]
    [InlineData("", "Incus", "Incus", "LXD")]
    [InlineData("", "LXD", "LXD", "Incus")]
    [InlineData("curl/7.88.1", "", "Incus", "LXD")]
    public async Task Url_import_head_names_the_hash_and_the_file_url_in_the_headers_of_the_asking_daemons_family(string userAgent, string sent, string answered, string notAnswered)
    {
        var path = TestImages.Unified(Files.Path);
        var image = Backend.Seed(path, aliases: ["testos/1"]);
        using var client = Factory.CreateClient();

        using var head = new HttpRequestMessage(HttpMethod.Head, "/direct/testos/1");
        if (userAgent.Length > 0)
        {
            head.Headers.TryAddWithoutValidation("User-Agent", userAgent);
        }

        if (sent.Length > 0)
        {
            head.Headers.Add(sent + "-Server-Architectures", "x86_64, i686");
            head.Headers.Add(sent + "-Server-Version", "6.0.4");
        }

        var response = await client.SendAsync(head);
        var url = response.Headers.GetValues(answered + "-Image-URL").Single();
        var file = await client.GetByteArrayAsync(new Uri(url));

        Assert.Equal(image.Fingerprint.ToString(), response.Headers.GetValues(answered + "-Image-Hash").Single());
        Assert.False(response.Headers.Contains(notAnswered + "-Image-Hash"));
        Assert.False(response.Headers.Contains(notAnswered + "-Image-URL"));
        Assert.Equal(await File.ReadAllBytesAsync(path), file);
    }

    [Fact]
    public async Task Url_import_of_a_split_image_is_refused_with_a_reason()
    {
        var (meta, rootfs) = TestImages.Split(Files.Path);
        var image = Backend.Seed(meta, rootfs);
        using var client = Factory.CreateClient();

        var response = await client.GetAsync(new Uri("/direct/" + image.Fingerprint, UriKind.Relative));

        Assert.Equal(HttpStatusCode.NotFound, response.StatusCode);
        Assert.Contains("split", await response.Content.ReadAsStringAsync(), StringComparison.Ordinal);
        Assert.Equal(ImageType.Container, image.Type);
    }
}
