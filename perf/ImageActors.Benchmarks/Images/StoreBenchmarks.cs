using System.Diagnostics;
using Akka.Actor;
using Akka.Configuration;
using Akka.Persistence;
using Akka.Persistence.Journal;
using Akka.Persistence.Query;
using Akka.Persistence.Sql.Query;
using Akka.Streams;
using BenchmarkDotNet.Attributes;
using ImageActors.Images;
using ImageActors.Images.Domain;
using ImageActors.Images.Events;
using ImageActors.Images.Hosting;
using ImageActors.Images.ReadModel;
using ImageActors.Streaming;
using Microsoft.Data.Sqlite;

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
        var settings = Settings(root);
        settings.Persistence.PrepareAsync(CancellationToken.None).GetAwaiter().GetResult();
        var config = ConfigurationFactory.ParseString("akka.actor.provider = local").WithFallback(StoreActorSystem.Build(settings));
        using (var system = ActorSystem.Create("bench-seed", config))
        {
            // Each image and alias writes its events through its own persistent actor, as the store's entities do.
            var events = CatalogData.History(images).GroupBy(e => e switch
            {
                IImageEvent i => ImageJournal.ImagePersistenceId(i.Project, i.Fingerprint),
                IAliasEvent a => ImageJournal.AliasPersistenceId(a.Project, a.Name),
                _ => throw new InvalidOperationException(),
            });
            await Parallel.ForEachAsync(events, new ParallelOptions { MaxDegreeOfParallelism = 256 }, async (group, _) =>
            {
                var writer = system.ActorOf(Props.Create(() => new SeedWriter(group.Key)));
                await writer.Ask<SeedWriter.Written>(new SeedWriter.Write([.. group]), TimeSpan.FromMinutes(5));
                writer.Tell(PoisonPill.Instance);
            });

            var catalog = new ImageCatalog();
            var queries = PersistenceQuery.Get(system).ReadJournalFor<SqlReadJournal>(StorePersistence.QueryPluginId);
            await CatalogFeed.CatchUpAsync(catalog, queries, system.Materializer());
            await CatalogFeed.SaveSnapshotAsync(catalog, Akka.Persistence.Persistence.Instance.Apply(system).SnapshotStoreFor(null), TimeProvider.System, TimeSpan.FromMinutes(5));
            await system.Terminate();
        }

        await File.WriteAllTextAsync(done, "ok");
        return root;
    }

    /// <summary>Starts the store; without the snapshot, the read model's snapshot is removed first (a copy replays every event).</summary>
    public static async Task<(ImageStore Store, IAsyncDisposable Owned)> StartAsync(string root, bool withSnapshot)
    {
        var start = root;
        if (!withSnapshot)
        {
            start = root + "-no-snapshot";
            if (Directory.Exists(start))
            {
                Directory.Delete(start, recursive: true);
            }

            Directory.CreateDirectory(start);
            File.Copy(Path.Combine(root, "journal.db"), Path.Combine(start, "journal.db"));
            await using var connection = new SqliteConnection(StorePersistence.Sqlite(Path.Combine(start, "journal.db")).ConnectionString);
            await connection.OpenAsync();
            await using var command = connection.CreateCommand();
            command.CommandText = $"DELETE FROM snapshot WHERE persistence_id = '{ImageJournal.CatalogPersistenceId}'";
            await command.ExecuteNonQueryAsync();
        }

        var store = await ImageStore.StartAsync(Settings(start));
        return (store, store);
    }

    private static ImageStoreSettings Settings(string root) => new(Path.Combine(root, "data"), StorePersistence.Sqlite(Path.Combine(root, "journal.db")))
    {
        EvictionInterval = null,
        CatalogSnapshotEvery = long.MaxValue,
    };

    private sealed class SeedWriter : ReceivePersistentActor
    {
        public SeedWriter(string persistenceId)
        {
            PersistenceId = persistenceId;
            Command<Write>(write =>
            {
                var sender = Sender;
                PersistAll(write.Events.Select(e => new Tagged(e, ImageJournal.CatalogTags)), _ => { });
                DeferAsync(write, _ => sender.Tell(new Written()));
            });
        }

        public override string PersistenceId { get; }

        public sealed record Write(object[] Events) : INoSerializationVerificationNeeded;

        public sealed record Written : INoSerializationVerificationNeeded;
    }
}
