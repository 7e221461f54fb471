using System.Diagnostics;
using System.Globalization;
using Akka.Actor;
using Akka.Configuration;
using Akka.Persistence;
using ImageActors.Persistence;
using Microsoft.Data.Sqlite;
using Npgsql;
using NpgsqlTypes;

namespace ImageActors.JournalBench;

/// <summary>
/// Usage: <c>sqlite DIRECTORY | postgresql CONNECTION-STRING [writes|ours|recovery|all] [EVENTS]</c>.
/// Writes: 1,000 persistence ids each writing (1 or 10 events per write, the next write after the
/// acknowledgement) through the group-commit plugin and the stock plugin, and a raw batched INSERT
/// of the same rows into the same schema as the baseline; prints events/s and the ratio.
/// Ours: the same without the stock plugin. Recovery: 10,000 persistent actors × 10 events recovered at once by each plugin.
/// </summary>
public static class Program
{
    private const int Ids = 1000;

    // As long as the uuid the plugins write in every row.
    private const string WriterUuid = "00000000000000000000000000000000";

    public static async Task<int> Main(string[] args)
    {
        if (args.Length < 2)
        {
            Console.Error.WriteLine("usage: sqlite DIRECTORY | postgresql CONNECTION-STRING [writes|ours|recovery|all] [EVENTS]");
            return 2;
        }

        var provider = args[0] == "sqlite" ? SqlProvider.Sqlite : SqlProvider.PostgreSql;
        var what = args.Length > 2 ? args[2] : "all";
        var events = args.Length > 3 ? int.Parse(args[3], CultureInfo.InvariantCulture) : 30000;
        var run = 0;
        string NewDatabase() => provider == SqlProvider.Sqlite
            ? $"Data Source={Path.Combine(args[1], $"bench-{Environment.ProcessId}-{++run}.db")}"
            : CreateSchema(args[1], ++run);

        if (what is "writes" or "ours" or "all")
        {
            foreach (var perWrite in new[] { 1, 10 })
            {
                var raw = await RawInsertAsync(provider, NewDatabase(), events, perWrite);
                Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"  raw {perWrite}/write: {raw:F0}/s"));
                var ours = await PluginWritesAsync(provider, NewDatabase(), events, perWrite, stock: false);
                Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"  ours {perWrite}/write: {ours:F0}/s"));
                if (what == "ours")
                {
                    Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"{provider} writes, {Ids} ids, {perWrite}/write: raw {raw:F0}/s, ours {ours:F0}/s ({ours / raw:F2}x raw)"));
                    continue;
                }

                var stock = await PluginWritesAsync(provider, NewDatabase(), Math.Min(events, provider == SqlProvider.Sqlite ? 10000 : events), perWrite, stock: true);
                Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                    $"{provider} writes, {Ids} ids, {perWrite}/write: raw {raw:F0}/s, ours {ours:F0}/s ({ours / raw:F2}x raw), stock {stock:F0}/s ({stock / raw:F2}x raw, ours {ours / stock:F1}x stock)"));
            }
        }

        if (what is "recovery" or "all")
        {
            foreach (var stock in new[] { false, true })
            {
                var database = NewDatabase();
                await RawInsertAsync(provider, database, 100_000, 10, ids: 10_000);
                var seconds = await RecoveryAsync(provider, database, 10_000, stock);
                Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"{provider} recovery of 10,000 ids x 10 events, {(stock ? "stock" : "ours")}: {seconds:F2} s"));
            }
        }

        return 0;
    }

    private static string CreateSchema(string connectionString, int run)
    {
        var name = string.Create(CultureInfo.InvariantCulture, $"bench_{Environment.ProcessId}_{run}");
        using var connection = new NpgsqlConnection(connectionString);
        connection.Open();
        using var command = new NpgsqlCommand($"DROP SCHEMA IF EXISTS {name} CASCADE; CREATE SCHEMA {name}", connection);
        command.ExecuteNonQuery();
        return new NpgsqlConnectionStringBuilder(connectionString) { SearchPath = name }.ToString();
    }

    private static Config Configuration(SqlProvider provider, string connectionString, bool stock) =>
        ConfigurationFactory.ParseString("akka.loglevel = WARNING\nakka.persistence.journal.sql.circuit-breaker.call-timeout = 300s\nakka.persistence.journal.imageactors-sql.circuit-breaker.call-timeout = 300s\nakka.persistence.snapshot-store.sql.circuit-breaker.call-timeout = 300s\nakka.persistence.snapshot-store.imageactors-sql.circuit-breaker.call-timeout = 300s").WithFallback(
            SqlPersistenceConfig.Create(provider, connectionString, new SqlPersistenceOptions { UseStockPlugin = stock }));

    /// <summary>
    /// Every id writes until <paramref name="total"/> events are acknowledged; events/s. The writers
    /// are created and the code paths run once (a warm-up round of the same writes by other ids)
    /// before the clock starts, so the time is the journal's, not the creation of 1,000 actors
    /// (Props from an expression compiles it) nor the first compilation of the write path.
    /// </summary>
    private static async Task<double> PluginWritesAsync(SqlProvider provider, string connectionString, int total, int perWrite, bool stock)
    {
        using var system = ActorSystem.Create("bench", Configuration(provider, connectionString, stock));
        var journal = Akka.Persistence.Persistence.Instance.Apply(system).JournalFor(null);
        await WriteRoundAsync(system, journal, "warm-up", Math.Min(perWrite * 5, Math.Max(perWrite, total / Ids)), perWrite);

        var writesPerId = Math.Max(1, total / Ids / perWrite);
        var before = JournalCounters.Read();
        var cpu = Process.GetCurrentProcess().TotalProcessorTime;
        var seconds = await WriteRoundAsync(system, journal, "writer", writesPerId * perWrite, perWrite);
        var rate = (double)writesPerId * perWrite * Ids / seconds;
        var cpuSeconds = (Process.GetCurrentProcess().TotalProcessorTime - cpu).TotalSeconds;
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"    {(stock ? "stock" : "ours")}: {1e6 * cpuSeconds / (writesPerId * perWrite * Ids):F1} µs of this process's CPU per event"));
        if (!stock)
        {
            Console.WriteLine($"    {JournalCounters.Read().Since(before, seconds)}");
        }

        await system.Terminate();
        return rate;
    }

    /// <summary>Creates <see cref="Ids"/> writers, then starts them; seconds from the start until every write is acknowledged.</summary>
    private static async Task<double> WriteRoundAsync(ActorSystem system, IActorRef journal, string prefix, int events, int perWrite)
    {
        var done = new Task[Ids];
        var writers = new IActorRef[Ids];
        for (var i = 0; i < Ids; i++)
        {
            var completion = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
            done[i] = completion.Task;
            writers[i] = system.ActorOf(Props.Create(typeof(Writer), journal, $"{prefix}-{i}", events, perWrite, completion));
        }

        // Every writer has started (answered) before the clock does.
        await Task.WhenAll(writers.Select(w => w.Ask<bool>(Writer.Ready.Instance, TimeSpan.FromMinutes(1))));
        var clock = Stopwatch.StartNew();
        foreach (var writer in writers)
        {
            writer.Tell(Writer.Go.Instance);
        }

        await Task.WhenAll(done);
        return clock.Elapsed.TotalSeconds;
    }

    /// <summary>Writes <paramref name="total"/> events of <paramref name="ids"/> ids in transactions of one write per id; events/s.</summary>
    private static async Task<double> RawInsertAsync(SqlProvider provider, string connectionString, int total, int perWrite, int ids = Ids)
    {
        // The plugin creates the schema, so the baseline writes into exactly the same tables.
        using (var system = ActorSystem.Create("schema", Configuration(provider, connectionString, stock: false)))
        {
            var warm = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
            system.ActorOf(Props.Create(typeof(Writer), Akka.Persistence.Persistence.Instance.Apply(system).JournalFor(null), "schema", 1, 1, warm)).Tell(Writer.Go.Instance);
            await warm.Task;
            await system.Terminate();
        }

        var message = "\"payload-of-a-benchmark-event\""u8.ToArray();
        var rounds = Math.Max(1, total / ids / perWrite);

        // As for the plugins, a warm-up round by other ids runs the code once before the clock starts
        // (not when filling the database for the recovery test).
        var warmUpRounds = ids == Ids ? 1 : 0;
        var cpu = TimeSpan.Zero;
        var clock = new Stopwatch();
        if (provider == SqlProvider.Sqlite)
        {
            using var connection = new SqliteConnection(connectionString);
            connection.Open();
            using (var pragma = new SqliteCommand("PRAGMA journal_mode = WAL; PRAGMA synchronous = NORMAL;", connection))
            {
                pragma.ExecuteNonQuery();
            }

            // Every value a journal row carries is bound per row, as the plugins must.
            using var insert = new SqliteCommand("INSERT INTO journal (created, deleted, persistence_id, sequence_number, message, manifest, identifier, writer_uuid) VALUES (@c, 0, @p, @s, @m, @mf, @i, @w)", connection);
            var c = insert.Parameters.Add("@c", SqliteType.Integer);
            var p = insert.Parameters.Add("@p", SqliteType.Text);
            var s = insert.Parameters.Add("@s", SqliteType.Integer);
            var m = insert.Parameters.Add("@m", SqliteType.Blob);
            var mf = insert.Parameters.Add("@mf", SqliteType.Text);
            var identifier = insert.Parameters.Add("@i", SqliteType.Integer);
            insert.Parameters.Add("@w", SqliteType.Text).Value = WriterUuid;
            foreach (var (prefix, count) in new[] { ("warm-up", warmUpRounds), ("writer", rounds) })
            {
                cpu = Process.GetCurrentProcess().TotalProcessorTime;
                clock.Restart();
                for (var round = 0; round < count; round++)
                {
                    using var tx = connection.BeginTransaction();
                    insert.Transaction = tx;
                    insert.Prepare();
                    for (var i = 0; i < ids; i++)
                    {
                        p.Value = $"{prefix}-{i}";
                        c.Value = DateTime.UtcNow.Ticks;
                        for (var e = 1; e <= perWrite; e++)
                        {
                            s.Value = (long)round * perWrite + e;
                            m.Value = (byte[])message.Clone();
                            mf.Value = string.Empty;
                            identifier.Value = 1;
                            insert.ExecuteNonQuery();
                        }
                    }

                    tx.Commit();
                }
            }
        }
        else
        {
            await using var connection = new NpgsqlConnection(connectionString);
            await connection.OpenAsync();
            foreach (var (prefix, count) in new[] { ("warm-up", warmUpRounds), ("writer", rounds) })
            {
                cpu = Process.GetCurrentProcess().TotalProcessorTime;
                clock.Restart();
                for (var round = 0; round < count; round++)
                {
                    // Every value a journal row carries is sent per row, as the plugins must.
                    var n = ids * perWrite;
                    var pids = new string[n];
                    var seqs = new long[n];
                    var created = new long[n];
                    var messages = new byte[n][];
                    var manifests = new string[n];
                    var identifiers = new int[n];
                    var row = 0;
                    for (var i = 0; i < ids; i++)
                    {
                        var now = DateTime.UtcNow.Ticks;
                        for (var e = 1; e <= perWrite; e++)
                        {
                            pids[row] = $"{prefix}-{i}";
                            seqs[row] = (long)round * perWrite + e;
                            created[row] = now;
                            messages[row] = (byte[])message.Clone();
                            manifests[row] = string.Empty;
                            identifiers[row++] = 1;
                        }
                    }

                    await using var tx = await connection.BeginTransactionAsync();
                    await using var insert = new NpgsqlCommand(
                        "INSERT INTO journal (created, deleted, persistence_id, sequence_number, message, manifest, identifier, writer_uuid) " +
                        "SELECT u.c, FALSE, u.p, u.s, u.m, u.mf, u.i, @w FROM unnest(@c, @p, @s, @m, @mf, @i) AS u(c, p, s, m, mf, i)", connection, tx);
                    insert.Parameters.Add(new NpgsqlParameter<long[]>("c", NpgsqlDbType.Array | NpgsqlDbType.Bigint) { TypedValue = created });
                    insert.Parameters.Add(new NpgsqlParameter<string>("w", WriterUuid));
                    insert.Parameters.Add(new NpgsqlParameter<byte[][]>("m", NpgsqlDbType.Array | NpgsqlDbType.Bytea) { TypedValue = messages });
                    insert.Parameters.Add(new NpgsqlParameter<string[]>("mf", NpgsqlDbType.Array | NpgsqlDbType.Text) { TypedValue = manifests });
                    insert.Parameters.Add(new NpgsqlParameter<int[]>("i", NpgsqlDbType.Array | NpgsqlDbType.Integer) { TypedValue = identifiers });
                    insert.Parameters.Add(new NpgsqlParameter<string[]>("p", NpgsqlDbType.Array | NpgsqlDbType.Text) { TypedValue = pids });
                    insert.Parameters.Add(new NpgsqlParameter<long[]>("s", NpgsqlDbType.Array | NpgsqlDbType.Bigint) { TypedValue = seqs });
                    await insert.ExecuteNonQueryAsync();
                    await tx.CommitAsync();
                }
            }
        }

        var seconds = clock.Elapsed.TotalSeconds;
        var cpuSeconds = (Process.GetCurrentProcess().TotalProcessorTime - cpu).TotalSeconds;
        if (ids == Ids)
        {
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"    raw: {1e6 * cpuSeconds / ((double)rounds * ids * perWrite):F1} µs of this process's CPU per event"));
        }

        return (double)rounds * ids * perWrite / seconds;
    }

    private static async Task<double> RecoveryAsync(SqlProvider provider, string connectionString, int ids, bool stock)
    {
        using var system = ActorSystem.Create("recovery", Configuration(provider, connectionString, stock));
        var warm = new TaskCompletionSource<long>(TaskCreationOptions.RunContinuationsAsynchronously);
        system.ActorOf(Props.Create(() => new Recovering("warm-up", warm)));
        await warm.Task;
        var clock = Stopwatch.StartNew();
        var done = new Task<long>[ids];
        for (var i = 0; i < ids; i++)
        {
            var completion = new TaskCompletionSource<long>(TaskCreationOptions.RunContinuationsAsynchronously);
            done[i] = completion.Task;
            var id = $"writer-{i}";
            system.ActorOf(Props.Create(() => new Recovering(id, completion)));
        }

        var counts = await Task.WhenAll(done);
        var seconds = clock.Elapsed.TotalSeconds;
        if (counts.Any(c => c != 10))
        {
            throw new InvalidOperationException($"Recovery replayed {counts.Min()}..{counts.Max()} events per id, not 10.");
        }

        await system.Terminate();
        return seconds;
    }

    /// <summary>
    /// Writes its id's events through the journal protocol once told <see cref="Go"/>, the next
    /// write once the last is acknowledged; answers <see cref="Ready"/> with true.
    /// </summary>
    private sealed class Writer : ReceiveActor
    {
        public Writer(IActorRef journal, string id, int events, int perWrite, TaskCompletionSource done)
        {
            long next = 1;
            var pending = 0;
            void Send()
            {
                var batch = new List<IPersistentRepresentation>(perWrite);
                for (var e = 0; e < perWrite; e++)
                {
                    batch.Add(new Persistent("payload-of-a-benchmark-event", next++, id));
                }

                pending = perWrite;
                journal.Tell(new WriteMessages([new AtomicWrite(System.Collections.Immutable.ImmutableList.CreateRange(batch))], Self, 1));
            }

            Receive<WriteMessagesSuccessful>(_ => { });
            Receive<WriteMessageSuccess>(_ =>
            {
                if (--pending > 0)
                {
                    return;
                }

                if (next > events)
                {
                    done.TrySetResult();
                    Context.Stop(Self);
                }
                else
                {
                    Send();
                }
            });
            Receive<WriteMessagesFailed>(f => done.TrySetException(f.Cause));
            Receive<WriteMessageFailure>(_ => { });
            Receive<Ready>(_ => Sender.Tell(true));
            Receive<Go>(_ => Send());
        }

        public sealed class Ready
        {
            public static readonly Ready Instance = new();
        }

        public sealed class Go
        {
            public static readonly Go Instance = new();
        }
    }

    /// <summary>Recovers its events and reports how many it saw.</summary>
    private sealed class Recovering : ReceivePersistentActor
    {
        private readonly string _id;
        private long _count;

        public Recovering(string id, TaskCompletionSource<long> done)
        {
            _id = id;
            Recover<string>(_ => _count++);
            Recover<RecoveryCompleted>(_ =>
            {
                done.TrySetResult(_count);
                Context.Stop(Self);
            });
        }

        public override string PersistenceId => _id;
    }
}
