using System.Collections.Immutable;
using Akka.Actor;
using Akka.Configuration;
using Akka.Persistence;
using Xunit.Abstractions;

namespace ImageActors.Persistence.Tests;

/// <summary>
/// What every journal plugin must do, checked through the journal's own protocol with probes
/// standing in for persistent actors. Subclasses only supply the configuration (plugin × database).
/// </summary>
public abstract class JournalSpec : Akka.TestKit.Xunit2.TestKit
{
    protected static readonly TimeSpan Deadline = TimeSpan.FromSeconds(20);
    private int _instances;

    protected JournalSpec(Config config, ITestOutputHelper output)
        : base(config, "journal-spec", output)
    {
    }

    protected IActorRef Journal => Akka.Persistence.Persistence.Instance.Apply(Sys).JournalFor(null);

    [Fact]
    public void Written_events_are_replayed_in_sequence_order()
    {
        var pid = NewId();
        Write(pid, 1, 5);
        var replayed = Replay(pid, 1, long.MaxValue, long.MaxValue, out var highest);
        Assert.Equal([1, 2, 3, 4, 5], replayed.Select(p => p.SequenceNr));
        Assert.Equal(["e-1", "e-2", "e-3", "e-4", "e-5"], replayed.Select(p => p.Payload));
        Assert.All(replayed, p => Assert.Equal(pid, p.PersistenceId));
        Assert.Equal(5, highest);
    }

    [Fact]
    public void Replay_honours_from_to_and_max()
    {
        var pid = NewId();
        Write(pid, 1, 5);
        Assert.Equal([2, 3, 4], Replay(pid, 2, 4, long.MaxValue, out _).Select(p => p.SequenceNr));
        Assert.Equal([1, 2], Replay(pid, 1, 5, 2, out _).Select(p => p.SequenceNr));
        Assert.Empty(Replay(pid, 6, long.MaxValue, long.MaxValue, out _));
        Assert.Empty(Replay(pid, 1, 5, 0, out _));
    }

    [Fact]
    public void Replay_of_an_unknown_id_is_empty_with_highest_sequence_number_zero()
    {
        Assert.Empty(Replay(NewId(), 1, long.MaxValue, long.MaxValue, out var highest));
        Assert.Equal(0, highest);
    }

    [Fact]
    public void An_atomic_write_of_several_events_is_stored_whole()
    {
        var pid = NewId();
        var probe = CreateTestProbe();
        var instance = Interlocked.Increment(ref _instances);
        var atomic = new AtomicWrite(ImmutableList.CreateRange<IPersistentRepresentation>([Event(pid, 1), Event(pid, 2), Event(pid, 3)]));
        Journal.Tell(new WriteMessages([atomic], probe.Ref, instance));
        probe.ExpectMsg<WriteMessagesSuccessful>(Deadline);
        for (var i = 1; i <= 3; i++)
        {
            Assert.Equal(i, probe.ExpectMsg<WriteMessageSuccess>(Deadline).Persistent.SequenceNr);
        }

        Assert.Equal([1, 2, 3], Replay(pid, 1, long.MaxValue, long.MaxValue, out _).Select(p => p.SequenceNr));
    }

    [Fact]
    public void A_payload_that_cannot_be_serialized_rejects_its_write_and_the_others_are_stored()
    {
        var pid = NewId();
        var probe = CreateTestProbe();
        var instance = Interlocked.Increment(ref _instances);
        IPersistentEnvelope[] writes =
        [
            new AtomicWrite(Event(pid, 1)),
            new AtomicWrite(new Persistent(new Unserializable("test"), 2, pid)),
            new AtomicWrite(Event(pid, 3)),
        ];
        Journal.Tell(new WriteMessages(writes, probe.Ref, instance));
        probe.ExpectMsg<WriteMessagesSuccessful>(Deadline);
        Assert.Equal(1, probe.ExpectMsg<WriteMessageSuccess>(Deadline).Persistent.SequenceNr);
        Assert.Equal(2, probe.ExpectMsg<WriteMessageRejected>(Deadline).Persistent.SequenceNr);
        Assert.Equal(3, probe.ExpectMsg<WriteMessageSuccess>(Deadline).Persistent.SequenceNr);

        Assert.Equal([1, 3], Replay(pid, 1, long.MaxValue, long.MaxValue, out _).Select(p => p.SequenceNr));
        Write(pid, 4, 4); // the journal goes on taking writes
        Assert.Equal([1, 3, 4], Replay(pid, 1, long.MaxValue, long.MaxValue, out _).Select(p => p.SequenceNr));
    }

    [Fact]
    public void Deleted_events_are_not_replayed_and_the_highest_sequence_number_stays()
    {
        var pid = NewId();
        Write(pid, 1, 5);
        Delete(pid, 3);
        Assert.Equal([4, 5], Replay(pid, 1, long.MaxValue, long.MaxValue, out var highest).Select(p => p.SequenceNr));
        Assert.Equal(5, highest);

        Delete(pid, long.MaxValue);
        Assert.Empty(Replay(pid, 1, long.MaxValue, long.MaxValue, out highest));
        Assert.Equal(5, highest);

        Write(pid, 6, 6);
        Assert.Equal([6], Replay(pid, 1, long.MaxValue, long.MaxValue, out highest).Select(p => p.SequenceNr));
        Assert.Equal(6, highest);
    }

    [Fact]
    public void Deleting_beyond_the_highest_event_deletes_all_and_keeps_the_sequence_number()
    {
        var pid = NewId();
        Write(pid, 1, 3);
        Delete(pid, 100);
        Assert.Empty(Replay(pid, 1, long.MaxValue, long.MaxValue, out var highest));
        Assert.Equal(3, highest);
    }

    [Fact]
    public void Two_writers_of_one_persistence_id_cannot_both_write_a_sequence_number()
    {
        var pid = NewId();
        var first = CreateTestProbe();
        var second = CreateTestProbe();
        IPersistentEnvelope[] Batch(string tag) => [.. Enumerable.Range(1, 3).Select(i => new AtomicWrite(new Persistent($"{tag}-{i}", i, pid)))];
        Journal.Tell(new WriteMessages(Batch("first"), first.Ref, Interlocked.Increment(ref _instances)));
        Journal.Tell(new WriteMessages(Batch("second"), second.Ref, Interlocked.Increment(ref _instances)));

        var succeeded = 0;
        foreach (var probe in new[] { first, second })
        {
            var outcome = probe.ExpectMsg<object>(m => m is WriteMessagesSuccessful or WriteMessagesFailed, Deadline);
            if (outcome is WriteMessagesSuccessful)
            {
                succeeded++;
            }
        }

        Assert.True(succeeded <= 1, "Both writers were told their events were stored.");
        var replayed = Replay(pid, 1, long.MaxValue, long.MaxValue, out var highest);
        Assert.Equal(succeeded == 1 ? [1, 2, 3] : [], replayed.Select(p => p.SequenceNr));
        Assert.Single(replayed.Select(p => ((string)p.Payload).Split('-')[0]).Distinct().DefaultIfEmpty("none"));
        Assert.Equal(replayed.Count, (int)highest);
    }

    [Fact]
    public void A_writer_that_follows_a_failed_one_continues_the_sequence()
    {
        var pid = NewId();
        Write(pid, 1, 2);
        var probe = CreateTestProbe();
        Journal.Tell(new WriteMessages([new AtomicWrite(Event(pid, 2))], probe.Ref, Interlocked.Increment(ref _instances)));
        probe.ExpectMsg<WriteMessagesFailed>(Deadline);
        probe.ExpectMsg<WriteMessageFailure>(Deadline);
        Write(pid, 3, 3);
        Assert.Equal([1, 2, 3], Replay(pid, 1, long.MaxValue, long.MaxValue, out _).Select(p => p.SequenceNr));
    }

    [Fact]
    public void A_looped_message_is_answered_in_its_place_among_the_events_of_its_request()
    {
        var pid = NewId();
        var probe = CreateTestProbe();
        var instance = Interlocked.Increment(ref _instances);
        IPersistentEnvelope[] messages = [new AtomicWrite(Event(pid, 1)), new Looped("deferred", probe.Ref), new AtomicWrite(Event(pid, 2))];
        Journal.Tell(new WriteMessages(messages, probe.Ref, instance));
        probe.ExpectMsg<WriteMessagesSuccessful>(Deadline);
        Assert.Equal(1, probe.ExpectMsg<WriteMessageSuccess>(Deadline).Persistent.SequenceNr);
        var looped = probe.ExpectMsg<LoopMessageSuccess>(Deadline);
        Assert.Equal("deferred", looped.Message);
        Assert.Equal(instance, looped.ActorInstanceId);
        Assert.Equal(2, probe.ExpectMsg<WriteMessageSuccess>(Deadline).Persistent.SequenceNr);
    }

    [Fact]
    public void Requests_sent_one_after_another_by_one_actor_are_answered_in_the_order_they_were_sent()
    {
        var pid = NewId();
        var probe = CreateTestProbe();
        var instance = Interlocked.Increment(ref _instances);
        var first = new AtomicWrite(ImmutableList.CreateRange<IPersistentRepresentation>([Event(pid, 1), Event(pid, 2), Event(pid, 3)]));
        Journal.Tell(new WriteMessages([first], probe.Ref, instance));
        Journal.Tell(new WriteMessages([new Looped("between", probe.Ref), new AtomicWrite(Event(pid, 4))], probe.Ref, instance));
        Journal.Tell(new WriteMessages([new AtomicWrite(Event(pid, 5))], probe.Ref, instance));

        probe.ExpectMsg<WriteMessagesSuccessful>(Deadline);
        Assert.Equal([1L, 2L, 3L], Enumerable.Range(0, 3).Select(_ => probe.ExpectMsg<WriteMessageSuccess>(Deadline).Persistent.SequenceNr));
        probe.ExpectMsg<WriteMessagesSuccessful>(Deadline);
        Assert.Equal("between", probe.ExpectMsg<LoopMessageSuccess>(Deadline).Message);
        Assert.Equal(4, probe.ExpectMsg<WriteMessageSuccess>(Deadline).Persistent.SequenceNr);
        probe.ExpectMsg<WriteMessagesSuccessful>(Deadline);
        Assert.Equal(5, probe.ExpectMsg<WriteMessageSuccess>(Deadline).Persistent.SequenceNr);
    }

    protected static string NewId() => $"p-{Guid.NewGuid():N}";

    protected static Persistent Event(string pid, long seq) => new($"e-{seq}", seq, pid);

    /// <summary>Writes events <paramref name="from"/>..<paramref name="to"/>, one atomic write each, and waits for the acknowledgements.</summary>
    protected void Write(string pid, long from, long to, string? journalPluginId = null)
    {
        var journal = Akka.Persistence.Persistence.Instance.Apply(Sys).JournalFor(journalPluginId);
        var probe = CreateTestProbe();
        var writes = new List<IPersistentEnvelope>();
        for (var seq = from; seq <= to; seq++)
        {
            writes.Add(new AtomicWrite(Event(pid, seq)));
        }

        journal.Tell(new WriteMessages(writes, probe.Ref, Interlocked.Increment(ref _instances)));
        probe.ExpectMsg<WriteMessagesSuccessful>(Deadline);
        for (var seq = from; seq <= to; seq++)
        {
            Assert.Equal(seq, probe.ExpectMsg<WriteMessageSuccess>(Deadline).Persistent.SequenceNr);
        }
    }

    protected IReadOnlyList<IPersistentRepresentation> Replay(string pid, long from, long to, long max, out long highest, string? journalPluginId = null)
    {
        var journal = Akka.Persistence.Persistence.Instance.Apply(Sys).JournalFor(journalPluginId);
        var probe = CreateTestProbe();
        journal.Tell(new ReplayMessages(from, to, max, pid, probe.Ref));
        var replayed = new List<IPersistentRepresentation>();
        while (true)
        {
            switch (probe.ExpectMsg<object>(Deadline))
            {
                case ReplayedMessage m:
                    replayed.Add(m.Persistent);
                    break;
                case RecoverySuccess s:
                    highest = s.HighestSequenceNr;
                    return replayed;
                case var other:
                    throw new InvalidOperationException($"Unexpected reply to a replay: {other}");
            }
        }
    }

    protected void Delete(string pid, long to)
    {
        var probe = CreateTestProbe();
        Journal.Tell(new DeleteMessagesTo(pid, to, probe.Ref));
        probe.ExpectMsg<DeleteMessagesSuccess>(Deadline);
    }

    /// <summary>A message a persistent actor defers: not written, answered in its place (as Akka's own non-persistent envelope).</summary>
    private sealed class Looped(object payload, IActorRef sender) : IPersistentEnvelope
    {
        public object Payload { get; } = payload;

        public IActorRef Sender { get; } = sender;

        public int Size => 1;
    }
}
