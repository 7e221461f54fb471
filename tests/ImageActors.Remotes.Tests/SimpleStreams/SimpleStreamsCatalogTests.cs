using System.Text.Json;
using System.Text.Json.Nodes;
using ImageActors.Remotes.Incus;
using ImageActors.Remotes.SimpleStreams;

namespace ImageActors.Remotes.Tests.SimpleStreams;

public sealed class SimpleStreamsCatalogTests
{
    private static readonly string FpSquash = new('a', 64);
    private static readonly string FpRootXz = new('b', 64);
    private static readonly string FpVm = new('c', 64);
    private static readonly string FpLegacy = new('d', 64);

    private static ProductVersionItem Meta(string? squash = null, string? rootxz = null, string? legacy = null, string? vm = null) => new()
    {
        FileType = FileTypes.IncusMetadata,
        Path = "images/x/incus.tar.xz",
        Sha256 = new string('1', 64),
        Size = 1000,
        CombinedSquashfsSha256 = squash,
        CombinedRootXzSha256 = rootxz,
        CombinedSha256 = legacy,
        CombinedDiskKvmImgSha256 = vm,
    };

    private static ProductVersionItem Root(string ftype, int size = 5000) => new() { FileType = ftype, Path = "images/x/" + ftype, Sha256 = new string('2', 64), Size = size };

    private static Product Product(string arch, params (string Serial, ProductVersion Version)[] versions) => new()
    {
        Aliases = "debian/bookworm/default,debian/12",
        Architecture = arch,
        OperatingSystem = "Debian",
        Release = "bookworm",
        ReleaseTitle = "bookworm",
        Variant = "default",
        SupportEol = "2028-06-30",
        Requirements = new Dictionary<string, string> { ["secureboot"] = "false" },
        Versions = versions.ToDictionary(v => v.Serial, v => v.Version),
    };

    private static ProductVersion Version(params (string Key, ProductVersionItem Item)[] items) =>
        new() { Items = items.ToDictionary(i => i.Key, i => i.Item) };

    private static SimpleStreamsCatalog Catalog(params (string Key, Product Product)[] products) =>
        SimpleStreamsCatalog.Build([new ProductsFile { Products = products.ToDictionary(p => p.Key, p => p.Product) }], "x86_64");

    [Theory]
    [InlineData("{\"products\":{\"debian\":{\"arch\":\"amd64\"},\"alpine\":null}}")]
    [InlineData("{\"products\":{\"debian\":{\"arch\":\"amd64\",\"versions\":{\"20240101\":null,\"20240102\":{\"items\":{\"m\":null}}}}}}")]
    public void A_products_file_that_leaves_out_versions_or_lists_null_entries_builds_a_catalog_without_them(string json)
    {
        // Found by fuzzing: a product without "versions" ended the catalog in an ArgumentNullException.
        var url = new Uri("https://127.0.0.1/streams/v1/images.json");
        var file = SimpleStreamsRemote.ParseJson(System.Text.Encoding.UTF8.GetBytes(json), SimpleStreamsJsonContext.Default.ProductsFile, url);

        var catalog = SimpleStreamsCatalog.Build([file], "x86_64");

        Assert.Empty(catalog.Images);
    }

    [Fact]
    public void A_null_where_a_products_file_needs_a_value_is_a_protocol_error_naming_the_property()
    {
        var url = new Uri("https://127.0.0.1/streams/v1/images.json");
        var json = "{\"products\":{\"d\":{\"arch\":\"amd64\",\"versions\":{\"20240101\":{\"items\":{\"m\":{\"ftype\":\"lxd_combined.tar.gz\",\"path\":null}}}}}}}";

        var error = Assert.Throws<RemoteProtocolException>(() => SimpleStreamsRemote.ParseJson(System.Text.Encoding.UTF8.GetBytes(json), SimpleStreamsJsonContext.Default.ProductsFile, url));

        Assert.StartsWith($"{url} is not valid SimpleStreams JSON: ", error.Message, StringComparison.Ordinal);
        Assert.Contains("path", error.Message, StringComparison.Ordinal);
        Assert.DoesNotContain('\n', error.Message);
    }

    [Fact]
    public void Fingerprints_come_from_the_combined_field_of_each_root_type()
    {
        var catalog = Catalog(("debian:bookworm:amd64:default", Product("amd64", ("20250101_0542", Version(
            ("incus.tar.xz", Meta(squash: FpSquash, rootxz: FpRootXz, vm: FpVm)),
            ("root.squashfs", Root(FileTypes.Squashfs)),
            ("root.tar.xz", Root(FileTypes.RootTarXz)),
            ("disk.qcow2", Root(FileTypes.DiskKvmImg)))))));

        var byType = catalog.Images.ToDictionary(i => i.Info.Properties["type"], i => i.Info);
        Assert.Equal(FpSquash, byType["squashfs"].Fingerprint);
        Assert.Equal(FpRootXz, byType["root.tar.xz"].Fingerprint);
        Assert.Equal(FpVm, byType["disk-kvm.img"].Fingerprint);
        Assert.Equal(ImageTypes.VirtualMachine, byType["disk-kvm.img"].Type);
        Assert.Equal(ImageTypes.Container, byType["squashfs"].Type);
        Assert.Equal(6000, byType["squashfs"].Size);
        Assert.Equal("incus.tar.xz", byType["squashfs"].Filename);
    }

    [Fact]
    public void Root_tarball_falls_back_to_the_legacy_combined_field_and_a_missing_field_skips_the_pair()
    {
        var catalog = Catalog(("p", Product("amd64", ("20250101", Version(
            ("incus.tar.xz", Meta(legacy: FpLegacy)),
            ("root.squashfs", Root(FileTypes.Squashfs)),
            ("root.tar.xz", Root(FileTypes.RootTarXz)))))));

        var image = Assert.Single(catalog.Images);
        Assert.Equal(FpLegacy, image.Info.Fingerprint);
        Assert.Equal("root.tar.xz", image.Info.Properties["type"]);
    }

    [Fact]
    public void Aliases_A_and_A_slash_arch_point_at_the_newest_serial_and_prefer_squashfs()
    {
        var newestSquash = new string('e', 64);
        var newestTar = new string('f', 64);
        var catalog = Catalog(("debian:bookworm:amd64:default", Product("amd64",
            ("20250101_05:42", Version(("incus.tar.xz", Meta(squash: FpSquash)), ("root.squashfs", Root(FileTypes.Squashfs)))),
            ("20250102_05:42", Version(("incus.tar.xz", Meta(squash: newestSquash, rootxz: newestTar)), ("root.tar.xz", Root(FileTypes.RootTarXz)), ("root.squashfs", Root(FileTypes.Squashfs)))))));

        Assert.Equal(newestSquash, catalog.FindAlias("debian/12")!.Image.Info.Fingerprint);
        Assert.Equal(newestSquash, catalog.FindAlias("debian/12/amd64")!.Image.Info.Fingerprint);
        Assert.Equal(newestSquash, catalog.FindAlias("debian/bookworm/default")!.Image.Info.Fingerprint);
        Assert.Equal(newestSquash, catalog.Images[0].Info.Fingerprint);
        Assert.Equal(["debian/bookworm/default", "debian/bookworm/default/amd64", "debian/12", "debian/12/amd64"], catalog.Images[0].Info.Aliases.Select(a => a.Name));
        // Older and less preferred images keep no alias.
        Assert.All(catalog.Images.Skip(1), i => Assert.Empty(i.Info.Aliases));
    }

    [Fact]
    public void Short_alias_resolves_to_the_native_architecture_and_the_long_one_to_its_own()
    {
        var arm = new string('9', 64);
        var catalog = Catalog(
            ("debian:bookworm:arm64:default", Product("arm64", ("20250101", Version(("incus.tar.xz", Meta(squash: arm)), ("root.squashfs", Root(FileTypes.Squashfs)))))),
            ("debian:bookworm:amd64:default", Product("amd64", ("20250101", Version(("incus.tar.xz", Meta(squash: FpSquash)), ("root.squashfs", Root(FileTypes.Squashfs)))))));

        Assert.Equal(FpSquash, catalog.FindAlias("debian/12")!.Image.Info.Fingerprint);
        Assert.Equal(arm, catalog.FindAlias("debian/12/arm64")!.Image.Info.Fingerprint);
        var armImage = catalog.Images.Single(i => i.Info.Fingerprint == arm).Info;
        Assert.Equal("aarch64", armImage.Architecture);
        Assert.DoesNotContain(armImage.Aliases, a => a.Name == "debian/12");
        Assert.Contains(armImage.Aliases, a => a.Name == "debian/12/arm64");
    }

    [Fact]
    public void Description_properties_and_expiry_follow_Incus()
    {
        var product = Product("amd64", ("20250101_05:42", Version(("incus.tar.xz", Meta(squash: FpSquash)), ("root.squashfs", Root(FileTypes.Squashfs))))) with { Variant = "cloud" };
        var versions = new Dictionary<string, ProductVersion>(product.Versions);
        versions["20250101_05:42"] = versions["20250101_05:42"] with { Label = "release" };
        var catalog = Catalog(("p", product with { Versions = versions }));

        var info = Assert.Single(catalog.Images).Info;
        Assert.Equal("Debian bookworm amd64 (cloud) (release) (20250101_05:42)", info.Properties["description"]);
        Assert.Equal("amd64", info.Properties["architecture"]);
        Assert.Equal("x86_64", info.Architecture);
        Assert.Equal("20250101_05:42", info.Properties["serial"]);
        Assert.Equal("cloud", info.Properties["variant"]);
        Assert.Equal("false", info.Properties["requirements.secureboot"]);
        Assert.False(info.Properties.ContainsKey("version"));
        Assert.Equal(new DateTimeOffset(2028, 6, 30, 0, 0, 0, TimeSpan.Zero), info.ExpiresAt);
        Assert.Equal(new DateTimeOffset(2025, 1, 1, 0, 0, 0, TimeSpan.Zero), info.CreatedAt);
        Assert.True(info.Public);
    }

    [Fact]
    public void Default_variant_is_not_in_the_description_and_no_eol_expires_at_the_epoch()
    {
        var catalog = Catalog(("p", Product("amd64", ("20250101_05:42", Version(("incus.tar.xz", Meta(squash: FpSquash)), ("root.squashfs", Root(FileTypes.Squashfs))))) with { SupportEol = null }));

        var info = Assert.Single(catalog.Images).Info;
        Assert.Equal("Debian bookworm amd64 (20250101_05:42)", info.Properties["description"]);
        Assert.Equal(DateTimeOffset.UnixEpoch, info.ExpiresAt);
        Assert.Equal("1970-01-01T00:00:00Z", IncusTimestampConverter.Format(info.ExpiresAt));
    }

    [Fact]
    public void Unknown_architecture_drops_the_product_and_bad_serials_are_skipped()
    {
        var catalog = Catalog(
            ("weird", Product("pdp11", ("20250101", Version(("incus.tar.xz", Meta(squash: FpSquash)), ("root.squashfs", Root(FileTypes.Squashfs)))))),
            ("bad-serial", Product("amd64", ("v1", Version(("incus.tar.xz", Meta(squash: FpRootXz)), ("root.squashfs", Root(FileTypes.Squashfs)))))));

        Assert.Empty(catalog.Images);
        Assert.Null(catalog.FindAlias("debian/12"));
    }

    [Fact]
    public void Unified_item_is_an_image_of_its_own_hash_and_combined_type()
    {
        var unified = new ProductVersionItem { FileType = FileTypes.IncusCombined, Path = "images/x/incus_combined.tar.gz", Sha256 = FpVm, Size = 42, CombinedType = ImageTypes.VirtualMachine };
        var catalog = Catalog(("p", Product("amd64", ("20250101", Version(("incus_combined.tar.gz", unified))))));

        var image = Assert.Single(catalog.Images);
        Assert.Null(image.Root);
        Assert.Equal(FpVm, image.Info.Fingerprint);
        Assert.Equal("tar.gz", image.Info.Properties["type"]);
        Assert.Equal(ImageTypes.VirtualMachine, image.Info.Type);
    }

    [Fact]
    public void Lxd_items_are_read_when_there_are_no_Incus_items()
    {
        var meta = Meta(squash: FpSquash) with { FileType = FileTypes.LxdMetadata };
        var catalog = Catalog(("p", Product("amd64", ("20250101", Version(("lxd.tar.xz", meta), ("root.squashfs", Root(FileTypes.Squashfs)))))));

        Assert.Equal(FpSquash, Assert.Single(catalog.Images).Info.Fingerprint);
    }

    [Fact]
    public void Fingerprint_prefix_finds_one_image_and_refuses_ambiguity()
    {
        var catalog = Catalog(("p", Product("amd64", ("20250101", Version(
            ("incus.tar.xz", Meta(squash: "ab" + new string('0', 62), rootxz: "ab" + new string('1', 62))),
            ("root.squashfs", Root(FileTypes.Squashfs)),
            ("root.tar.xz", Root(FileTypes.RootTarXz)))))));

        Assert.NotNull(catalog.FindFingerprint("ab0"));
        Assert.Throws<InvalidOperationException>(() => catalog.FindFingerprint("ab"));
        Assert.Null(catalog.FindFingerprint("ff"));
    }

    [Fact]
    public void Products_file_in_the_shape_of_images_linuxcontainers_org_round_trips()
    {
        const string json = """
            {"content_id":"images","datatype":"image-downloads","format":"products:1.0",
             "products":{
              "debian:bookworm:amd64:default":{
                "aliases":"debian/bookworm/default,debian/bookworm,debian/12",
                "arch":"amd64","os":"Debian","release":"bookworm","release_title":"bookworm",
                "variant":"default","support_eol":"2028-06-30",
                "requirements":{"secureboot":"false"},
                "versions":{
                  "20250101_05:24":{
                    "items":{
                      "incus.tar.xz":{"ftype":"incus.tar.xz","path":"images/debian/bookworm/amd64/default/20250101_05:24/incus.tar.xz",
                                      "sha256":"1111111111111111111111111111111111111111111111111111111111111111","size":1024,
                                      "combined_squashfs_sha256":"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa",
                                      "combined_disk-kvm-img_sha256":"cccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccc",
                                      "combined_rootxz_sha256":"bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb",
                                      "combined_sha256":"bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb"},
                      "lxd.tar.xz":{"ftype":"lxd.tar.xz","path":"images/debian/bookworm/amd64/default/20250101_05:24/lxd.tar.xz",
                                    "sha256":"2222222222222222222222222222222222222222222222222222222222222222","size":1020,
                                    "combined_squashfs_sha256":"dddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddd"},
                      "root.squashfs":{"ftype":"squashfs","path":"images/debian/bookworm/amd64/default/20250101_05:24/rootfs.squashfs",
                                       "sha256":"3333333333333333333333333333333333333333333333333333333333333333","size":104857600},
                      "root.tar.xz":{"ftype":"root.tar.xz","path":"images/debian/bookworm/amd64/default/20250101_05:24/rootfs.tar.xz",
                                     "sha256":"4444444444444444444444444444444444444444444444444444444444444444","size":94371840},
                      "disk.qcow2":{"ftype":"disk-kvm.img","path":"images/debian/bookworm/amd64/default/20250101_05:24/disk.qcow2",
                                    "sha256":"5555555555555555555555555555555555555555555555555555555555555555","size":419430400},
                      "delta-20241231_05:24.squashfs.vcdiff":{"ftype":"squashfs.vcdiff","delta_base":"20241231_05:24",
                                    "path":"images/debian/bookworm/amd64/default/20250101_05:24/delta-20241231_05:24.squashfs.vcdiff",
                                    "sha256":"6666666666666666666666666666666666666666666666666666666666666666","size":2048,"md5":"0123456789abcdef0123456789abcdef"}
                    }}}}},
             "updated":"Wed, 01 Jan 2025 06:00:00 +0000"}
            """;
        var products = JsonSerializer.Deserialize(json, SimpleStreamsJsonContext.Default.ProductsFile)!;
        var written = JsonNode.Parse(JsonSerializer.Serialize(products, SimpleStreamsJsonContext.Default.ProductsFile));

        Assert.True(JsonNode.DeepEquals(JsonNode.Parse(json), written), written!.ToJsonString());

        var catalog = SimpleStreamsCatalog.Build([products], "x86_64");
        Assert.Equal(3, catalog.Images.Count);
        Assert.Equal(new string('a', 64), catalog.FindAlias("debian/12")!.Image.Info.Fingerprint);
        Assert.Equal(new string('c', 64), catalog.FindAlias("debian/12", ImageTypes.VirtualMachine)!.Image.Info.Fingerprint);
    }

    [Fact]
    public void Index_in_the_published_shape_round_trips()
    {
        const string json = """
            {"format":"index:1.0","updated":"Wed, 01 Jan 2025 06:00:00 +0000","index":{"images":{"datatype":"image-downloads",
             "path":"streams/v1/images.json","format":"products:1.0","updated":"Wed, 01 Jan 2025 06:00:00 +0000","products":["debian:bookworm:amd64:default"]}}}
            """;
        var index = JsonSerializer.Deserialize(json, SimpleStreamsJsonContext.Default.StreamIndex)!;
        Assert.True(JsonNode.DeepEquals(JsonNode.Parse(json), JsonNode.Parse(JsonSerializer.Serialize(index, SimpleStreamsJsonContext.Default.StreamIndex))));
    }
}
