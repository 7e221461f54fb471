using System.Diagnostics;
using System.Globalization;

namespace ImageActors.IntegrationTests.Support;

/// <summary>
/// A real file system of a few MiB (a tmpfs mounted for the test), so that writes fail with ENOSPC as on a full disk.
/// Mounting needs root, as <c>./test.sh</c> runs in CI; where it cannot mount, the test fails saying so.
/// </summary>
public sealed class SmallDisk : IAsyncDisposable
{
    private SmallDisk(string path) => Path = path;

    /// <summary>The mount point.</summary>
    public string Path { get; }

    private string Filler => System.IO.Path.Combine(Path, "filler");

    /// <summary>Mounts a tmpfs of <paramref name="bytes"/> at <paramref name="path"/>.</summary>
    public static async Task<SmallDisk> MountAsync(string path, long bytes)
    {
        Directory.CreateDirectory(path);
        await RunAsync("mount", "-t", "tmpfs", "-o", "size=" + bytes.ToString(CultureInfo.InvariantCulture), "tmpfs", path);
        return new SmallDisk(path);
    }

    /// <summary>Gives the file system <paramref name="bytes"/> in all (what it holds stays).</summary>
    public Task ResizeAsync(long bytes) => RunAsync("mount", "-o", "remount,size=" + bytes.ToString(CultureInfo.InvariantCulture), Path);

    /// <summary>Writes a file until the file system has no byte left.</summary>
    public async Task FillAsync()
    {
        var chunk = new byte[1 << 16];
        await using var filler = new FileStream(Filler, FileMode.Create, FileAccess.Write, FileShare.None, 1);
        try
        {
            while (true)
            {
                await filler.WriteAsync(chunk);
            }
        }
        catch (IOException)
        {
            // Full; the last partial chunk may still be in the stream's hands, so the rest is written byte by byte.
        }

        try
        {
            while (true)
            {
                filler.WriteByte(0);
                await filler.FlushAsync();
            }
        }
        catch (IOException)
        {
        }
    }

    /// <summary>Removes what <see cref="FillAsync"/> wrote.</summary>
    public void Unfill() => File.Delete(Filler);

    /// <inheritdoc />
    public async ValueTask DisposeAsync()
    {
        // Lazy: a process the test started may still hold a file there for a moment.
        await RunAsync("umount", "-l", Path);
    }

    private static async Task RunAsync(string command, params string[] arguments)
    {
        var start = new ProcessStartInfo(command) { RedirectStandardError = true, RedirectStandardOutput = true };
        foreach (var argument in arguments)
        {
            start.ArgumentList.Add(argument);
        }

        using var process = Process.Start(start)!;
        var error = await process.StandardError.ReadToEndAsync();
        await process.WaitForExitAsync().WaitAsync(TimeSpan.FromMinutes(1));
        Assert.True(process.ExitCode == 0, $"{command} {string.Join(' ', arguments)} failed ({error.Trim()}); a full-disk test mounts a tmpfs and needs root, as ./test.sh runs in CI");
    }
}
