using System.Diagnostics;
using ImageActors.IntegrationTests.Support;
using ImageActors.Server.Tests.Support;

namespace ImageActors.IntegrationTests.Incus;

/// <summary>
/// The same file imported into the real Incus daemon and into our store gets the same fingerprint, for every
/// compression the daemon accepts for a unified image (lz4 included) and for split images.
/// </summary>
[Collection(IncusDaemonCollection.Name)]
public sealed class IncusFingerprintTests(IncusDaemon incus) : IDisposable
{
    private readonly TempDirectory _root = new();

    public void Dispose() => _root.Dispose();

    [Theory]
    [InlineData("tar", "cat")]
    [InlineData("tar.gz", "gzip -c")]
    [InlineData("tar.bz2", "bzip2 -c")]
    [InlineData("tar.xz", "xz -c")]
    [InlineData("tar.lzma", "lzma -c")]
    [InlineData("tar.zst", "zstd -q -c")]
    [InlineData("tar.lz4", "lz4 -q -c")]
    public async Task A_unified_image_gets_the_daemons_fingerprint(string extension, string compressor)
    {
        var name = "fp-" + extension.Replace('.', '-');
        var tree = await RealImages.TreeAsync(_root.Path, name, "81", withRootfs: true);
        var file = Path.Combine(_root.Path, name + "." + extension);
        await ShellAsync($"tar -C '{tree}' --numeric-owner -cf - metadata.yaml rootfs | {compressor} > '{file}'");

        var theirs = await incus.ImportAsync([file], false, []);
        var ours = await ImportHereAsync(file);

        Assert.Equal(theirs, ours);
        await incus.DeleteImageIfPresentAsync(theirs);
    }

    [Theory]
    [InlineData("squashfs")]
    [InlineData("qcow2")]
    public async Task A_split_image_gets_the_daemons_fingerprint(string rootfs)
    {
        var (metadata, disk) = rootfs == "qcow2"
            ? await RealImages.SplitVmAsync(_root.Path, "fp-split-vm", "82")
            : await RealImages.SplitAsync(_root.Path, "fp-split", "83");

        var theirs = await incus.ImportAsync([metadata, disk], false, []);
        var ours = await ImportHereAsync(metadata, disk);

        Assert.Equal(theirs, ours);
        Assert.Equal(rootfs == "qcow2" ? "virtual-machine" : "container", (await incus.FindImageAsync(theirs))!.Type);
        await incus.DeleteImageIfPresentAsync(theirs);
    }

    private async Task<string> ImportHereAsync(params string[] files)
    {
        var cli = new ImageActorsCli(Directory.CreateDirectory(Path.Combine(_root.Path, "store-" + Guid.NewGuid().ToString("N")[..8])).FullName);
        return (await cli.RunAsync(["image", "import", .. files])).ImportedFingerprint();
    }

    private static async Task ShellAsync(string script)
    {
        var start = new ProcessStartInfo("bash") { RedirectStandardError = true, UseShellExecute = false };
        start.ArgumentList.Add("-c");
        start.ArgumentList.Add("set -o pipefail; " + script);
        using var process = Process.Start(start)!;
        var stderr = await process.StandardError.ReadToEndAsync();
        await process.WaitForExitAsync();
        Assert.True(process.ExitCode == 0, $"{script}: {stderr}");
    }
}
