using System.Globalization;
using Akka.Actor;
using Akka.Configuration;
using Akka.Persistence;

namespace ImageActors.Persistence.CrashWriter;

/// <summary>
/// A persistent actor that persists as fast as it can: each persist handler updates the count, prints
/// "persistence-id count" (the acknowledgement the kill test collects) and persists the next tick. After a
/// restart it recovers its count from the journal and carries on. A tick is the text "count filler".
/// </summary>
internal sealed class Ticker : ReceivePersistentActor
{
    private static readonly string Filler = new('x', 160);
    private readonly string _id;
    private long _count;

    public Ticker(string id)
    {
        _id = id;
        Recover<string>(tick => _count = Program.TickNumber(tick));
        Recover<RecoveryCompleted>(_ => Self.Tell(Next.Instance));
        Command<Next>(_ => Persist(string.Create(CultureInfo.InvariantCulture, $"{_count + 1} {Filler}"), tick =>
        {
            _count = Program.TickNumber(tick);
            Console.Out.WriteLine(string.Create(CultureInfo.InvariantCulture, $"{_id} {_count}"));
            Self.Tell(Next.Instance);
        }));
    }

    public override string PersistenceId => _id;

    private sealed class Next
    {
        public static readonly Next Instance = new();
    }
}

/// <summary>
/// Runs WRITERS persistent actors (ids <c>crash-0</c> …) on the group-commit journal until it is killed.
/// Usage: <c>sqlite CONNECTION-STRING WRITERS</c> or <c>postgresql CONNECTION-STRING WRITERS</c>.
/// </summary>
public static class Program
{
    /// <summary>The configuration the writer and the test that checks its journal share.</summary>
    public static Config Config(SqlProvider provider, string connectionString) =>
        ConfigurationFactory.ParseString("akka.loglevel = WARNING").WithFallback(SqlPersistenceConfig.Create(provider, connectionString));

    /// <summary>The count a tick carries.</summary>
    public static long TickNumber(string tick) => long.Parse(tick.AsSpan(0, tick.IndexOf(' ', StringComparison.Ordinal)), NumberStyles.None, CultureInfo.InvariantCulture);

    public static async Task<int> Main(string[] args)
    {
        SqlProvider? provider = args.Length == 3 ? args[0] switch { "sqlite" => SqlProvider.Sqlite, "postgresql" => SqlProvider.PostgreSql, _ => null } : null;
        if (provider is null || !int.TryParse(args[2], NumberStyles.None, CultureInfo.InvariantCulture, out var writers))
        {
            await Console.Error.WriteLineAsync("usage: sqlite|postgresql CONNECTION-STRING WRITERS");
            return 2;
        }

        var system = ActorSystem.Create("crash-writer", Config(provider.Value, args[1]));
        for (var w = 0; w < writers; w++)
        {
            var id = string.Create(CultureInfo.InvariantCulture, $"crash-{w}");
            system.ActorOf(Props.Create(() => new Ticker(id)), id);
        }

        // Runs until killed: the test ends it with SIGKILL.
        await system.WhenTerminated;
        return 0;
    }
}
