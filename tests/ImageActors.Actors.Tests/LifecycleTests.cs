namespace ImageActors.Actors.Tests;

public sealed class LifecycleTests : ActorTest
{
    private sealed class Recorder : ReceiveActor
    {
        private readonly string _name;
        private readonly IActorRef _log;

        public Recorder(string name, IActorRef log, int children = 0)
        {
            _name = name;
            _log = log;
            for (var i = 0; i < children; i++)
            {
                var childName = name + "." + i;
                Context.ActorOf(Props.Create(() => new Recorder(childName, log)), "c" + i);
            }

            ReceiveAny(m => log.Tell(name + " got " + m));
        }

        protected internal override void PreStart() => _log.Tell(_name + " PreStart");

        protected internal override void PostStop() => _log.Tell(_name + " PostStop");
    }

    [Fact]
    public async Task PoisonPill_stops_the_actor_after_the_messages_before_it()
    {
        var probe = CreateProbe();
        var actor = System.ActorOf(Props.Create(() => new Recorder("a", probe)));
        Assert.Equal("a PreStart", await probe.ExpectMsgAsync<string>());
        probe.Watch(actor);
        actor.Tell(1);
        actor.Tell(PoisonPill.Instance);
        actor.Tell(2);
        Assert.Equal("a got 1", await probe.ExpectMsgAsync<string>());
        Assert.Equal("a PostStop", await probe.ExpectMsgAsync<string>());
        await probe.ExpectTerminatedAsync(actor);
    }

    [Fact]
    public async Task Graceful_stop_completes_when_the_actor_stopped()
    {
        var probe = CreateProbe();
        var actor = System.ActorOf(Props.Create(() => new Recorder("a", probe)));
        Assert.True(await actor.GracefulStop(Timeout));
        await probe.FishForMessageAsync(m => m is "a PostStop");
    }

    [Fact]
    public async Task Kill_stops_the_actor_through_its_supervisor()
    {
        var probe = CreateProbe();
        var actor = System.ActorOf(Props.Create(() => new Recorder("a", probe)));
        probe.Watch(actor);
        actor.Tell(Kill.Instance);
        await probe.FishForMessageAsync(m => m is Terminated);
    }

    [Fact]
    public async Task Stopping_a_parent_stops_its_children_first()
    {
        var probe = CreateProbe();
        var parent = System.ActorOf(Props.Create(() => new Recorder("p", probe, 2)), "p");
        var started = new HashSet<string>();
        for (var i = 0; i < 3; i++)
        {
            started.Add(await probe.ExpectMsgAsync<string>());
        }

        Assert.Contains("p.0 PreStart", started);
        System.Stop(parent);
        var stops = new List<string>();
        for (var i = 0; i < 3; i++)
        {
            stops.Add(await probe.ExpectMsgAsync<string>());
        }

        Assert.Equal("p PostStop", stops[^1]);
        Assert.Contains("p.0 PostStop", stops);
        Assert.Contains("p.1 PostStop", stops);
    }

    [Fact]
    public async Task Terminating_the_system_stops_children_before_parents_and_runs_PostStop()
    {
        var probe = CreateProbe();
        System.ActorOf(Props.Create(() => new Recorder("a", probe, 2)), "a");
        System.ActorOf(Props.Create(() => new Recorder("b", probe, 1)), "b");
        for (var i = 0; i < 5; i++)
        {
            await probe.ExpectMsgAsync<string>();
        }

        await System.Terminate().WaitAsync(Timeout);
        var stops = new List<string>();
        while (await probe.ReceiveOneAsync(TimeSpan.FromMilliseconds(200)) is string s)
        {
            stops.Add(s);
        }

        Assert.Equal(5, stops.Count);
        Assert.True(stops.IndexOf("a PostStop") > stops.IndexOf("a.0 PostStop"));
        Assert.True(stops.IndexOf("a PostStop") > stops.IndexOf("a.1 PostStop"));
        Assert.True(stops.IndexOf("b PostStop") > stops.IndexOf("b.0 PostStop"));
        Assert.True(System.WhenTerminated.IsCompleted);
    }

    [Fact]
    public async Task A_watcher_receives_Terminated_when_the_watched_actor_stops()
    {
        var probe = CreateProbe();
        var watched = System.ActorOf(Props.Create(() => new Recorder("w", probe)), "watched");
        var watcher = System.ActorOf(Props.Create(() => new Watcher(watched, probe)), "watcher");
        Assert.Equal("watching", await probe.FishForMessageAsync(m => m is "watching"));
        watched.Tell(PoisonPill.Instance);
        var terminated = (Terminated)await probe.FishForMessageAsync(m => m is Terminated);
        Assert.Same(watched, terminated.ActorRef);
        Assert.NotNull(watcher);
    }

    [Fact]
    public async Task Watching_an_already_stopped_actor_delivers_Terminated_at_once()
    {
        var probe = CreateProbe();
        var watched = System.ActorOf(Props.Create(() => new Recorder("w", probe)));
        probe.Watch(watched);
        watched.Tell(PoisonPill.Instance);
        await probe.FishForMessageAsync(m => m is Terminated);
        System.ActorOf(Props.Create(() => new Watcher(watched, probe)));
        await probe.FishForMessageAsync(m => m is Terminated);
    }

    [Fact]
    public async Task After_unwatch_no_Terminated_is_delivered()
    {
        var probe = CreateProbe();
        var watched = System.ActorOf(Props.Create(() => new Recorder("w", probe)));
        var watcher = System.ActorOf(Props.Create(() => new Watcher(watched, probe)));
        await probe.FishForMessageAsync(m => m is "watching");
        watcher.Tell("unwatch");
        await probe.FishForMessageAsync(m => m is "unwatched");
        watched.Tell(PoisonPill.Instance);
        await probe.FishForMessageAsync(m => m is "w PostStop");
        await probe.ExpectNoMsgAsync(TimeSpan.FromMilliseconds(200));
    }

    private sealed class Watcher : ReceiveActor
    {
        public Watcher(IActorRef target, IActorRef probe)
        {
            Context.Watch(target);
            probe.Tell("watching");
            Receive<Terminated>(t => probe.Tell(t));
            Receive<string>(s => s == "unwatch", _ =>
            {
                Context.Unwatch(target);
                probe.Tell("unwatched");
            });
        }
    }

    [Fact]
    public async Task Unstash_all_replays_stashed_messages_in_arrival_order_before_newer_ones()
    {
        var probe = CreateProbe();
        var actor = System.ActorOf(Props.Create(() => new Stasher(probe)));
        actor.Tell("a");
        actor.Tell("b");
        actor.Tell("c");
        actor.Tell("open");
        actor.Tell("d");
        Assert.Equal("a", await probe.ExpectMsgAsync<string>());
        Assert.Equal("b", await probe.ExpectMsgAsync<string>());
        Assert.Equal("c", await probe.ExpectMsgAsync<string>());
        Assert.Equal("d", await probe.ExpectMsgAsync<string>());
    }

    private sealed class Stasher : ReceiveActor, IWithStash
    {
        public Stasher(IActorRef probe)
        {
            Receive<string>(s => s == "open", _ =>
            {
                Become(() => Receive<string>(s => probe.Tell(s)));
                Stash.UnstashAll();
            });
            Receive<string>(_ => Stash.Stash());
        }

        public IStash Stash { get; set; } = null!;
    }

    [Fact]
    public async Task A_full_bounded_mailbox_sends_Tell_to_dead_letters_and_TellAsync_waits_for_room()
    {
        var probe = CreateProbe();
        System.EventStream.Subscribe(probe, typeof(DeadLetter));
        var gate = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var actor = System.ActorOf(Props.Create(() => new Blocker(gate.Task, probe)).WithBoundedMailbox(2));
        actor.Tell("block");
        Assert.Equal("blocked", await probe.ExpectMsgAsync<string>());
        actor.Tell("1");
        actor.Tell("2");
        actor.Tell("3");
        Assert.Equal("3", (await probe.ExpectMsgAsync<DeadLetter>()).Message);
        var waiting = actor.TellAsync("4").AsTask();
        Assert.False(waiting.IsCompleted);
        gate.SetResult();
        await waiting.WaitAsync(Timeout);
        Assert.Equal("1", await probe.ExpectMsgAsync<string>());
        Assert.Equal("2", await probe.ExpectMsgAsync<string>());
        Assert.Equal("4", await probe.ExpectMsgAsync<string>());
    }

    private sealed class Blocker : ReceiveActor
    {
        public Blocker(Task gate, IActorRef probe)
        {
            ReceiveAsync<string>(async _ =>
            {
                probe.Tell("blocked");
                await gate;
            }, s => s == "block");
            Receive<string>(s => probe.Tell(s));
        }
    }

    [Fact]
    public async Task System_messages_overtake_queued_user_messages()
    {
        var probe = CreateProbe();
        System.EventStream.Subscribe(probe, typeof(DeadLetter));
        var gate = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var actor = System.ActorOf(Props.Create(() => new Blocker(gate.Task, probe)));
        actor.Tell("block");
        Assert.Equal("blocked", await probe.ExpectMsgAsync<string>());
        actor.Tell("queued");
        System.Stop(actor);
        probe.Watch(actor);
        gate.SetResult();

        // The stop is handled before the queued message, which goes to dead letters.
        Assert.Equal("queued", (await probe.ExpectMsgAsync<DeadLetter>()).Message);
        await probe.ExpectTerminatedAsync(actor);
    }
}
