using System.Diagnostics;
using BenchmarkDotNet.Attributes;
using BenchmarkDotNet.Engines;
using ImageActors.Persistence.Sql;
using ImageActors.Persistence.Sql.Sqlite;
using Microsoft.Data.Sqlite;

namespace ImageActors.Benchmarks.Persistence;

/// <summary>
/// The load of <see cref="JournalWriteBenchmarks"/> measured for a shared, loaded machine: every
/// invocation runs one round of the raw batched INSERT loop and one round of the journal (1,000
/// concurrent writers), one right after the other, each on its own database (both created by
/// <see cref="SqliteStore"/>: same schema, pragmas and growth; the raw loop writes the integer
/// persistence keys it was given at set-up, as the journal writes the keys it has cached), so
/// that both see the same load. A third round, first in every invocation, runs the raw loop on
/// a database of schema version 1 (the persistence id's text in the unique index), to show in the
/// same minutes what the integer key changed. The cleanup prints the median events/s of each and the median of the per-round ratios
/// journal/raw, in wall time and in process CPU time per event. BenchmarkDotNet's own figure is
/// the time of both rounds together and is not the result.
/// </summary>
[SimpleJob(RunStrategy.Monitoring, launchCount: 1, warmupCount: 1, iterationCount: 15)]
public class JournalWriteAlternatingBenchmarks
{
    private const int Ids = 1_000;
    private const int EventsPerId = 20;

    /// <summary>Events per atomic write (and so the raw loop's commit: 1,000 × this rows).</summary>
    [Params(1, 10)]
    public int EventsPerWrite { get; set; }

    private readonly List<(double Raw, double Journal, double RawCpu, double JournalCpu, double RawText)> _rounds = [];
    private DirectoryInfo? _directory;
    private SqliteStore? _store;
    private SqlJournal? _journal;
    private SqliteConnection? _raw;
    private SqliteConnection? _rawText;
    private byte[] _payload = [];
    private string[] _ids = [];
    private long[] _keys = [];
    private long[] _rawNext = [];
    private long[] _rawTextNext = [];
    private long[] _journalNext = [];

    [GlobalSetup]
    public async Task SetUpAsync()
    {
        _directory = BenchmarkEvents.TempDirectory();
        var rawPath = Path.Combine(_directory.FullName, "raw.db");
        await (await SqliteStore.OpenAsync(new SqliteSettings(rawPath))).DisposeAsync();
        _raw = OpenRaw(rawPath);
        var rawTextPath = Path.Combine(_directory.FullName, "raw-text-key.db");
        await (await SqliteStore.OpenAsync(new SqliteSettings(rawTextPath), schemaVersion: 1)).DisposeAsync();
        _rawText = OpenRaw(rawTextPath);

        _store = await SqliteStore.OpenAsync(new SqliteSettings(Path.Combine(_directory.FullName, "journal.db")));
        _journal = new SqlJournal(_store, BenchmarkEvents.Registry());
        _ids = [.. Enumerable.Range(0, Ids).Select(i => $"image/{i:D6}")];
        _keys = BenchmarkEvents.InsertPersistenceKeys(_raw, _ids);
        _rawNext = new long[Ids];
        _rawTextNext = new long[Ids];
        _journalNext = new long[Ids];
        _payload = BenchmarkEvents.Registry().Serialize(new ImageTouched(1, BenchmarkEvents.Fingerprint, BenchmarkEvents.Note)).Payload;
    }

    [GlobalCleanup]
    public async Task CleanUpAsync()
    {
        // The first round is BenchmarkDotNet's warm-up.
        var rounds = _rounds.Skip(1).ToList();
        if (rounds.Count > 0)
        {
            const double events = Ids * EventsPerId;
            Console.WriteLine(
                $"// alternating, {EventsPerWrite} per write, {rounds.Count} rounds: raw {Median(rounds.Select(r => events / r.Raw)):N0} events/s, " +
                $"journal {Median(rounds.Select(r => events / r.Journal)):N0} events/s, journal/raw {Median(rounds.Select(r => r.Raw / r.Journal)):F2}x wall, " +
                $"{Median(rounds.Select(r => r.RawCpu / r.JournalCpu)):F2}x CPU; CPU per event raw {Median(rounds.Select(r => r.RawCpu / events * 1e6)):F1} us, " +
                $"journal {Median(rounds.Select(r => r.JournalCpu / events * 1e6)):F1} us; {_journalNext.Sum() / Math.Max(1, _journal!.BatchesCommitted)} events per journal batch; " +
                $"raw on the text-key schema {Median(rounds.Select(r => events / r.RawText)):N0} events/s, integer/text key {Median(rounds.Select(r => r.RawText / r.Raw)):F2}x, " +
                $"journal/raw text key {Median(rounds.Select(r => r.RawText / r.Journal)):F2}x; " +
                $"load {File.ReadAllText("/proc/loadavg").Trim()}");
        }

        await _journal!.DisposeAsync();
        await _store!.DisposeAsync();
        _raw?.Dispose();
        _rawText?.Dispose();
        SqliteConnection.ClearAllPools();
        _directory?.Delete(recursive: true);
    }

    [Benchmark]
    public async Task RawThenJournal()
    {
        var clock = Stopwatch.StartNew();
        RawRound(_rawText!, null, _rawTextNext);
        var rawText = clock.Elapsed.TotalSeconds;

        var process = Process.GetCurrentProcess();
        var cpu = process.TotalProcessorTime;
        clock.Restart();
        RawRound(_raw!, _keys, _rawNext);
        var raw = clock.Elapsed.TotalSeconds;
        process.Refresh();
        var rawCpu = (process.TotalProcessorTime - cpu).TotalSeconds;

        cpu = process.TotalProcessorTime;
        clock.Restart();
        await Task.WhenAll(Enumerable.Range(0, Ids).Select(PersistAsync));
        var journal = clock.Elapsed.TotalSeconds;
        process.Refresh();
        _rounds.Add((raw, journal, rawCpu, (process.TotalProcessorTime - cpu).TotalSeconds, rawText));
    }

    private static double Median(IEnumerable<double> values)
    {
        var sorted = values.Order().ToArray();
        return sorted[sorted.Length / 2];
    }

    private static SqliteConnection OpenRaw(string path)
    {
        var connection = new SqliteConnection(new SqliteConnectionStringBuilder { DataSource = path, Pooling = false }.ToString());
        connection.Open();
        using var pragma = connection.CreateCommand();
        pragma.CommandText = "PRAGMA journal_mode = WAL; PRAGMA synchronous = NORMAL; PRAGMA wal_autocheckpoint = 16384;";
        pragma.ExecuteNonQuery();
        return connection;
    }

    /// <summary>One round of the raw loop; without <paramref name="keys"/> on the version 1 schema (no persistence_key column).</summary>
    private void RawRound(SqliteConnection connection, long[]? keys, long[] next) =>
        BenchmarkEvents.RawInsertRounds(connection, _ids, keys, next, _payload, EventsPerWrite, EventsPerId);

    private Task PersistAsync(int i) => BenchmarkEvents.PersistAsync(_journal!, _ids[i], _journalNext, i, EventsPerWrite, EventsPerId);
}
