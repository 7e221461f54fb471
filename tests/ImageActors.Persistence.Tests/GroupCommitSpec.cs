using System.Collections.Immutable;
using Akka.Actor;
using Akka.Configuration;
using Akka.Persistence;
using ImageActors.Persistence.Tests.PostgreSql;
using Xunit.Abstractions;

namespace ImageActors.Persistence.Tests;

/// <summary>
/// Group commit under load, with a small batch cap and queue so that writes wait for room and batches are split:
/// every write commits, and a write whose sequence number is taken fails alone while the writes that were queued
/// with it are stored. On SQLite and on PostgreSQL, whose batches take a cheaper insert that a taken number fails
/// as a whole.
/// </summary>
public abstract class GroupCommitSpec(Config config, ITestOutputHelper output)
    : JournalSpec(ConfigurationFactory.ParseString("akka.persistence.journal.imageactors-sql { max-batch-events = 10, queue-capacity = 8 }").WithFallback(config), output)
{
    [Fact]
    public void Writes_beyond_the_batch_cap_and_the_queue_capacity_wait_for_room_and_all_commit()
    {
        var writers = Enumerable.Range(0, 60).Select(_ => (Id: NewId(), Probe: CreateTestProbe())).ToList();
        foreach (var (id, probe) in writers)
        {
            var atomic = new AtomicWrite(ImmutableList.CreateRange<IPersistentRepresentation>([Event(id, 1), Event(id, 2), Event(id, 3)]));
            Journal.Tell(new WriteMessages([atomic], probe.Ref, 1));
        }

        foreach (var (id, probe) in writers)
        {
            probe.ExpectMsg<WriteMessagesSuccessful>(Deadline);
            Assert.Equal(3, Replay(id, 1, long.MaxValue, long.MaxValue, out _).Count);
        }
    }

    [Fact]
    public void A_write_whose_sequence_number_is_taken_fails_alone_among_writes_queued_with_it()
    {
        var taken = NewId();
        Write(taken, 1, 1);
        var stale = CreateTestProbe();
        var others = Enumerable.Range(0, 40).Select(_ => (Id: NewId(), Probe: CreateTestProbe())).ToList();
        foreach (var (id, probe) in others.Take(20))
        {
            Journal.Tell(new WriteMessages([new AtomicWrite(Event(id, 1))], probe.Ref, 1));
        }

        Journal.Tell(new WriteMessages([new AtomicWrite(new Persistent("stale", 1, taken))], stale.Ref, 2));
        foreach (var (id, probe) in others.Skip(20))
        {
            Journal.Tell(new WriteMessages([new AtomicWrite(Event(id, 1))], probe.Ref, 1));
        }

        stale.ExpectMsg<WriteMessagesFailed>(Deadline);
        foreach (var (id, probe) in others)
        {
            probe.ExpectMsg<WriteMessagesSuccessful>(Deadline);
            Assert.Equal([1L], Replay(id, 1, long.MaxValue, long.MaxValue, out _).Select(p => p.SequenceNr));
        }

        Assert.Equal(["e-1"], Replay(taken, 1, long.MaxValue, long.MaxValue, out _).Select(p => p.Payload));
    }

}

public sealed class GroupCommitOnSqliteSpec : GroupCommitSpec
{
    private readonly TempDirectory _directory;

    public GroupCommitOnSqliteSpec(ITestOutputHelper output)
        : this(new TempDirectory(), output)
    {
    }

    private GroupCommitOnSqliteSpec(TempDirectory directory, ITestOutputHelper output)
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
public sealed class GroupCommitOnPostgreSqlSpec(PostgreSqlServer server, ITestOutputHelper output)
    : GroupCommitSpec(TestConfig.PostgreSql(server, stock: false), output);
