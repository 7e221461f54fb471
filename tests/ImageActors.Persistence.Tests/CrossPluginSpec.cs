using Akka.Actor;
using Akka.Configuration;
using Akka.Persistence;
using Akka.Persistence.Journal;
using Akka.Persistence.Query;
using Akka.Persistence.Sql.Query;
using Akka.Streams;
using Akka.Streams.Dsl;
using ImageActors.Persistence.Tests.PostgreSql;
using Xunit.Abstractions;

namespace ImageActors.Persistence.Tests;

/// <summary>
/// Rows written by the group-commit journal are read by the stock plugin and by
/// <c>SqlReadJournal</c>, and the other way round: both plugins run in one system on one database.
/// </summary>
public abstract class CrossPluginSpec : JournalSpec
{
    private const string Ours = SqlPersistenceConfig.JournalPluginId;
    private const string Stock = SqlPersistenceConfig.StockJournalPluginId;

    protected CrossPluginSpec(Config config, ITestOutputHelper output)
        : base(config, output)
    {
    }

    [Theory]
    [InlineData(Ours, Stock)]
    [InlineData(Stock, Ours)]
    public void Events_written_by_one_plugin_are_recovered_by_the_other_which_continues_the_sequence(string writer, string reader)
    {
        var pid = NewId();
        Write(pid, 1, 3, writer);
        var replayed = Replay(pid, 1, long.MaxValue, long.MaxValue, out var highest, reader);
        Assert.Equal(["e-1", "e-2", "e-3"], replayed.Select(p => p.Payload));
        Assert.Equal(3, highest);
        Assert.All(replayed, p => Assert.False(string.IsNullOrEmpty(p.WriterGuid)));

        Write(pid, 4, 5, reader);
        Assert.Equal([1, 2, 3, 4, 5], Replay(pid, 1, long.MaxValue, long.MaxValue, out _, writer).Select(p => p.SequenceNr));
    }

    [Theory]
    [InlineData(Ours, Stock)]
    [InlineData(Stock, Ours)]
    public void Deletes_by_one_plugin_are_honoured_by_the_other(string writer, string reader)
    {
        var pid = NewId();
        Write(pid, 1, 4, writer);
        var probe = CreateTestProbe();
        Akka.Persistence.Persistence.Instance.Apply(Sys).JournalFor(writer).Tell(new DeleteMessagesTo(pid, 4, probe.Ref));
        probe.ExpectMsg<DeleteMessagesSuccess>(Deadline);
        Assert.Empty(Replay(pid, 1, long.MaxValue, long.MaxValue, out var highest, reader));
        Assert.Equal(4, highest);
    }

    [Theory]
    [InlineData(Ours)]
    [InlineData(Stock)]
    public async Task The_read_journal_queries_the_rows_of_either_plugin(string writer)
    {
        var tag = $"tag-{Guid.NewGuid():N}";
        var pid = NewId();
        var other = NewId();
        WriteTagged(writer, pid, 1, tag, "a");
        WriteTagged(writer, other, 1, "unrelated", "b");
        WriteTagged(writer, pid, 2, tag, "c");

        var queries = PersistenceQuery.Get(Sys).ReadJournalFor<SqlReadJournal>(SqlPersistenceConfig.QueryPluginId);
        var materializer = Sys.Materializer();

        var byTag = await queries.CurrentEventsByTag(tag, Offset.NoOffset()).RunWith(Sink.Seq<EventEnvelope>(), materializer).WaitAsync(Deadline);
        Assert.Equal(["a", "c"], byTag.Select(e => e.Event));
        Assert.All(byTag, e => Assert.Equal(pid, e.PersistenceId));

        var byId = await queries.CurrentEventsByPersistenceId(pid, 0, long.MaxValue).RunWith(Sink.Seq<EventEnvelope>(), materializer).WaitAsync(Deadline);
        Assert.Equal([1L, 2L], byId.Select(e => e.SequenceNr));

        var all = await queries.CurrentAllEvents(Offset.NoOffset()).RunWith(Sink.Seq<EventEnvelope>(), materializer).WaitAsync(Deadline);
        Assert.Equal(["a", "b", "c"], all.Where(e => e.PersistenceId == pid || e.PersistenceId == other).Select(e => e.Event));

        var ids = await queries.CurrentPersistenceIds().RunWith(Sink.Seq<string>(), materializer).WaitAsync(Deadline);
        Assert.Contains(pid, ids);
        Assert.Contains(other, ids);

        // Live: the stream delivers what is there and then what is written after it started.
        var live = CreateTestProbe();
        using var kill = queries.EventsByTag(tag, Offset.NoOffset()).ViaMaterialized(KillSwitches.Single<EventEnvelope>(), Keep.Right).ToMaterialized(Sink.ForEach<EventEnvelope>(e => live.Ref.Tell(e.Event)), Keep.Left).Run(materializer).AsDisposable();
        live.ExpectMsg("a", Deadline);
        live.ExpectMsg("c", Deadline);
        WriteTagged(writer, pid, 3, tag, "d");
        live.ExpectMsg("d", Deadline);
    }

    private void WriteTagged(string journalPluginId, string pid, long seq, string tag, string payload)
    {
        var probe = CreateTestProbe();
        var journal = Akka.Persistence.Persistence.Instance.Apply(Sys).JournalFor(journalPluginId);
        journal.Tell(new WriteMessages([new AtomicWrite(new Persistent(new Tagged(payload, [tag]), seq, pid))], probe.Ref, 1));
        probe.ExpectMsg<WriteMessagesSuccessful>(Deadline);
        probe.ExpectMsg<WriteMessageSuccess>(Deadline);
    }
}

public sealed class CrossPluginOnSqliteSpec : CrossPluginSpec
{
    private readonly TempDirectory _directory;

    public CrossPluginOnSqliteSpec(ITestOutputHelper output)
        : this(new TempDirectory(), output)
    {
    }

    private CrossPluginOnSqliteSpec(TempDirectory directory, ITestOutputHelper output)
        : base(TestConfig.Sqlite(directory, stock: false), output)
    {
        _directory = directory;
    }

    protected override void AfterAll()
    {
        base.AfterAll();
        _directory.Dispose();
    }
}

[Collection(PostgreSqlCollection.Name)]
public sealed class CrossPluginOnPostgreSqlSpec(PostgreSqlServer server, ITestOutputHelper output) : CrossPluginSpec(TestConfig.PostgreSql(server, stock: false), output);

internal static class KillSwitchExtensions
{
    public static IDisposable AsDisposable(this UniqueKillSwitch killSwitch) => new Stopper(killSwitch);

    private sealed class Stopper(UniqueKillSwitch killSwitch) : IDisposable
    {
        public void Dispose() => killSwitch.Shutdown();
    }
}
