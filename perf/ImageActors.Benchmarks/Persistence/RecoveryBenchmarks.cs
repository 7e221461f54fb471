using BenchmarkDotNet.Attributes;
using BenchmarkDotNet.Engines;
using ImageActors.Actors.Persistence;
using ImageActors.Persistence.Sql;
using ImageActors.Persistence.Sql.Sqlite;
using Microsoft.Data.Sqlite;

namespace ImageActors.Benchmarks.Persistence;

/// <summary>
/// Recovery of every persistence id of a SQLite journal holding N ids × 10 events, as the
/// recovery of a persistent actor does it (load the newest snapshot, then replay the events after
/// it; highest sequence number), 16 ids at a time. Baseline: from events only; the other: from a
/// snapshot taken at the last event. N is <c>IMAGEACTORS_BENCH_RECOVERY_IDS</c> (default 10,000;
/// the full figure is 100,000). Times are per recovered id.
/// </summary>
[MemoryDiagnoser]
[SimpleJob(RunStrategy.Monitoring, launchCount: 1, warmupCount: 1, iterationCount: 3)]
public class RecoveryBenchmarks
{
    private const int EventsPerId = 10;
    private static readonly int Ids = BenchmarkEvents.Scale("IMAGEACTORS_BENCH_RECOVERY_IDS", 10_000);

    private DirectoryInfo? _directory;
    private SqliteStore? _store;
    private SqlJournal? _journal;
    private SqlSnapshotStore? _snapshots;
    private string[] _ids = [];

    [GlobalSetup]
    public async Task SetUpAsync()
    {
        _directory = BenchmarkEvents.TempDirectory();
        _store = await SqliteStore.OpenAsync(new SqliteSettings(Path.Combine(_directory.FullName, "journal.db")));
        var registry = BenchmarkEvents.Registry();
        _journal = new SqlJournal(_store, registry);
        _snapshots = new SqlSnapshotStore(_store, registry);
        _ids = [.. Enumerable.Range(0, Ids).Select(i => $"image/{i:D6}")];
        await Parallel.ForEachAsync(_ids, new ParallelOptions { MaxDegreeOfParallelism = 1_000 }, async (id, ct) =>
        {
            var events = Enumerable.Range(1, EventsPerId)
                .Select(seq => new PersistentRepresentation(id, seq, new ImageTouched(seq, BenchmarkEvents.Fingerprint, BenchmarkEvents.Note), "bench", default, []))
                .ToArray();
            await _journal.WriteAsync(new AtomicWrite(id, events), ct);
        });
        foreach (var id in _ids)
        {
            await _snapshots.SaveAsync(new SnapshotMetadata(id, EventsPerId, DateTimeOffset.UtcNow), new ImageTouchedTotals(EventsPerId, BenchmarkEvents.Fingerprint));
        }
    }

    [GlobalCleanup]
    public async Task CleanUpAsync()
    {
        await _journal!.DisposeAsync();
        await _store!.DisposeAsync();
        SqliteConnection.ClearAllPools();
        _directory?.Delete(recursive: true);
    }

    [Benchmark(Baseline = true)]
    public Task<long> RecoverFromEvents() => RecoverAllAsync(SnapshotSelectionCriteria.None);

    [Benchmark]
    public Task<long> RecoverFromSnapshots() => RecoverAllAsync(SnapshotSelectionCriteria.Latest);

    private async Task<long> RecoverAllAsync(SnapshotSelectionCriteria criteria)
    {
        long total = 0;
        await Parallel.ForEachAsync(_ids, new ParallelOptions { MaxDegreeOfParallelism = 16 }, async (id, ct) =>
        {
            var snapshot = criteria == SnapshotSelectionCriteria.None ? null : await _snapshots!.LoadAsync(id, criteria, ct);
            var state = snapshot?.Snapshot is ImageTouchedTotals totals ? totals.Touches : 0;
            var from = (snapshot?.Metadata.SequenceNr ?? 0) + 1;
            await foreach (var e in _journal!.ReplayAsync(id, from, long.MaxValue, long.MaxValue, ct))
            {
                state += e.Payload is ImageTouched ? 1 : 0;
            }

            var highest = await _journal!.ReadHighestSequenceNrAsync(id, from, ct);
            Interlocked.Add(ref total, state + highest);
        });
        return total;
    }
}
