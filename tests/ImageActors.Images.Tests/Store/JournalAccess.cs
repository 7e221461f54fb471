using Akka.Actor;
using Akka.Configuration;
using Akka.Persistence;
using Akka.Persistence.Journal;
using Akka.Persistence.Query;
using Akka.Persistence.Sql.Query;
using Akka.Streams;
using Akka.Streams.Dsl;
using ImageActors.Images.Events;
using ImageActors.Images.Hosting;
using Microsoft.Data.Sqlite;

namespace ImageActors.Images.Tests.Store;

/// <summary>
/// The store's journal file opened by a second, local actor system, as another process would: it appends events a
/// killed process could have left, reads an entity's history, and makes the database refuse writes (a trigger that
/// raises SQLite's "database or disk is full"), so the journal fails for real.
/// </summary>
internal sealed class JournalAccess : IAsyncDisposable
{
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(30);
    private readonly ActorSystem _system;

    private JournalAccess(ActorSystem system) => _system = system;

    public static JournalAccess Open(string journalPath)
    {
        var settings = new ImageStoreSettings(Path.GetDirectoryName(journalPath)!, StorePersistence.Sqlite(journalPath));
        settings.Persistence.PrepareAsync(CancellationToken.None).GetAwaiter().GetResult();
        var config = ConfigurationFactory.ParseString("akka.actor.provider = local").WithFallback(StoreActorSystem.Build(settings));
        return new JournalAccess(ActorSystem.Create("journal-access", config));
    }

    public ActorSystem System => _system;

    /// <summary>Appends <paramref name="events"/> to <paramref name="persistenceId"/>'s history, tagged as the store tags them.</summary>
    public async Task AppendAsync(string persistenceId, params object[] events)
    {
        var writer = _system.ActorOf(Props.Create(() => new Appender(persistenceId)));
        await writer.Ask<Done>(new Append(events), Timeout);
        await writer.GracefulStop(Timeout);
    }

    /// <summary>The events of <paramref name="persistenceId"/>, oldest first.</summary>
    public async Task<List<object>> ReplayAsync(string persistenceId)
    {
        var queries = PersistenceQuery.Get(_system).ReadJournalFor<SqlReadJournal>(StorePersistence.QueryPluginId);
        var events = await queries.CurrentEventsByPersistenceId(persistenceId, 0, long.MaxValue).RunAggregate(new List<object>(), (list, e) => { list.Add(e.Event); return list; }, _system.Materializer());
        return events;
    }

    /// <summary>Makes every journal write fail, as a full disk does, until <see cref="AcceptWrites"/>.</summary>
    public static void RefuseWrites(string journalPath) =>
        Execute(journalPath, "CREATE TRIGGER IF NOT EXISTS refuse_writes BEFORE INSERT ON journal BEGIN SELECT RAISE(ABORT, 'database or disk is full'); END;");

    /// <summary>Lets writes through again.</summary>
    public static void AcceptWrites(string journalPath) => Execute(journalPath, "DROP TRIGGER IF EXISTS refuse_writes;");

    public async ValueTask DisposeAsync() => await _system.Terminate();

    private static void Execute(string journalPath, string sql)
    {
        using var connection = new SqliteConnection(StorePersistence.Sqlite(journalPath).ConnectionString);
        connection.Open();
        using var command = connection.CreateCommand();
        command.CommandText = sql;
        command.ExecuteNonQuery();
    }

    private sealed record Append(object[] Events) : INoSerializationVerificationNeeded;

    private sealed record Done : INoSerializationVerificationNeeded;

    private sealed class Appender : ReceivePersistentActor
    {
        public Appender(string persistenceId)
        {
            PersistenceId = persistenceId;
            Recover<object>(_ => { });
            Command<Append>(append =>
            {
                var sender = Sender;
                PersistAll(append.Events.Select(e => new Tagged(e, ImageJournal.CatalogTags)), _ => { });
                DeferAsync(append, _ => sender.Tell(new Done()));
            });
        }

        public override string PersistenceId { get; }
    }
}
