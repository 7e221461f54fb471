using System.Diagnostics;
using BenchmarkDotNet.Attributes;
using ImageActors.Actors.Persistence;
using ImageActors.Images;
using ImageActors.Images.Domain;
using ImageActors.Images.Events;
using ImageActors.Images.ReadModel;
using ImageActors.Persistence.Sql;
using ImageActors.Persistence.Sql.Serialization;
using ImageActors.Persistence.Sql.Sqlite;
using ImageActors.Streaming;

namespace ImageActors.Benchmarks.Images;

/// <summary>
/// The whole store on a SQLite journal holding 100,000 images and 100,000 aliases. Budget: start-up
/// recovery ≤ 5 s with a read-model snapshot; the baseline replays every event without one.
/// The journal is generated once into the temp folder and reused by later runs.
/// </summary>
[MemoryDiagnoser]
public class StoreRecoveryBenchmarks
{
    private string _root = string.Empty;

    /// <summary>Images (and aliases) in the journal.</summary>
    [Params(100_000)]
    public int Images { get; set; }

    [GlobalSetup]
    public void Setup()
    {
        _root = StoreJournal.EnsureAsync(Images, "recovery").GetAwaiter().GetResult();
        var before = Process.GetCurrentProcess().WorkingSet64;
        var (store, sql) = StoreJournal.StartAsync(_root, withSnapshot: true).GetAwaiter().GetResult();
        GC.Collect();
        Console.WriteLine($"// store with {store.Catalog.ImageCount} images + {store.Catalog.AliasCount} aliases: resident {Process.GetCurrentProcess().WorkingSet64 / (1024.0 * 1024.0):F0} MiB (was {before / (1024.0 * 1024.0):F0} MiB before start), managed {GC.GetTotalMemory(true) / (1024.0 * 1024.0):F0} MiB");
        store.DisposeAsync().AsTask().GetAwaiter().GetResult();
        sql.DisposeAsync().AsTask().GetAwaiter().GetResult();
    }

    /// <summary>Start without the read-model snapshot: replays all 200,000 events.</summary>
    [Benchmark(Baseline = true)]
    public async Task<int> Start_replaying_every_event()
    {
        var (store, sql) = await StoreJournal.StartAsync(_root, withSnapshot: false);
        var count = store.Catalog.ImageCount;
        await store.DisposeAsync();
        await sql.DisposeAsync();
        return count;
    }

    /// <summary>Start from the read-model snapshot.</summary>
    [Benchmark]
    public async Task<int> Start_from_snapshot()
    {
        var (store, sql) = await StoreJournal.StartAsync(_root, withSnapshot: true);
        var count = store.Catalog.ImageCount;
        await store.DisposeAsync();
        await sql.DisposeAsync();
        return count;
    }
}

/// <summary>
/// Marking images used (<c>last_used_at</c>) on 1,000 images: 1,000 updates at once, each through its
/// image's actor and the SQLite journal's group commit; the baseline makes them one after another.
/// updates/s = 1,000 / mean.
/// </summary>
[MemoryDiagnoser]
public class MarkUsedBenchmarks
{
    private ImageStore _store = null!;
    private IAsyncDisposable _sql = null!;
    private Fingerprint[] _images = [];

    [GlobalSetup]
    public void Setup()
    {
        var root = StoreJournal.EnsureAsync(100_000, "mark-used").GetAwaiter().GetResult();
        (_store, var sql) = StoreJournal.StartAsync(root, withSnapshot: true).GetAwaiter().GetResult();
        _sql = sql;
        _images = [.. Enumerable.Range(0, 1000).Select(CatalogData.FingerprintOf)];

        // One measured round outside BenchmarkDotNet (the first touch also recovers the 1,000 actors).
        Mark_used_1000_concurrently().GetAwaiter().GetResult();
        var clock = Stopwatch.StartNew();
        Mark_used_1000_concurrently().GetAwaiter().GetResult();
        Console.WriteLine($"// mark-used, 1,000 images concurrently: {1000 / clock.Elapsed.TotalSeconds:F0} updates/s ({clock.Elapsed.TotalMilliseconds:F0} ms)");
        clock.Restart();
        Mark_used_1000_one_after_another().GetAwaiter().GetResult();
        Console.WriteLine($"// mark-used, 1,000 images one after another: {1000 / clock.Elapsed.TotalSeconds:F0} updates/s ({clock.Elapsed.TotalMilliseconds:F0} ms)");
    }

    [GlobalCleanup]
    public void Cleanup()
    {
        _store.DisposeAsync().AsTask().GetAwaiter().GetResult();
        _sql.DisposeAsync().AsTask().GetAwaiter().GetResult();
    }

    [Benchmark(Baseline = true)]
    public async Task Mark_used_1000_one_after_another()
    {
        foreach (var fp in _images)
        {
            await _store.MarkUsedAsync(ProjectName.Default, fp);
        }
    }

    [Benchmark]
    public Task Mark_used_1000_concurrently() => Task.WhenAll(_images.Select(fp => _store.MarkUsedAsync(ProjectName.Default, fp)));
}

/// <summary>Makes (once) and opens the benchmark journal.</summary>
internal static class StoreJournal
{
    public static async Task<string> EnsureAsync(int images, string purpose)
    {
        var root = Path.Combine(Path.GetTempPath(), $"imageactors-bench-{purpose}-{images}");
        var done = Path.Combine(root, "complete");
        if (File.Exists(done))
        {
            return root;
        }

        if (Directory.Exists(root))
        {
            Directory.Delete(root, recursive: true);
        }

        Directory.CreateDirectory(root);
        var registry = ImageEventSerializer.RegisterWith(new EventManifestRegistry());
        await using (var sql = await SqliteStore.OpenAsync(new SqliteSettings(Path.Combine(root, "journal.db"))))
        await using (var journal = new SqlJournal(sql, registry))
        {
            var catalog = new ImageCatalog();
            var events = CatalogData.History(images).ToList();
            await Parallel.ForEachAsync(events, new ParallelOptions { MaxDegreeOfParallelism = 64 }, async (e, token) =>
            {
                var id = e switch
                {
                    IImageEvent i => ImageJournal.ImagePersistenceId(i.Project, i.Fingerprint),
                    IAliasEvent a => ImageJournal.AliasPersistenceId(a.Project, a.Name),
                    _ => throw new InvalidOperationException(),
                };
                await journal.WriteAsync(new AtomicWrite(id, [new PersistentRepresentation(id, 1, e, "bench", default, [ImageJournal.CatalogTag])]), token);
            });

            await CatalogFeed.CatchUpAsync(catalog, journal);
            await CatalogFeed.SaveSnapshotAsync(catalog, new SqlSnapshotStore(sql, registry));
        }

        await File.WriteAllTextAsync(done, "ok");
        return root;
    }

    public static async Task<(ImageStore Store, IAsyncDisposable Sql)> StartAsync(string root, bool withSnapshot)
    {
        var sql = await SqliteStore.OpenAsync(new SqliteSettings(Path.Combine(root, "journal.db")));
        var registry = ImageEventSerializer.RegisterWith(new EventManifestRegistry());
        var journal = new SqlJournal(sql, registry);
        ISnapshotStore snapshots = withSnapshot ? new SqlSnapshotStore(sql, registry) : new InMemorySnapshotStore();
        var settings = new ImageStoreSettings(Path.Combine(root, "data"), journal, journal, snapshots)
        {
            EvictionInterval = null,
            CatalogSnapshotEvery = long.MaxValue,
        };
        return (await ImageStore.StartAsync(settings), sql);
    }
}
