using System.Text.Json.Serialization;
using ImageActors.Actors;
using ImageActors.Actors.Persistence;
using ImageActors.Persistence.Sql.PostgreSql;
using ImageActors.Persistence.Sql.Serialization;
using ImageActors.Persistence.Sql.Sqlite;

namespace ImageActors.Persistence.Sql.CrashWriter;

/// <summary>The event the crash writer persists (about 200 bytes of JSON): the ticker's count after it.</summary>
public sealed record Tick(long Number, string Filler);

[JsonSerializable(typeof(Tick))]
internal sealed partial class CrashWriterJson : JsonSerializerContext;

/// <summary>
/// A persistent actor that persists as fast as it can: each persist handler updates the count,
/// prints "persistence-id count" (the acknowledgement the crash test collects) and asks for the
/// next tick. After a restart it recovers its count from the journal and carries on.
/// </summary>
internal sealed class Ticker : PersistentActor
{
    private static readonly string Filler = new('x', 160);
    private readonly string _id;
    private readonly TextWriter _acknowledgements;
    private long _count;

    public Ticker(string id, TextWriter acknowledgements)
    {
        _id = id;
        _acknowledgements = acknowledgements;
        Recover<Tick>(t => _count = t.Number);
        Recover<RecoveryCompleted>(_ => Self.Tell(Next.Instance));
        Command<Next>(_ => Persist(new Tick(_count + 1, Filler), t =>
        {
            _count = t.Number;
            lock (_acknowledgements)
            {
                _acknowledgements.WriteLine($"{_id} {t.Number}");
            }

            Self.Tell(Next.Instance);
        }));
    }

    public override string PersistenceId => _id;

    public sealed record Next
    {
        public static Next Instance { get; } = new();
    }
}

/// <summary>
/// Runs WRITERS persistent actors (one persistence id each) on the SQL journal until it is killed.
/// Usage: <c>sqlite PATH WRITERS</c> or <c>postgresql CONNECTION-STRING WRITERS</c>.
/// </summary>
public static class Program
{
    /// <summary>The registry the writer and the test that checks its journal share.</summary>
    public static EventManifestRegistry Registry() => new EventManifestRegistry().Register("crash-test.tick.v1", CrashWriterJson.Default.Tick);

    public static async Task<int> Main(string[] args)
    {
        if (args.Length != 3 || !int.TryParse(args[2], out var writers))
        {
            await Console.Error.WriteLineAsync("usage: sqlite PATH WRITERS | postgresql CONNECTION-STRING WRITERS");
            return 2;
        }

        SqlStore store = args[0] switch
        {
            "sqlite" => await SqliteStore.OpenAsync(new SqliteSettings(args[1])),
            "postgresql" => await PostgreSqlStore.OpenAsync(new PostgreSqlSettings(args[1])),
            _ => throw new ArgumentException($"Unknown store '{args[0]}'."),
        };
        var registry = Registry();
        var journal = new SqlJournal(store, registry);
        var persistence = new PersistenceSettings { Journal = journal, SnapshotStore = new SqlSnapshotStore(store, registry) };
        var system = ActorSystem.Create("crash-writer", new ActorSystemSettings { Persistence = persistence });
        var output = Console.Out;
        for (var w = 0; w < writers; w++)
        {
            var id = $"crash-{w}";
            system.ActorOf(Props.Create(() => new Ticker(id, output)), id);
        }

        // Runs until killed: the crash test ends it with SIGKILL.
        await system.WhenTerminated;
        return 0;
    }
}
