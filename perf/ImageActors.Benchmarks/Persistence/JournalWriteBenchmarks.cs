using BenchmarkDotNet.Attributes;
using BenchmarkDotNet.Engines;
using ImageActors.Actors;
using ImageActors.Actors.Persistence;
using ImageActors.Persistence.Sql;
using ImageActors.Persistence.Sql.Sqlite;
using Microsoft.Data.Sqlite;

namespace ImageActors.Benchmarks.Persistence;

/// <summary>
/// 1,000 persistence ids persisting concurrently, each with one write in flight at a time (as a
/// persistent actor does), through <see cref="SqlJournal"/> on SQLite (WAL, synchronous=NORMAL),
/// against the Baseline: a raw loop of prepared INSERTs on an identical database and schema
/// (with each id's integer persistence key, inserted at set-up),
/// committing the same shape of batch (one write of every id per transaction: 1,000 ×
/// <see cref="EventsPerWrite"/> rows). <see cref="EventsPerWrite"/> = 1 is <c>Persist</c>,
/// 10 is <c>PersistAll</c> of 10 events. Budget: ≥ 0.7× the Baseline and ≥ 100,000 events/s.
/// Times are per event; one invocation writes 20 events per id (20,000 events).
/// </summary>
[MemoryDiagnoser]
[SimpleJob(RunStrategy.Monitoring, launchCount: 1, warmupCount: 1, iterationCount: 5)]
public class JournalWriteBenchmarks
{
    private const int Ids = 1_000;
    private const int EventsPerId = 20;

    /// <summary>Events per atomic write (and so the batch size: 1,000 × this).</summary>
    [Params(1, 10)]
    public int EventsPerWrite { get; set; }

    private DirectoryInfo? _directory;
    private SqliteStore? _store;
    private SqlJournal? _journal;
    private SqliteConnection? _raw;
    private ActorSystem? _system;
    private IActorRef[] _actors = [];
    private byte[] _payload = [];
    private string[] _ids = [];
    private long[] _keys = [];
    private long[] _next = [];

    [GlobalSetup(Target = nameof(RawBatchedInsert))]
    public async Task SetUpRawAsync()
    {
        await SetUpCommonAsync();
        await _store!.DisposeAsync();
        _store = null;
        _raw = new SqliteConnection(new SqliteConnectionStringBuilder { DataSource = DatabasePath, Pooling = false }.ToString());
        _raw.Open();
        using var pragma = _raw.CreateCommand();
        pragma.CommandText = "PRAGMA journal_mode = WAL; PRAGMA synchronous = NORMAL; PRAGMA wal_autocheckpoint = 16384;";
        pragma.ExecuteNonQuery();
        _keys = BenchmarkEvents.InsertPersistenceKeys(_raw, _ids);
    }

    [GlobalSetup(Target = nameof(GroupCommitJournal))]
    public async Task SetUpJournalAsync()
    {
        await SetUpCommonAsync();
        _journal = new SqlJournal(_store!, BenchmarkEvents.Registry());
    }

    [GlobalSetup(Target = nameof(PersistentActors))]
    public async Task SetUpActorsAsync()
    {
        await SetUpJournalAsync();
        _system = ActorSystem.Create("bench", new ActorSystemSettings { Persistence = new PersistenceSettings { Journal = _journal } });
        _actors = [.. _ids.Select(id => _system.ActorOf(Props.Create(() => new TouchingActor(id)), id.Replace('/', '-')))];
    }

    [GlobalCleanup]
    public async Task CleanUpAsync()
    {
        if (_system is not null)
        {
            await _system.DisposeAsync();
        }

        if (_journal is not null)
        {
            // The batch size the load produced: group commit is only as good as its batches.
            Console.WriteLine($"// {_next.Sum()} events in {_journal.BatchesCommitted} batches: {_next.Sum() / Math.Max(1, _journal.BatchesCommitted)} events per batch");
            await _journal.DisposeAsync();
        }

        if (_store is not null)
        {
            await _store.DisposeAsync();
        }

        _raw?.Dispose();
        SqliteConnection.ClearAllPools();
        _directory?.Delete(recursive: true);
    }

    [Benchmark(Baseline = true, OperationsPerInvoke = Ids * EventsPerId)]
    public void RawBatchedInsert() => BenchmarkEvents.RawInsertRounds(_raw!, _ids, _keys, _next, _payload, EventsPerWrite, EventsPerId);

    [Benchmark(OperationsPerInvoke = Ids * EventsPerId)]
    public Task GroupCommitJournal() => Task.WhenAll(Enumerable.Range(0, Ids).Select(PersistAsync));

    /// <summary>The same load from 1,000 kernel <c>PersistentActor</c>s: each persists its 20 events one write after the other.</summary>
    [Benchmark(OperationsPerInvoke = Ids * EventsPerId)]
    public Task PersistentActors() =>
        Task.WhenAll(_actors.Select(a => a.Ask<TouchingActor.Done>(new TouchingActor.Touch(EventsPerId / EventsPerWrite, EventsPerWrite), TimeSpan.FromMinutes(5))));

    private Task PersistAsync(int i) => BenchmarkEvents.PersistAsync(_journal!, _ids[i], _next, i, EventsPerWrite, EventsPerId);

    private string DatabasePath => Path.Combine(_directory!.FullName, "journal.db");

    private async Task SetUpCommonAsync()
    {
        _directory = BenchmarkEvents.TempDirectory();
        _store = await SqliteStore.OpenAsync(new SqliteSettings(DatabasePath));
        _ids = [.. Enumerable.Range(0, Ids).Select(i => $"image/{i:D6}")];
        _next = new long[Ids];
        _payload = BenchmarkEvents.Registry().Serialize(new ImageTouched(1, BenchmarkEvents.Fingerprint, BenchmarkEvents.Note)).Payload;
    }
}

/// <summary>A persistent actor that persists a burst of writes, one in flight at a time, then replies.</summary>
internal sealed class TouchingActor : PersistentActor
{
    private readonly string _id;
    private IActorRef? _requester;
    private int _writesLeft;
    private int _eventsPerWrite;
    private long _touches;

    public TouchingActor(string id)
    {
        _id = id;
        Recover<ImageTouched>(e => _touches = e.Number);
        Command<Touch>(t =>
        {
            _requester = Sender;
            _writesLeft = t.Writes;
            _eventsPerWrite = t.EventsPerWrite;
            PersistNext();
        });
        Command<Continue>(_ => PersistNext());
    }

    public override string PersistenceId => _id;

    private void PersistNext()
    {
        var events = new ImageTouched[_eventsPerWrite];
        for (var i = 0; i < events.Length; i++)
        {
            events[i] = new ImageTouched(_touches + i + 1, BenchmarkEvents.Fingerprint, BenchmarkEvents.Note);
        }

        var handled = 0;
        PersistAll(events, e =>
        {
            _touches = e.Number;
            if (++handled < events.Length)
            {
                return;
            }

            if (--_writesLeft > 0)
            {
                Self.Tell(Continue.Instance);
            }
            else
            {
                _requester?.Tell(Done.Instance);
            }
        });
    }

    public sealed record Touch(int Writes, int EventsPerWrite);

    public sealed record Continue
    {
        public static Continue Instance { get; } = new();
    }

    public sealed record Done
    {
        public static Done Instance { get; } = new();
    }
}
