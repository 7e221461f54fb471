using System.Diagnostics;
using System.Formats.Tar;
using System.Globalization;
using System.Security.Cryptography;
using System.Text;
using ImageActors.Images.Domain;
using ImageActors.Streaming;

namespace ImageActors.Images.Tests.Store;

/// <summary>
/// Kills a child process importing, aliasing and deleting images with SIGKILL at many random
/// moments, restarts the store on what it left, and checks Incus' promise: each image exists
/// complete (record, files with the right hash) or not at all, nothing is left in tmp, no file
/// lacks a record, no alias points at a missing image, and what the child was told is done is done.
/// A subclass names the journal: a SQLite file or a PostgreSQL database.
/// </summary>
public abstract class CrashConsistencySpec
{
    private static readonly TimeSpan Deadline = TimeSpan.FromMinutes(2);

    /// <summary>The journal's kind and target as the crash importer takes them (<c>sqlite PATH</c>, <c>postgresql CONNECTION-STRING</c>).</summary>
    protected abstract Task<(string Kind, string Target)> JournalAsync(DirectoryInfo root);

    [Fact]
    public async Task Killing_the_process_at_any_point_of_an_import_leaves_each_image_complete_or_absent()
    {
        var root = Directory.CreateTempSubdirectory("imageactors-crash-");
        try
        {
            var data = root.CreateSubdirectory("data").FullName;
            var journal = await JournalAsync(root);
            var sources = Enumerable.Range(0, 6).Select(i => Source(root.FullName, i, i == 0 ? 24 << 20 : 4096 * (i + 1))).ToArray();
            var fingerprints = sources.Select(s => Fingerprint.Parse(Convert.ToHexStringLower(SHA256.HashData(File.ReadAllBytes(s))))).ToArray();
            var last = new Dictionary<int, string>();
            var kills = 0;
            for (var run = 0; run < 8; run++)
            {
                kills += await RunUntilKilledAsync(data, journal, sources, Random.Shared.Next(1, 25), last) ? 1 : 0;
            }

            Assert.True(kills >= 6, $"only {kills} runs got far enough to be killed");

            var store = await CrashImporter.Program.OpenAsync(data, CrashImporter.Program.Journal(journal.Kind, journal.Target));
            await using (store)
            {
                var images = store.List();
                foreach (var image in images)
                {
                    var path = store.Blobs.MetadataPath(image.Fingerprint);
                    Assert.True(File.Exists(path), $"image {image.Fingerprint} has a record but no file");
                    Assert.Equal(image.Fingerprint.ToString(), Convert.ToHexStringLower(SHA256.HashData(File.ReadAllBytes(path))));
                }

                var known = images.Select(i => i.Fingerprint.ToString()).ToHashSet();
                Assert.All(Directory.EnumerateFiles(store.Blobs.ImagesDirectory), f => Assert.Contains(Path.GetFileName(f), known));
                Assert.Empty(Directory.EnumerateFiles(store.Blobs.TempDirectory));
                Assert.All(store.ListAliases(), a => Assert.NotNull(store.Catalog.Find(a.Project, a.Target)));

                // What the child was told is done is done; a step in flight may have gone either way.
                foreach (var (index, step) in last)
                {
                    var present = store.Catalog.Find(ProjectName.Default, fingerprints[index]) is not null;
                    if (step is "imported" or "aliasing" or "aliased")
                    {
                        Assert.True(present, $"source {index} was acknowledged as imported ({step}) but is missing");
                    }
                    else if (step == "deleted")
                    {
                        Assert.False(present, $"source {index} was acknowledged as deleted but is present");
                    }
                }

                // No image is stuck half-imported: every source imports again.
                foreach (var source in sources)
                {
                    await store.ImportAsync(new ImportRequest(new ImageSource.UnifiedFile(source)));
                }

                Assert.Equal(sources.Length, store.List().Count);
            }
        }
        finally
        {
            root.Delete(recursive: true);
        }
    }

    private static async Task<bool> RunUntilKilledAsync(string data, (string Kind, string Target) journal, string[] sources, int killAfter, Dictionary<int, string> last)
    {
        var start = new ProcessStartInfo(Environment.GetEnvironmentVariable("DOTNET_HOST_PATH") ?? "dotnet")
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        foreach (var a in (string[])[Path.Combine(AppContext.BaseDirectory, "ImageActors.Images.CrashImporter.dll"), data, journal.Kind, journal.Target, .. sources])
        {
            start.ArgumentList.Add(a);
        }

        using var child = Process.Start(start) ?? throw new InvalidOperationException("Could not start the crash importer.");
        var errors = child.StandardError.ReadToEndAsync();
        var enough = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var reading = Task.Run(async () =>
        {
            var count = 0;
            while (await child.StandardOutput.ReadLineAsync() is { } line)
            {
                var parts = line.Split(' ');
                var index = int.Parse(parts[1], CultureInfo.InvariantCulture);
                lock (last)
                {
                    // "deleting" after "aliased" still means present unless "deleted" follows.
                    last[index] = parts[0] == "deleting" ? "deleting:maybe" : parts[0];
                }

                if (++count == killAfter)
                {
                    enough.TrySetResult();
                }
            }
        });

        var first = await Task.WhenAny(enough.Task, child.WaitForExitAsync(), Task.Delay(Deadline));
        if (first != enough.Task)
        {
            if (!child.HasExited)
            {
                child.Kill();
            }

            Assert.Fail($"The crash importer did not reach step {killAfter} (exited: {child.HasExited}): {await errors}");
        }

        child.Kill(); // SIGKILL: no finally blocks, no flushing, no disposal
        await child.WaitForExitAsync();
        await reading;
        return true;
    }

    private static string Source(string directory, int seed, int payload)
    {
        var path = Path.Combine(directory, $"source-{seed}.tar");
        var bytes = new byte[payload];
        new Random(seed).NextBytes(bytes);
        using var file = File.Create(path);
        using var tar = new TarWriter(file, TarEntryFormat.Pax, leaveOpen: false);
        tar.WriteEntry(new PaxTarEntry(TarEntryType.RegularFile, "metadata.yaml")
        {
            DataStream = new MemoryStream(Encoding.UTF8.GetBytes(TestImages.MetadataYaml(release: seed.ToString(CultureInfo.InvariantCulture)))),
            ModificationTime = DateTimeOffset.UnixEpoch,
        });
        tar.WriteEntry(new PaxTarEntry(TarEntryType.RegularFile, "rootfs/payload") { DataStream = new MemoryStream(bytes), ModificationTime = DateTimeOffset.UnixEpoch });
        return path;
    }
}

public sealed class SqliteCrashConsistencyTests : CrashConsistencySpec
{
    protected override Task<(string Kind, string Target)> JournalAsync(DirectoryInfo root) =>
        Task.FromResult(("sqlite", Path.Combine(root.FullName, "journal.db")));
}

[Collection(PostgreSqlCollection.Name)]
public sealed class PostgreSqlCrashConsistencyTests(PostgreSqlServer server) : CrashConsistencySpec
{
    protected override async Task<(string Kind, string Target)> JournalAsync(DirectoryInfo root) => ("postgresql", await server.CreateSchemaAsync());
}
