using System.Diagnostics;

namespace ImageActors.Cli.Tests;

/// <summary>
/// <c>imageactors image import</c> of a bad image file, made by the real tools: one line on stderr that names the
/// file and what is wrong with it, exit code 1, and no image stored.
/// </summary>
public sealed class ImportRefusalTests : IDisposable
{
    private readonly DirectoryInfo _root = Directory.CreateTempSubdirectory("imageactors-cli-refusal-");

    public void Dispose() => _root.Delete(recursive: true);

    private string Data => Path.Combine(_root.FullName, "data");

    public static TheoryData<string, string, string> Codecs => new()
    {
        // file suffix, compress command, the format named in the error
        { "tar.gz", "gzip -c", "gzip" },
        { "tar.bz2", "bzip2 -c", "bzip2" },
        { "tar.xz", "xz -c", "xz" },
        { "tar.zst", "zstd -q -c", "zstd" },
        { "tar.lz4", "lz4 -q -c", "lz4" },
    };

    [Fact]
    public async Task A_creation_date_past_year_9999_is_one_line_naming_the_field_metadata_yaml_and_the_file()
    {
        var image = Image("far-future.tar.gz", "gzip -c", "architecture: x86_64\ncreation_date: 99999999999999\n");

        var line = await RefusedAsync(image);

        Assert.StartsWith("Error: far-future.tar.gz: ", line, StringComparison.Ordinal);
        Assert.Contains("creation_date", line, StringComparison.Ordinal);
        Assert.Contains("metadata.yaml", line, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_50_MB_metadata_yaml_is_refused_naming_the_limit_and_nothing_is_stored()
    {
        var image = Image("huge-metadata.tar.gz", "gzip -c", "architecture: x86_64\ncreation_date: 1700000000\nproperties:\n  description: " + new string('d', 50 << 20) + "\n");

        var line = await RefusedAsync(image);

        Assert.StartsWith("Error: huge-metadata.tar.gz: metadata.yaml is larger than the 1 MiB (1048576 bytes) limit", line, StringComparison.Ordinal);
    }

    [Theory]
    [MemberData(nameof(Codecs))]
    public async Task A_byte_flipped_in_the_rootfs_after_metadata_yaml_is_reported_damaged_by_the_codec_and_nothing_is_stored(string suffix, string compress, string format)
    {
        var image = Image("flipped." + suffix, compress, "architecture: x86_64\ncreation_date: 1700000000\n");
        var bytes = await File.ReadAllBytesAsync(image);
        bytes[bytes.Length * 3 / 4] ^= 0x55;
        await File.WriteAllBytesAsync(image, bytes);
        Assert.NotEqual(0, Run($"{compress.Split(' ')[0]} -t -q {image}"));

        var line = await RefusedAsync(image);

        Assert.StartsWith($"Error: flipped.{suffix}: The image file is damaged: The {format} stream is corrupt", line, StringComparison.Ordinal);
    }

    // One line on stderr, exit code 1, and an empty store afterwards.
    private async Task<string> RefusedAsync(string image)
    {
        var run = await CliRun.InvokeAsync("--data", Data, "image", "import", image);
        var list = await CliRun.InvokeAsync("--data", Data, "image", "list", "--format", "csv");

        Assert.Equal(ExitCodes.Failure, run.ExitCode);
        Assert.Equal("", list.Output.Trim());
        return Assert.Single(run.Error.Split('\n', StringSplitOptions.RemoveEmptyEntries));
    }

    // metadata.yaml first, then a rootfs of 1 MiB of incompressible bytes, so that damage after 3/4 lies in the rootfs.
    private string Image(string name, string compress, string yaml)
    {
        var tree = Directory.CreateDirectory(Path.Combine(_root.FullName, "tree-" + name)).FullName;
        File.WriteAllText(Path.Combine(tree, "metadata.yaml"), yaml);
        Directory.CreateDirectory(Path.Combine(tree, "rootfs", "etc"));
        var payload = new byte[1 << 20];
        new Random(5).NextBytes(payload);
        File.WriteAllBytes(Path.Combine(tree, "rootfs", "etc", "payload"), payload);
        var image = Path.Combine(_root.FullName, name);
        Assert.Equal(0, Run($"cd {tree} && tar -cf - metadata.yaml rootfs | {compress} > {image}"));
        return image;
    }

    private static int Run(string script)
    {
        using var process = Process.Start(new ProcessStartInfo("sh", ["-c", script]) { RedirectStandardError = true })!;
        process.StandardError.ReadToEnd();
        process.WaitForExit();
        return process.ExitCode;
    }
}
