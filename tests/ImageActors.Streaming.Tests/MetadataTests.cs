using System.Formats.Tar;
using System.Text;
using ImageActors.Streaming.Compression;
using ImageActors.Streaming.Images;

namespace ImageActors.Streaming.Tests;

public sealed class MetadataTests
{
    [Theory]
    [InlineData("amd64", "x86_64")]
    [InlineData("x86_64_v3", "x86_64")]
    [InlineData("arm64", "aarch64")]
    [InlineData("armhf", "armv7l")]
    [InlineData("ppc64el", "ppc64le")]
    [InlineData("loong64", "loongarch64")]
    [InlineData("i386", "i686")]
    [InlineData("s390x", "s390x")]
    public void Architecture_aliases_are_canonicalised(string written, string canonical)
    {
        var metadata = MetadataYaml.Parse($"architecture: {written}\ncreation_date: 1\n");

        Assert.Equal(canonical, metadata.Architecture.Name);
        Assert.Equal(written, metadata.ArchitectureAsWritten);
    }

    [Fact]
    public void Architecture_ids_and_personalities_follow_Incus()
    {
        Assert.Equal(2, Architecture.Parse("amd64").Id);
        Assert.Equal(15, Architecture.All.Count);
        Assert.True(Architecture.Parse("x86_64").CanRun(Architecture.Parse("i686")));
        Assert.True(Architecture.Parse("aarch64").CanRun(Architecture.Parse("armhf")));
        Assert.False(Architecture.Parse("i686").CanRun(Architecture.Parse("x86_64")));
        Assert.Equal(Architecture.Parse("arm64"), Architecture.FromId(4));
    }

    [Theory]
    [InlineData("creation_date: 1\n", "Architecture isn't supported:  (metadata.yaml, field architecture)")]
    [InlineData("architecture: vax\ncreation_date: 1\n", "Architecture isn't supported: vax (metadata.yaml, field architecture)")]
    [InlineData("architecture: x86_64\n", "Missing creation date (metadata.yaml, field creation_date)")]
    [InlineData("architecture: x86_64\ncreation_date: 0\n", "Missing creation date (metadata.yaml, field creation_date)")]
    public void Invalid_metadata_is_refused_with_Incus_error_text_and_where(string yaml, string message)
    {
        var error = Assert.Throws<InvalidImageException>(() => MetadataYaml.Parse(yaml));
        Assert.Equal(message, error.Message);
    }

    [Theory]
    [InlineData("architecture: x86_64\ncreation_date: 99999999999999\n", "creation_date")]
    [InlineData("architecture: x86_64\ncreation_date: 1\nexpiry_date: -99999999999999\n", "expiry_date")]
    [InlineData("architecture: x86_64\ncreation_date: 99999999999999999999999\n", "creation_date")]
    [InlineData("architecture: x86_64\ncreation_date: yesterday\n", "creation_date")]
    [InlineData("architecture: x86_64\ncreation_date: 1\nproperties:\n  description: [a, b]\n", "properties.description")]
    [InlineData("architecture: x86_64\ncreation_date: 1\nproperties: [a, b]\n", "properties")]
    [InlineData("architecture: x86_64\ncreation_date: 1\ntemplates:\n  /etc/hosts:\n    create_only: maybe\n", "templates./etc/hosts.create_only")]
    [InlineData("architecture: [x86_64]\ncreation_date: 1\n", "architecture")]
    public void A_metadata_value_outside_what_can_be_held_is_one_line_naming_the_field_and_the_file(string yaml, string field)
    {
        var error = Assert.Throws<InvalidImageException>(() => MetadataYaml.Parse(yaml));

        Assert.DoesNotContain('\n', error.Message);
        Assert.Contains("metadata.yaml", error.Message, StringComparison.Ordinal);
        Assert.EndsWith($"(metadata.yaml, field {field})", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void A_metadata_yaml_that_does_not_parse_is_one_line_naming_the_file_and_the_line()
    {
        var error = Assert.Throws<InvalidImageException>(() => MetadataYaml.Parse("architecture: x86_64\ncreation_date: 1\nproperties:\n  os: [\n"));

        Assert.DoesNotContain('\n', error.Message);
        Assert.StartsWith("Could not parse metadata.yaml: line ", error.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData(":\n[\n0")]
    [InlineData(":\n :")]
    [InlineData("architecture: x86_64\ncreation_date: 1\ntemplates:\n  /etc/hostname:\n    '[\xf4 '[\xf3i\n")]
    public void Yaml_the_parser_gives_up_on_without_naming_a_position_is_a_one_line_invalid_image(string yaml)
    {
        var error = Assert.Throws<InvalidImageException>(() => MetadataYaml.Parse(yaml));

        Assert.DoesNotContain('\n', error.Message);
        Assert.StartsWith("Could not parse metadata.yaml: ", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Lists_nested_deeper_than_the_limit_are_refused_on_one_line_instead_of_overflowing_the_stack()
    {
        // 300 000 open brackets fit well inside the 1 MiB limit; the YAML parser recursed once per bracket and ended the process.
        var yaml = "architecture: x86_64\ncreation_date: 1\nproperties:\n  description: " + new string('[', 300_000) + "\n";

        var error = Assert.Throws<InvalidImageException>(() => MetadataYaml.Read(new MemoryStream(Encoding.UTF8.GetBytes(yaml))));

        Assert.Equal($"Could not parse metadata.yaml: line 4: lists and mappings in [ ] or {{ }} are nested more than {MetadataYaml.MaxNesting} deep", error.Message);
    }

    [Fact]
    public void Brackets_inside_quoted_values_and_comments_do_not_count_toward_the_nesting_limit()
    {
        var many = new string('[', 2 * MetadataYaml.MaxNesting);
        var yaml = $"architecture: x86_64 # {many}\ncreation_date: 1\nproperties:\n  a: \"{many}\"\n  b: '{many}'\ntemplates: {{/etc/hosts: {{when: [create, copy]}}}}\n";

        var metadata = MetadataYaml.Parse(yaml);

        Assert.Equal(many, metadata.Properties["a"]);
        Assert.Equal(many, metadata.Properties["b"]);
    }

    [Fact]
    public void A_50_MB_metadata_yaml_is_refused_naming_the_limit_rather_than_cut_at_1_MiB()
    {
        var yaml = new StringBuilder("architecture: x86_64\ncreation_date: 5\nproperties:\n  description: \"");
        yaml.Append('d', 50_000_000).Append("\"\n");

        var error = Assert.Throws<InvalidImageException>(() => MetadataYaml.Read(new MemoryStream(Encoding.UTF8.GetBytes(yaml.ToString()))));

        Assert.Equal("metadata.yaml is larger than the 1 MiB (1048576 bytes) limit; shorten its description or other properties", error.Message);
    }

    [Fact]
    public void A_metadata_yaml_of_exactly_the_limit_is_read_whole()
    {
        var head = "architecture: x86_64\ncreation_date: 5\nproperties:\n  description: \"";
        var description = new string('d', MetadataYaml.MaxLength - head.Length - 2);
        var bytes = Encoding.UTF8.GetBytes(head + description + "\"\n");
        Assert.Equal(MetadataYaml.MaxLength, bytes.Length);

        var metadata = MetadataYaml.Read(new MemoryStream(bytes));

        Assert.Equal(description, metadata.Properties["description"]);
    }

    [Fact]
    public void A_tarball_without_metadata_yaml_is_refused_with_Incus_error_text()
    {
        var tar = Tarball(("rootfs/etc/hostname", "x"u8.ToArray()));

        var error = Assert.Throws<InvalidImageException>(() => ImageInspector.InspectUnified(new MemoryStream(tar)));
        Assert.Equal("Metadata tarball is missing metadata.yaml", error.Message);
    }

    [Fact]
    public void Entry_names_with_a_leading_dot_slash_are_accepted_and_a_rootfs_img_makes_a_vm()
    {
        var tar = Tarball(("./metadata.yaml", "architecture: arm64\ncreation_date: 7\n"u8.ToArray()), ("./rootfs.img", [0x51, 0x46, 0x49, 0xFB]));

        var contents = ImageInspector.InspectUnified(new MemoryStream(tar));

        Assert.Equal(ImageType.VirtualMachine, contents.Type);
        Assert.Equal("aarch64", contents.Metadata.Architecture.Name);
    }

    [Fact]
    public void A_unified_image_cut_after_its_metadata_and_rootfs_markers_is_reported_truncated_not_imported()
    {
        // A large rootfs after the markers, compressed and then cut in half: the scan reads on to the cut.
        var tar = Tarball(
            ("metadata.yaml", "architecture: x86_64\ncreation_date: 7\n"u8.ToArray()),
            ("rootfs/etc/hostname", "x"u8.ToArray()),
            ("rootfs/big", TestData.Mixed(8 * 1024 * 1024)));
        var compressed = new MemoryStream();
        using (var zstd = Codecs.Compress(compressed, CompressionAlgorithm.Zstd, leaveOpen: true))
        {
            zstd.Write(tar);
        }

        var cut = compressed.ToArray()[..(int)(compressed.Length / 2)];

        var error = Assert.Throws<InvalidImageException>(() => ImageInspector.InspectUnified(new MemoryStream(cut)));

        Assert.Equal("zstd", Assert.IsType<TruncatedStreamException>(error.InnerException).Format);
        Assert.Equal(ImageType.Container, ImageInspector.InspectUnified(new MemoryStream(compressed.ToArray())).Type);
    }

    [Fact]
    public void An_image_directory_is_read_like_the_tarball_it_would_become()
    {
        var dir = Directory.CreateTempSubdirectory("ia-image-dir-").FullName;
        try
        {
            File.WriteAllText(Path.Combine(dir, "metadata.yaml"), "architecture: armhf\ncreation_date: 9\ntemplates:\n  /etc/hosts:\n    when: [start]\n    template: hosts.tpl\n");
            Directory.CreateDirectory(Path.Combine(dir, "rootfs", "etc"));
            Directory.CreateDirectory(Path.Combine(dir, "templates"));
            File.WriteAllText(Path.Combine(dir, "templates", "hosts.tpl"), "127.0.0.1 {{ instance.name }}\n");

            var contents = ImageInspector.Inspect(dir);

            Assert.Equal(ImageType.Container, contents.Type);
            Assert.Equal("armv7l", contents.Metadata.Architecture.Name);
            Assert.Equal(["hosts.tpl"], contents.TemplateFiles);
            Assert.Equal(["start"], contents.Metadata.Templates["/etc/hosts"].When);
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }

    private static byte[] Tarball(params (string Name, byte[] Content)[] entries)
    {
        var output = new MemoryStream();
        using (var writer = new TarWriter(output, TarEntryFormat.Pax, leaveOpen: true))
        {
            foreach (var (name, content) in entries)
            {
                writer.WriteEntry(new PaxTarEntry(TarEntryType.RegularFile, name) { DataStream = new MemoryStream(content) });
            }
        }

        return output.ToArray();
    }
}
