using ImageActors.Actors.Persistence;
using ImageActors.Actors.Sharding;

namespace ImageActors.Actors.Tests.Sharding;

public sealed class EntityRegionTests : ActorTest
{
    public EntityRegionTests() : base(fakeClock: true) { }

    /// <summary>A persistent counter entity that reports its incarnations to a probe.</summary>
    private sealed class Counter : PersistentActor
    {
        private readonly string _id;
        private readonly IActorRef _probe;
        private int _value;

        public sealed record Increment(string Id) : IEntityMessage
        {
            public string EntityId => Id;
        }

        public sealed record Get(string Id) : IEntityMessage
        {
            public string EntityId => Id;
        }

        public sealed record Incremented;

        public Counter(string id, IActorRef probe)
        {
            _id = id;
            _probe = probe;
            Recover<Incremented>(_ => _value++);
            Recover<RecoveryCompleted>(_ => probe.Tell($"{id} recovered {_value}"));
            Command<Increment>(_ => Persist(new Incremented(), _ =>
            {
                _value++;
                Sender.Tell(_value);
            }));
            Command<Get>(_ => Sender.Tell(_value));
        }

        public override string PersistenceId => "counter-" + _id;

        protected internal override void PostStop() => _probe.Tell($"{_id} stopped");
    }

    private IActorRef StartRegion(IActorRef probe, TimeSpan? idle) =>
        System.ActorOf(EntityRegion.Props(
            id => Props.Create(() => new Counter(id, probe)),
            EnvelopeMessageExtractor.Instance,
            new EntityRegionSettings { PassivateIdleAfter = idle, PassivationCheckInterval = TimeSpan.FromSeconds(10) }), "counters");

    [Fact]
    public async Task A_passivated_entity_comes_back_with_its_state_recovered_from_the_journal()
    {
        var probe = CreateProbe();
        var region = StartRegion(probe, TimeSpan.FromMinutes(1));
        Assert.Equal(1, await region.Ask<int>(new Counter.Increment("a"), Timeout));
        Assert.Equal(2, await region.Ask<int>(new Counter.Increment("a"), Timeout));
        Assert.Equal("a recovered 0", await probe.ExpectMsgAsync<string>());

        // Idle for longer than the passivation time (the check runs every 10 s).
        Clock!.Advance(TimeSpan.FromSeconds(70));
        Assert.Equal("a stopped", await probe.ExpectMsgAsync<string>());
        var stats = await region.Ask<EntityRegion.RegionStats>(EntityRegion.GetStats.Instance, Timeout);
        Assert.Equal(0, stats.Running + stats.Stopping);

        Assert.Equal(2, await region.Ask<int>(new Counter.Get("a"), Timeout));
        Assert.Equal("a recovered 2", await probe.ExpectMsgAsync<string>());
    }

    [Fact]
    public async Task An_active_entity_is_not_passivated()
    {
        var probe = CreateProbe();
        var region = StartRegion(probe, TimeSpan.FromMinutes(1));
        await region.Ask<int>(new Counter.Increment("a"), Timeout);
        await probe.ExpectMsgAsync<string>();
        for (var i = 0; i < 5; i++)
        {
            Clock!.Advance(TimeSpan.FromSeconds(30));
            await region.Ask<int>(new Counter.Get("a"), Timeout);
        }

        await probe.ExpectNoMsgAsync(TimeSpan.FromMilliseconds(100));
    }

    [Fact]
    public async Task Messages_that_arrive_while_an_entity_stops_go_to_its_next_incarnation_in_order()
    {
        var probe = CreateProbe();
        var region = System.ActorOf(EntityRegion.Props(
            id => Props.Create(() => new SlowStopper(probe)),
            EnvelopeMessageExtractor.Instance));
        region.Tell(new EntityEnvelope("e", "hello"), probe);
        Assert.Equal("incarnation", await probe.ExpectMsgAsync<string>());
        Assert.Equal("hello", await probe.ExpectMsgAsync<string>());

        region.Tell(new EntityEnvelope("e", "passivate"), probe);
        Assert.Equal("stopping", await probe.ExpectMsgAsync<string>());
        region.Tell(new EntityEnvelope("e", "m1"), probe);
        region.Tell(new EntityEnvelope("e", "m2"), probe);
        Assert.Equal("stopped", await probe.ExpectMsgAsync<string>());
        Assert.Equal("incarnation", await probe.ExpectMsgAsync<string>());
        Assert.Equal("m1", await probe.ExpectMsgAsync<string>());
        Assert.Equal("m2", await probe.ExpectMsgAsync<string>());
    }

    /// <summary>Asks its region to passivate it and only stops when the region tells it to.</summary>
    private sealed class SlowStopper : ReceiveActor
    {
        private readonly IActorRef _probe;

        public SlowStopper(IActorRef probe)
        {
            _probe = probe;
            probe.Tell("incarnation");
            Receive<string>(s => s == "passivate", _ =>
            {
                Context.Parent!.Tell(new Passivate("stop-now"), Self);
                probe.Tell("stopping");
            });
            Receive<string>(s => s == "stop-now", _ => Context.Stop(Self));
            Receive<string>(s => probe.Tell(s));
        }

        protected internal override void PostStop() => _probe.Tell("stopped");
    }

    [Fact]
    public async Task Ten_thousand_entities_each_see_their_own_messages_in_send_order_under_concurrent_senders()
    {
        const int entities = 10_000;
        const int senders = 4;
        const int perSenderPerEntity = 3;
        var region = System.ActorOf(EntityRegion.Props(_ => Props.Create(() => new OrderChecker()), EnvelopeMessageExtractor.Instance));
        var ids = new string[entities];
        for (var i = 0; i < entities; i++)
        {
            ids[i] = "e" + i.ToString(global::System.Globalization.CultureInfo.InvariantCulture);
        }

        var sending = new Task[senders];
        for (var s = 0; s < senders; s++)
        {
            var sender = s;
            sending[s] = Task.Run(() =>
            {
                for (var n = 0; n < perSenderPerEntity; n++)
                {
                    foreach (var id in ids)
                    {
                        region.Tell(new EntityEnvelope(id, new Numbered(sender, n)));
                    }
                }
            });
        }

        await Task.WhenAll(sending).WaitAsync(Timeout);
        var checks = new Task<OrderChecker.Report>[entities];
        for (var i = 0; i < entities; i++)
        {
            checks[i] = region.Ask<OrderChecker.Report>(new EntityEnvelope(ids[i], OrderChecker.GetReport.Instance), TimeSpan.FromSeconds(60));
        }

        var reports = await Task.WhenAll(checks);
        foreach (var report in reports)
        {
            Assert.Equal(senders * perSenderPerEntity, report.Received);
            Assert.Equal(0, report.OutOfOrder);
        }

        var stats = await region.Ask<EntityRegion.RegionStats>(EntityRegion.GetStats.Instance, Timeout);
        Assert.Equal(entities, stats.Running);
    }

    private sealed record Numbered(int Sender, int Number);

    private sealed class OrderChecker : ReceiveActor
    {
        private readonly Dictionary<int, int> _next = [];
        private int _received;
        private int _outOfOrder;

        public sealed record Report(int Received, int OutOfOrder);

        public sealed class GetReport
        {
            public static readonly GetReport Instance = new();
        }

        public OrderChecker()
        {
            Receive<Numbered>(m =>
            {
                _received++;
                var expected = _next.GetValueOrDefault(m.Sender);
                if (m.Number != expected)
                {
                    _outOfOrder++;
                }

                _next[m.Sender] = m.Number + 1;
            });
            Receive<GetReport>(_ => Sender.Tell(new Report(_received, _outOfOrder)));
        }
    }

    [Fact]
    public async Task Messages_without_an_entity_id_are_unhandled()
    {
        var probe = CreateProbe();
        System.EventStream.Subscribe(probe, typeof(UnhandledMessage));
        var region = StartRegion(probe, null);
        region.Tell("no id");
        Assert.Equal("no id", (await probe.ExpectMsgAsync<UnhandledMessage>()).Message);
    }
}
