using ImageActors.Actors.Supervision;

namespace ImageActors.Actors.Tests.Supervision;

public sealed class SupervisionTests : ActorTest
{
    /// <summary>Counts what it receives; throws on messages starting with "fail".</summary>
    private sealed class Worker : ReceiveActor
    {
        private int _handled;

        public Worker(string name, IActorRef probe)
        {
            Receive<string>(s => s.StartsWith("fail", StringComparison.Ordinal), s =>
                throw (s switch
                {
                    "fail-arg" => new ArgumentException(s),
                    "fail-state" => new InvalidOperationException(s),
                    _ => new NotSupportedException(s),
                }));
            Receive<string>(s => s == "count", _ => Sender.Tell(_handled));
            Receive<string>(s =>
            {
                _handled++;
                probe.Tell(name + ":" + s);
            });
            probe.Tell(name + " started");
        }
    }

    private sealed class Supervisor : ReceiveActor
    {
        private readonly SupervisorStrategy _strategy;

        public Supervisor(SupervisorStrategy strategy, IActorRef probe, params string[] children)
        {
            _strategy = strategy;
            foreach (var name in children)
            {
                Context.ActorOf(Props.Create(() => new Worker(name, probe)), name);
            }

            Receive<string>(s => Sender.Tell(Context.Child(s)!));
        }

        protected internal override SupervisorStrategy SupervisorStrategy() => _strategy;
    }

    private async Task<(IActorRef Supervisor, IActorRef[] Children)> StartAsync(SupervisorStrategy strategy, Actors.TestKit.TestProbe probe, params string[] names)
    {
        var supervisor = System.ActorOf(Props.Create(() => new Supervisor(strategy, probe, names)));
        var children = new IActorRef[names.Length];
        for (var i = 0; i < names.Length; i++)
        {
            children[i] = await supervisor.Ask<IActorRef>(names[i], Timeout);
        }

        for (var i = 0; i < names.Length; i++)
        {
            await probe.FishForMessageAsync(m => m is string s && s.EndsWith(" started", StringComparison.Ordinal));
        }

        return (supervisor, children);
    }

    [Fact]
    public async Task A_child_restarted_by_its_supervisor_keeps_processing_its_mailbox_in_order()
    {
        var probe = CreateProbe();
        var (_, children) = await StartAsync(new OneForOneStrategy(_ => Directive.Restart), probe, "w");
        var worker = children[0];
        worker.Tell("1");
        worker.Tell("2");
        worker.Tell("fail");
        worker.Tell("3");
        worker.Tell("4");
        Assert.Equal("w:1", await probe.ExpectMsgAsync<string>());
        Assert.Equal("w:2", await probe.ExpectMsgAsync<string>());
        Assert.Equal("w started", await probe.ExpectMsgAsync<string>());
        Assert.Equal("w:3", await probe.ExpectMsgAsync<string>());
        Assert.Equal("w:4", await probe.ExpectMsgAsync<string>());
        Assert.Equal(2, await worker.Ask<int>("count", Timeout));
    }

    [Fact]
    public async Task Resume_keeps_the_state_and_drops_the_failing_message()
    {
        var probe = CreateProbe();
        var (_, children) = await StartAsync(new OneForOneStrategy(_ => Directive.Resume), probe, "w");
        children[0].Tell("1");
        children[0].Tell("fail");
        children[0].Tell("2");
        Assert.Equal("w:1", await probe.ExpectMsgAsync<string>());
        Assert.Equal("w:2", await probe.ExpectMsgAsync<string>());
        Assert.Equal(2, await children[0].Ask<int>("count", Timeout));
    }

    [Fact]
    public async Task The_decider_maps_exception_types_to_directives()
    {
        var probe = CreateProbe();
        var decider = Decider.From(Directive.Restart, (typeof(ArgumentException), Directive.Stop), (typeof(InvalidOperationException), Directive.Resume));
        var (_, children) = await StartAsync(new OneForOneStrategy(decider), probe, "w");
        var worker = children[0];
        probe.Watch(worker);
        worker.Tell("1");
        worker.Tell("fail-state");
        Assert.Equal(1, await worker.Ask<int>("count", Timeout));
        worker.Tell("fail-arg");
        await probe.FishForMessageAsync(m => m is Terminated);
        Assert.Equal(Directive.Stop, decider(new ArgumentNullException("x")));
        Assert.Equal(Directive.Restart, decider(new TimeoutException()));
    }

    [Fact]
    public async Task Restarts_beyond_the_retry_budget_within_the_window_stop_the_child()
    {
        var probe = CreateProbe();
        var (_, children) = await StartAsync(new OneForOneStrategy(2, TimeSpan.FromMinutes(1), _ => Directive.Restart), probe, "w");
        var worker = children[0];
        probe.Watch(worker);
        worker.Tell("fail");
        worker.Tell("fail");
        Assert.Equal("w started", await probe.FishForMessageAsync(m => m is "w started"));
        Assert.Equal("w started", await probe.FishForMessageAsync(m => m is "w started"));
        worker.Tell("fail");
        await probe.FishForMessageAsync(m => m is Terminated);
    }

    [Fact]
    public async Task All_for_one_restarts_every_sibling()
    {
        var probe = CreateProbe();
        var (_, children) = await StartAsync(new AllForOneStrategy(_ => Directive.Restart), probe, "a", "b");
        children[1].Tell("x");
        Assert.Equal("b:x", await probe.ExpectMsgAsync<string>());
        children[0].Tell("fail");
        var restarted = new HashSet<string> { await probe.ExpectMsgAsync<string>(), await probe.ExpectMsgAsync<string>() };
        Assert.Equal(["a started", "b started"], restarted.Order());
        Assert.Equal(0, await children[1].Ask<int>("count", Timeout));
    }

    [Fact]
    public async Task Escalate_fails_the_supervisor_which_is_then_restarted_by_its_own_parent()
    {
        var probe = CreateProbe();
        var (supervisor, children) = await StartAsync(new OneForOneStrategy(_ => Directive.Escalate), probe, "w");
        children[0].Tell("fail");
        // The supervisor restarts (default strategy of /user), which re-creates its child.
        Assert.Equal("w started", await probe.FishForMessageAsync(m => m is "w started"));
        var newChild = await supervisor.Ask<IActorRef>("w", Timeout);
        Assert.NotSame(children[0], newChild);
    }

    [Fact]
    public async Task A_failing_constructor_stops_the_actor()
    {
        var probe = CreateProbe();
        var actor = System.ActorOf(Props.Create<ThrowingOnStart>(() => new ThrowingOnStart()));
        probe.Watch(actor);
        await probe.ExpectTerminatedAsync(actor);
    }

    private sealed class ThrowingOnStart : UntypedActor
    {
        public ThrowingOnStart() => throw new InvalidOperationException("cannot start");

        protected override void OnReceive(object message) { }
    }
}
