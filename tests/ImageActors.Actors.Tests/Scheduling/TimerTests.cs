namespace ImageActors.Actors.Tests.Scheduling;

public sealed class TimerTests : ActorTest
{
    public TimerTests() : base(fakeClock: true) { }

    private sealed class TimerUser : ReceiveActor
    {
        public TimerUser(IActorRef probe)
        {
            Receive<(string Command, string Key, int Ms)>(c =>
            {
                switch (c.Command)
                {
                    case "single":
                        Timers.StartSingleTimer(c.Key, "tick:" + c.Key + ":" + c.Ms, TimeSpan.FromMilliseconds(c.Ms));
                        break;
                    case "periodic":
                        Timers.StartPeriodicTimer(c.Key, "tick:" + c.Key, TimeSpan.FromMilliseconds(c.Ms));
                        break;
                    case "cancel":
                        Timers.Cancel(c.Key);
                        break;
                }

                Sender.Tell("ok");
            });
            Receive<string>(s => probe.Tell(s));
        }
    }

    private Task<IActorRef> StartAsync(Actors.TestKit.TestProbe probe) =>
        Task.FromResult(System.ActorOf(Props.Create(() => new TimerUser(probe))));

    private Task Command(IActorRef actor, string command, string key, int ms = 0) => actor.Ask<string>((command, key, ms), Timeout);

    [Fact]
    public async Task A_single_timer_fires_once_after_its_delay()
    {
        var probe = CreateProbe();
        var actor = await StartAsync(probe);
        await Command(actor, "single", "a", 100);
        Clock!.Advance(TimeSpan.FromMilliseconds(99));
        await probe.ExpectNoMsgAsync(TimeSpan.FromMilliseconds(50));
        Clock.Advance(TimeSpan.FromMilliseconds(1));
        Assert.Equal("tick:a:100", await probe.ExpectMsgAsync<string>());
        Clock.Advance(TimeSpan.FromSeconds(1));
        await probe.ExpectNoMsgAsync(TimeSpan.FromMilliseconds(50));
    }

    [Fact]
    public async Task Starting_a_timer_with_the_same_key_replaces_it()
    {
        var probe = CreateProbe();
        var actor = await StartAsync(probe);
        await Command(actor, "single", "a", 100);
        await Command(actor, "single", "a", 300);
        Clock!.Advance(TimeSpan.FromMilliseconds(299));
        await probe.ExpectNoMsgAsync(TimeSpan.FromMilliseconds(50));
        Clock.Advance(TimeSpan.FromMilliseconds(1));
        Assert.Equal("tick:a:300", await probe.ExpectMsgAsync<string>());
    }

    [Fact]
    public async Task A_periodic_timer_repeats_until_cancelled()
    {
        var probe = CreateProbe();
        var actor = await StartAsync(probe);
        await Command(actor, "periodic", "p", 10);
        Clock!.Advance(TimeSpan.FromMilliseconds(30));
        for (var i = 0; i < 3; i++)
        {
            Assert.Equal("tick:p", await probe.ExpectMsgAsync<string>());
        }

        await Command(actor, "cancel", "p");
        Clock.Advance(TimeSpan.FromMilliseconds(100));
        await probe.ExpectNoMsgAsync(TimeSpan.FromMilliseconds(50));
    }

    [Fact]
    public async Task Timers_are_cancelled_when_the_actor_stops()
    {
        var probe = CreateProbe();
        var actor = await StartAsync(probe);
        await Command(actor, "single", "a", 100);
        await Command(actor, "periodic", "p", 10);
        probe.Watch(actor);
        actor.Tell(PoisonPill.Instance);
        await probe.ExpectTerminatedAsync(actor);

        // A timer still running would fire into the stopped actor and show up as a dead letter.
        System.EventStream.Subscribe(probe, typeof(DeadLetter));
        Clock!.Advance(TimeSpan.FromSeconds(1));
        await probe.ExpectNoMsgAsync(TimeSpan.FromMilliseconds(50));
    }

    [Fact]
    public async Task The_scheduler_delivers_once_or_repeatedly_and_can_be_cancelled()
    {
        var probe = CreateProbe();
        System.Scheduler.ScheduleTellOnce(TimeSpan.FromSeconds(1), probe, "once");
        var repeating = System.Scheduler.ScheduleTellRepeatedly(TimeSpan.FromSeconds(2), TimeSpan.FromSeconds(1), probe, "again");
        Clock!.Advance(TimeSpan.FromSeconds(1));
        Assert.Equal("once", await probe.ExpectMsgAsync<string>());
        Clock.Advance(TimeSpan.FromSeconds(2));
        Assert.Equal("again", await probe.ExpectMsgAsync<string>());
        Assert.Equal("again", await probe.ExpectMsgAsync<string>());
        repeating.Cancel();
        Assert.True(repeating.IsCancellationRequested);
        Clock.Advance(TimeSpan.FromSeconds(10));
        await probe.ExpectNoMsgAsync(TimeSpan.FromMilliseconds(50));
    }

    [Fact]
    public async Task Ask_times_out_on_the_injected_clock()
    {
        var probe = CreateProbe();
        var ask = probe.Ask<string>("question", TimeSpan.FromSeconds(30));
        await probe.ExpectMsgAsync<string>();
        Assert.False(ask.IsCompleted);
        Clock!.Advance(TimeSpan.FromSeconds(30));
        await Assert.ThrowsAsync<AskTimeoutException>(() => ask);
    }

    [Fact]
    public async Task Timers_are_cancelled_when_the_actor_restarts()
    {
        var probe = CreateProbe();
        var actor = System.ActorOf(Props.Create(() => new Restartable(probe)));
        Assert.Equal("started", await probe.ExpectMsgAsync<string>());
        await actor.Ask<string>("arm", Timeout);
        actor.Tell("crash");
        Assert.Equal("started", await probe.ExpectMsgAsync<string>());
        Clock!.Advance(TimeSpan.FromSeconds(10));
        await probe.ExpectNoMsgAsync(TimeSpan.FromMilliseconds(100));
    }

    private sealed class Restartable : ReceiveActor
    {
        public Restartable(IActorRef probe)
        {
            probe.Tell("started");
            Receive<string>(s => s == "arm", _ =>
            {
                Timers.StartSingleTimer("t", "fired", TimeSpan.FromSeconds(5));
                Sender.Tell("armed");
            });
            Receive<string>(s => s == "crash", _ => throw new InvalidOperationException("crash"));
            Receive<string>(s => probe.Tell(s));
        }
    }
}
