using System.Diagnostics;

namespace ImageActors.IntegrationTests.Support;

/// <summary>Real Incus images built with the system's tar, xz and mksquashfs: metadata.yaml plus a small rootfs.</summary>
public static class RealImages
{
    /// <summary>A unified <c>.tar.xz</c> image.</summary>
    public static async Task<string> UnifiedAsync(string directory, string name, string release)
    {
        var tree = await TreeAsync(directory, name, release, withRootfs: true);
        var file = Path.Combine(directory, name + ".tar.xz");
        await RunAsync("tar", "-C", tree, "--numeric-owner", "-cJf", file, "metadata.yaml", "rootfs");
        return file;
    }

    /// <summary>A unified uncompressed <c>.tar</c> image whose rootfs holds <paramref name="payloadBytes"/> incompressible bytes (a large image, quick to build).</summary>
    public static async Task<string> LargeUnifiedAsync(string directory, string name, string release, int payloadBytes)
    {
        var tree = await TreeAsync(directory, name, release, withRootfs: true);
        await File.WriteAllBytesAsync(Path.Combine(tree, "rootfs", "etc", "payload"), Payload(name, payloadBytes));
        var file = Path.Combine(directory, name + ".tar");
        await RunAsync("tar", "-C", tree, "--numeric-owner", "-cf", file, "metadata.yaml", "rootfs");
        return file;
    }

    /// <summary>A split image: a metadata <c>.tar.xz</c> and a squashfs rootfs.</summary>
    public static async Task<(string Metadata, string Rootfs)> SplitAsync(string directory, string name, string release)
    {
        var tree = Tree(directory, name, release);
        var metadata = Path.Combine(directory, name + "-meta.tar.xz");
        await RunAsync("tar", "-C", tree, "--numeric-owner", "-cJf", metadata, "metadata.yaml");
        var rootfsTree = Path.Combine(directory, name + "-rootfs");
        Directory.CreateDirectory(Path.Combine(rootfsTree, "etc"));
        await File.WriteAllTextAsync(Path.Combine(rootfsTree, "etc", "hostname"), name + "\n");
        await File.WriteAllBytesAsync(Path.Combine(rootfsTree, "etc", "payload"), Payload(name, 3_000_000));
        var rootfs = Path.Combine(directory, name + ".squashfs");
        await RunAsync("mksquashfs", rootfsTree, rootfs, "-noappend", "-quiet", "-all-root");
        return (metadata, rootfs);
    }

    /// <summary>A split virtual-machine image: a metadata <c>.tar.xz</c> and a qcow2 disk (a qcow2 header over incompressible bytes).</summary>
    public static async Task<(string Metadata, string Disk)> SplitVmAsync(string directory, string name, string release)
    {
        var tree = Tree(directory, name, release);
        var metadata = Path.Combine(directory, name + "-meta.tar.xz");
        await RunAsync("tar", "-C", tree, "--numeric-owner", "-cJf", metadata, "metadata.yaml");

        // qcow2 magic and version 3, then incompressible bytes: enough for format sniffing and a distinct fingerprint.
        var disk = Path.Combine(directory, name + ".qcow2");
        var bytes = Payload(name, 1_000_000);
        ((byte[])[0x51, 0x46, 0x49, 0xFB, 0, 0, 0, 3]).CopyTo(bytes, 0);
        await File.WriteAllBytesAsync(disk, bytes);
        return (metadata, disk);
    }

    /// <summary>The folder of an image before it is packed: metadata.yaml and, <paramref name="withRootfs"/>, a small rootfs.</summary>
    public static async Task<string> TreeAsync(string directory, string name, string release, bool withRootfs)
    {
        var tree = Tree(directory, name, release);
        if (withRootfs)
        {
            Directory.CreateDirectory(Path.Combine(tree, "rootfs", "etc"));
            await File.WriteAllTextAsync(Path.Combine(tree, "rootfs", "etc", "hostname"), name + "\n");
            await File.WriteAllBytesAsync(Path.Combine(tree, "rootfs", "etc", "payload"), Payload(name, 2_000_000));
        }

        return tree;
    }

    private static string Tree(string directory, string name, string release)
    {
        var tree = Path.Combine(directory, name + "-tree");
        Directory.CreateDirectory(tree);
        File.WriteAllText(Path.Combine(tree, "metadata.yaml"), $"""
            architecture: x86_64
            creation_date: 1767225600
            properties:
              os: Testos
              release: "{release}"
              variant: {name}
              architecture: amd64
              description: Testos {release} {name}
            """ + "\n");
        return tree;
    }

    // Incompressible bytes, different per image, so that each image has its own fingerprint.
    private static byte[] Payload(string seed, int size)
    {
        var bytes = new byte[size];
        new Random(seed.GetHashCode(StringComparison.Ordinal)).NextBytes(bytes);
        return bytes;
    }

    private static async Task RunAsync(string program, params string[] arguments)
    {
        var start = new ProcessStartInfo(program) { RedirectStandardError = true, RedirectStandardOutput = true, UseShellExecute = false };
        foreach (var argument in arguments)
        {
            start.ArgumentList.Add(argument);
        }

        using var process = Process.Start(start)!;
        var stderr = process.StandardError.ReadToEndAsync();
        _ = process.StandardOutput.ReadToEndAsync();
        await process.WaitForExitAsync();
        Assert.True(process.ExitCode == 0, $"{program} failed: {await stderr}");
    }
}
