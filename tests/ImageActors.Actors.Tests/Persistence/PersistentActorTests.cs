using ImageActors.Actors.Persistence;

namespace ImageActors.Actors.Tests.Persistence;

/// <summary>A journal that fails or rejects on demand, around a real in-memory journal.</summary>
internal sealed class FaultyJournal : IJournal
{
    private readonly InMemoryJournal _inner = new();

    public Func<AtomicWrite, Exception?>? FailWrite { get; set; }

    public TaskCompletionSource? HoldWrites { get; set; }

    public TaskCompletionSource? HoldReplays { get; set; }

    public int Replays;

    public int Writes;

    public async ValueTask WriteAsync(AtomicWrite write, CancellationToken cancellationToken = default)
    {
        Interlocked.Increment(ref Writes);
        if (HoldWrites is { } hold)
        {
            await hold.Task.ConfigureAwait(false);
        }

        if (FailWrite?.Invoke(write) is { } error)
        {
            throw error;
        }

        await _inner.WriteAsync(write, cancellationToken).ConfigureAwait(false);
    }

    public async IAsyncEnumerable<PersistentRepresentation> ReplayAsync(
        string persistenceId, long fromSequenceNr, long toSequenceNr, long max,
        [System.Runtime.CompilerServices.EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        Interlocked.Increment(ref Replays);
        if (HoldReplays is { } hold)
        {
            await hold.Task.ConfigureAwait(false);
        }

        await foreach (var e in _inner.ReplayAsync(persistenceId, fromSequenceNr, toSequenceNr, max, cancellationToken).ConfigureAwait(false))
        {
            yield return e;
        }
    }

    public ValueTask<long> ReadHighestSequenceNrAsync(string persistenceId, long fromSequenceNr = 0, CancellationToken cancellationToken = default) =>
        _inner.ReadHighestSequenceNrAsync(persistenceId, fromSequenceNr, cancellationToken);

    public ValueTask DeleteMessagesToAsync(string persistenceId, long toSequenceNr, CancellationToken cancellationToken = default) =>
        _inner.DeleteMessagesToAsync(persistenceId, toSequenceNr, cancellationToken);
}

/// <summary>A list of strings built from Added events; replies Ack after each persist.</summary>
internal sealed class ListActor : PersistentActor
{
    private readonly List<string> _items = [];
    private readonly string _id;

    public sealed record Add(string Item);

    public sealed record AddMany(string[] Items);

    public sealed record AddAsync(string Item);

    public sealed record AddThenThrow(string Item);

    public sealed record Added(string Item);

    public sealed record Snap;

    public sealed record Forget(long To);

    private readonly bool _tellFailures;

    public ListActor(string id, IActorRef? probe = null, bool tellFailures = false)
    {
        _id = id;
        _tellFailures = tellFailures;
        Recover<Added>(e => _items.Add(e.Item));
        Recover<SnapshotOffer>(o => _items.AddRange((string[])o.Snapshot));
        Recover<RecoveryCompleted>(_ => probe?.Tell("recovered:" + string.Join(",", _items)));
        Command<Add>(c => Persist(new Added(c.Item), e =>
        {
            _items.Add(e.Item);
            Sender.Tell("ack:" + e.Item);
        }));
        Command<AddMany>(c => PersistAll(c.Items.Select(i => new Added(i)), e =>
        {
            _items.Add(e.Item);
            Sender.Tell("ack:" + e.Item);
        }));
        Command<AddAsync>(c => PersistAsync(new Added(c.Item), e =>
        {
            _items.Add(e.Item);
            Sender.Tell("ack:" + e.Item);
        }));
        Command<AddThenThrow>(c =>
        {
            Persist(new Added(c.Item), e => _items.Add(e.Item));
            throw new InvalidOperationException("crash between persist calls");
        });
        Command<Snap>(_ => SaveSnapshot(_items.ToArray()));
        Command<SaveSnapshotSuccess>(s => probe?.Tell(s));
        Command<Forget>(f => DeleteMessages(f.To));
        Command<DeleteMessagesSuccess>(s => probe?.Tell(s));
        Command<string>(s => s == "get", _ => Sender.Tell(string.Join(",", _items)));
        Command<string>(s => s == "seq", _ => Sender.Tell(LastSequenceNr));
        Command<string>(s => Sender.Tell("cmd:" + s + ":" + string.Join(",", _items)));
    }

    public override string PersistenceId => _id;

    protected override void OnPersistRejected(Exception cause, object @event, long sequenceNr)
    {
        base.OnPersistRejected(cause, @event, sequenceNr);
        Sender.Tell("rejected:" + ((Added)@event).Item);
    }

    protected override void OnPersistFailure(Exception cause, object @event, long sequenceNr)
    {
        base.OnPersistFailure(cause, @event, sequenceNr);
        if (_tellFailures)
        {
            Sender.Tell("failed:" + ((Added)@event).Item);
        }
    }
}

public sealed class PersistentActorTests : ActorTest
{
    private readonly FaultyJournal _journal;

    public PersistentActorTests() : this(new FaultyJournal()) { }

    private PersistentActorTests(FaultyJournal journal)
        : base(settings: new ActorSystemSettings { Persistence = new PersistenceSettings { Journal = journal, MaxConcurrentRecoveries = 2 } }) => _journal = journal;

    private IActorRef Start(string id, IActorRef? probe = null, string? name = null) =>
        System.ActorOf(Props.Create(() => new ListActor(id, probe)), name);

    private async Task StopAsync(IActorRef actor) => Assert.True(await actor.GracefulStop(Timeout));

    [Fact]
    public async Task A_restarted_persistent_actor_recovers_its_state_from_the_journal()
    {
        var actor = Start("list-1");
        Assert.Equal("ack:a", await actor.Ask<string>(new ListActor.Add("a"), Timeout));
        Assert.Equal("ack:b", await actor.Ask<string>(new ListActor.Add("b"), Timeout));
        await StopAsync(actor);

        var probe = CreateProbe();
        var again = Start("list-1", probe);
        Assert.Equal("recovered:a,b", await probe.ExpectMsgAsync<string>());
        Assert.Equal("a,b", await again.Ask<string>("get", Timeout));
        Assert.Equal(2L, await again.Ask<long>("seq", Timeout));
    }

    [Fact]
    public async Task A_persistent_actor_that_throws_between_Persist_calls_recovers_exactly_the_acknowledged_events()
    {
        var probe = CreateProbe();
        var actor = Start("list-2", probe);
        await probe.ExpectMsgAsync<string>();
        Assert.Equal("ack:a", await actor.Ask<string>(new ListActor.Add("a"), Timeout));
        actor.Tell(new ListActor.AddThenThrow("never"));
        // The default supervisor restarts it; the new incarnation replays the journal.
        Assert.Equal("recovered:a", await probe.ExpectMsgAsync<string>());
        Assert.Equal("ack:b", await actor.Ask<string>(new ListActor.Add("b"), Timeout));
        Assert.Equal("a,b", await actor.Ask<string>("get", Timeout));
    }

    [Fact]
    public async Task Messages_sent_during_recovery_are_handled_after_it_in_order()
    {
        var first = Start("list-3");
        for (var i = 0; i < 50; i++)
        {
            first.Tell(new ListActor.Add(i.ToString(global::System.Globalization.CultureInfo.InvariantCulture)));
        }

        await first.Ask<string>("get", Timeout);
        await StopAsync(first);

        var probe = CreateProbe();
        var actor = Start("list-3", probe);
        for (var i = 0; i < 5; i++)
        {
            actor.Tell("c" + i, probe);
        }

        var recovered = await probe.ExpectMsgAsync<string>();
        Assert.StartsWith("recovered:0,1,2", recovered, StringComparison.Ordinal);
        for (var i = 0; i < 5; i++)
        {
            var reply = await probe.ExpectMsgAsync<string>();
            Assert.StartsWith("cmd:c" + i + ":0,1,2", reply, StringComparison.Ordinal);
            Assert.EndsWith(",49", reply, StringComparison.Ordinal);
        }
    }

    [Fact]
    public async Task Commands_sent_while_a_persist_is_in_flight_wait_for_its_handler()
    {
        var probe = CreateProbe();
        var actor = Start("list-4", probe);
        await probe.ExpectMsgAsync<string>();
        _journal.HoldWrites = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        actor.Tell(new ListActor.Add("a"), probe);
        actor.Tell("after", probe);
        await probe.ExpectNoMsgAsync(TimeSpan.FromMilliseconds(100));
        _journal.HoldWrites.SetResult();
        Assert.Equal("ack:a", await probe.ExpectMsgAsync<string>());
        Assert.Equal("cmd:after:a", await probe.ExpectMsgAsync<string>());
    }

    [Fact]
    public async Task PersistAsync_does_not_hold_back_later_commands()
    {
        var probe = CreateProbe();
        var actor = Start("list-5", probe);
        await probe.ExpectMsgAsync<string>();
        _journal.HoldWrites = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        actor.Tell(new ListActor.AddAsync("a"), probe);
        actor.Tell("after", probe);
        Assert.Equal("cmd:after:", await probe.ExpectMsgAsync<string>());
        _journal.HoldWrites.SetResult();
        Assert.Equal("ack:a", await probe.ExpectMsgAsync<string>());
        Assert.Equal("a", await actor.Ask<string>("get", Timeout));
    }

    [Fact]
    public async Task PersistAll_is_one_atomic_write()
    {
        var probe = CreateProbe();
        var actor = Start("list-6", probe);
        await probe.ExpectMsgAsync<string>();
        var before = _journal.Writes;
        actor.Tell(new ListActor.AddMany(["x", "y", "z"]), probe);
        Assert.Equal("ack:x", await probe.ExpectMsgAsync<string>());
        Assert.Equal("ack:y", await probe.ExpectMsgAsync<string>());
        Assert.Equal("ack:z", await probe.ExpectMsgAsync<string>());
        Assert.Equal(before + 1, _journal.Writes);

        // A failing atomic write stores none of its events.
        _journal.FailWrite = w => w.Events.Count > 1 ? new IOException("disk gone") : null;
        probe.Watch(actor);
        actor.Tell(new ListActor.AddMany(["p", "q"]), probe);
        await probe.ExpectTerminatedAsync(actor);
        _journal.FailWrite = null;
        var again = Start("list-6", probe);
        Assert.Equal("recovered:x,y,z", await probe.FishForMessageAsync(m => m is string s && s.StartsWith("recovered", StringComparison.Ordinal)));
        Assert.Equal(3L, await again.Ask<long>("seq", Timeout));
    }

    [Fact]
    public async Task The_sender_of_a_command_whose_write_failed_can_be_told_before_the_actor_stops()
    {
        var probe = CreateProbe();
        var actor = System.ActorOf(Props.Create(() => new ListActor("list-told", probe, true)));
        await probe.ExpectMsgAsync<string>();
        probe.Watch(actor);
        _journal.FailWrite = _ => new IOException("database or disk is full");
        var asker = CreateProbe();

        actor.Tell(new ListActor.Add("lost"), asker);

        Assert.Equal("failed:lost", await asker.ExpectMsgAsync<string>());
        await probe.ExpectTerminatedAsync(actor);
    }

    [Fact]
    public async Task A_rejected_event_does_not_stop_the_actor()
    {
        var probe = CreateProbe();
        var actor = Start("list-7", probe);
        await probe.ExpectMsgAsync<string>();
        _journal.FailWrite = w => ((ListActor.Added)w.Events[0].Payload).Item == "bad" ? new EventRejectedException("not serializable") : null;
        actor.Tell(new ListActor.Add("bad"), probe);
        Assert.Equal("rejected:bad", await probe.ExpectMsgAsync<string>());
        Assert.Equal("ack:good", await actor.Ask<string>(new ListActor.Add("good"), Timeout));
        Assert.Equal("good", await actor.Ask<string>("get", Timeout));
        Assert.Equal(1L, await actor.Ask<long>("seq", Timeout));
    }

    [Fact]
    public async Task A_failed_write_stops_the_actor()
    {
        var probe = CreateProbe();
        var actor = Start("list-8", probe);
        await probe.ExpectMsgAsync<string>();
        probe.Watch(actor);
        _journal.FailWrite = _ => new IOException("disk gone");
        actor.Tell(new ListActor.Add("a"), probe);
        await probe.ExpectTerminatedAsync(actor);
    }

    [Fact]
    public async Task A_concurrency_conflict_is_a_failure_that_stops_the_actor()
    {
        var probe = CreateProbe();
        var actor = Start("list-9", probe);
        await probe.ExpectMsgAsync<string>();
        probe.Watch(actor);
        _journal.FailWrite = w => new ConcurrencyException(w.PersistenceId, w.LowestSequenceNr);
        actor.Tell(new ListActor.Add("a"), probe);
        await probe.ExpectTerminatedAsync(actor);
    }

    [Fact]
    public async Task Recovery_starts_from_the_latest_snapshot_and_replays_later_events()
    {
        var probe = CreateProbe();
        var actor = Start("list-10", probe);
        await probe.ExpectMsgAsync<string>();
        await actor.Ask<string>(new ListActor.Add("a"), Timeout);
        await actor.Ask<string>(new ListActor.Add("b"), Timeout);
        actor.Tell(new ListActor.Snap());
        var saved = await probe.ExpectMsgAsync<SaveSnapshotSuccess>();
        Assert.Equal(2, saved.Metadata.SequenceNr);
        await actor.Ask<string>(new ListActor.Add("c"), Timeout);
        actor.Tell(new ListActor.Forget(2));
        await probe.ExpectMsgAsync<DeleteMessagesSuccess>();
        await StopAsync(actor);

        var again = Start("list-10", probe);
        Assert.Equal("recovered:a,b,c", await probe.ExpectMsgAsync<string>());
        Assert.Equal(3L, await again.Ask<long>("seq", Timeout));
        Assert.Equal("ack:d", await again.Ask<string>(new ListActor.Add("d"), Timeout));
    }

    [Fact]
    public async Task Deleted_events_are_not_replayed_but_sequence_numbers_go_on()
    {
        var probe = CreateProbe();
        var actor = Start("list-11", probe);
        await probe.ExpectMsgAsync<string>();
        await actor.Ask<string>(new ListActor.Add("a"), Timeout);
        await actor.Ask<string>(new ListActor.Add("b"), Timeout);
        actor.Tell(new ListActor.Forget(2));
        await probe.ExpectMsgAsync<DeleteMessagesSuccess>();
        await StopAsync(actor);
        var again = Start("list-11", probe);
        Assert.Equal("recovered:", await probe.ExpectMsgAsync<string>());
        Assert.Equal(2L, await again.Ask<long>("seq", Timeout));
        Assert.Equal("ack:c", await again.Ask<string>(new ListActor.Add("c"), Timeout));
    }

    [Fact]
    public async Task No_more_than_the_configured_number_of_actors_recover_at_once()
    {
        var probe = CreateProbe();
        _journal.HoldReplays = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        for (var i = 0; i < 5; i++)
        {
            Start("limited-" + i, probe);
        }

        await probe.ExpectNoMsgAsync(TimeSpan.FromMilliseconds(200));
        Assert.Equal(2, System.Persistence.RecoveriesInProgress);
        Assert.Equal(2, Volatile.Read(ref _journal.Replays));
        _journal.HoldReplays.SetResult();
        for (var i = 0; i < 5; i++)
        {
            Assert.Equal("recovered:", await probe.ExpectMsgAsync<string>());
        }

        Assert.Equal(0, System.Persistence.RecoveriesInProgress);
    }

    [Fact]
    public async Task Deleted_snapshots_are_not_offered_on_recovery()
    {
        var probe = CreateProbe();
        var actor = System.ActorOf(Props.Create(() => new SnapshotDeleter("snap-1", probe)));
        await probe.ExpectMsgAsync<string>();
        await actor.Ask<string>(new ListActor.Add("a"), Timeout);
        actor.Tell(new ListActor.Snap());
        await probe.ExpectMsgAsync<SaveSnapshotSuccess>();
        actor.Tell("drop-snapshots");
        await probe.ExpectMsgAsync<DeleteSnapshotsSuccess>();
        await StopAsync(actor);
        System.ActorOf(Props.Create(() => new SnapshotDeleter("snap-1", probe)));
        Assert.Equal("recovered without snapshot: a", await probe.ExpectMsgAsync<string>());
    }

    private sealed class SnapshotDeleter : PersistentActor
    {
        private readonly string _id;
        private readonly List<string> _items = [];
        private bool _fromSnapshot;

        public SnapshotDeleter(string id, IActorRef probe)
        {
            _id = id;
            Recover<SnapshotOffer>(o =>
            {
                _fromSnapshot = true;
                _items.AddRange((string[])o.Snapshot);
            });
            Recover<ListActor.Added>(e => _items.Add(e.Item));
            Recover<RecoveryCompleted>(_ => probe.Tell($"recovered {(_fromSnapshot ? "from snapshot" : "without snapshot")}: {string.Join(",", _items)}"));
            Command<ListActor.Add>(c => Persist(new ListActor.Added(c.Item), e =>
            {
                _items.Add(e.Item);
                Sender.Tell("ack");
            }));
            Command<ListActor.Snap>(_ => SaveSnapshot(_items.ToArray()));
            Command<string>(_ => DeleteSnapshots(SnapshotSelectionCriteria.Latest));
            CommandAny(m => probe.Tell(m));
        }

        public override string PersistenceId => _id;
    }

    [Fact]
    public async Task CommandAsync_and_DeferAsync_run_in_order_with_persisted_handlers()
    {
        var probe = CreateProbe();
        var actor = System.ActorOf(Props.Create(() => new Sequencer("seq-1", probe)));
        actor.Tell("go");
        actor.Tell("next");
        Assert.Equal("async command done", await probe.ExpectMsgAsync<string>());
        Assert.Equal("persisted e1", await probe.ExpectMsgAsync<string>());
        Assert.Equal("deferred", await probe.ExpectMsgAsync<string>());
        Assert.Equal("next", await probe.ExpectMsgAsync<string>());
    }

    private sealed class Sequencer : PersistentActor
    {
        private readonly string _id;

        public Sequencer(string id, IActorRef probe)
        {
            _id = id;
            CommandAsync<string>(async _ =>
            {
                await Task.Yield();
                probe.Tell("async command done");
                Persist("e1", e => probe.Tell("persisted " + e));
                DeferAsync("deferred", d => probe.Tell(d));
            }, s => s == "go");
            Command<string>(s => probe.Tell(s));
        }

        public override string PersistenceId => _id;
    }
}
