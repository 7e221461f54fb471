using ImageActors.Actors.Supervision;

namespace ImageActors.Actors.Tests.Supervision;

public sealed class BackoffSupervisorTests : ActorTest
{
    public BackoffSupervisorTests() : base(fakeClock: true) { }

    private sealed class Child : ReceiveActor
    {
        public Child(IActorRef probe)
        {
            probe.Tell("started");
            Receive<string>(s => s == "stop", _ => Context.Stop(Self));
            Receive<string>(s => s == "crash", _ => throw new InvalidOperationException("crash"));
            Receive<string>(s => Sender.Tell("child:" + s));
        }
    }

    [Fact]
    public void The_delay_doubles_from_min_up_to_max_and_jitter_only_lengthens_it()
    {
        var min = TimeSpan.FromSeconds(1);
        var max = TimeSpan.FromSeconds(10);
        Assert.Equal(TimeSpan.FromSeconds(1), BackoffSupervisor.CalculateDelay(0, min, max, 0.2, 0));
        Assert.Equal(TimeSpan.FromSeconds(2), BackoffSupervisor.CalculateDelay(1, min, max, 0.2, 0));
        Assert.Equal(TimeSpan.FromSeconds(8), BackoffSupervisor.CalculateDelay(3, min, max, 0.2, 0));
        Assert.Equal(TimeSpan.FromSeconds(10), BackoffSupervisor.CalculateDelay(4, min, max, 0.2, 0));
        Assert.Equal(TimeSpan.FromSeconds(10), BackoffSupervisor.CalculateDelay(100, min, max, 0.2, 0));
        Assert.Equal(TimeSpan.FromSeconds(2.4), BackoffSupervisor.CalculateDelay(1, min, max, 0.2, 1.0));
    }

    /// <summary>Stops the child and waits until the supervisor has scheduled its restart.</summary>
    private async Task StopChildAndWaitForRestartTimerAsync(IActorRef supervisor, Actors.TestKit.TestProbe probe)
    {
        var child = (await supervisor.Ask<BackoffSupervisor.CurrentChild>(BackoffSupervisor.GetCurrentChild.Instance, Timeout)).Ref!;
        probe.Watch(child);
        supervisor.Tell("stop");
        await probe.ExpectTerminatedAsync(child);
        // The supervisor heard of the stop before the probe; once it answers, its restart timer exists.
        await supervisor.Ask<BackoffSupervisor.RestartCount>(BackoffSupervisor.GetRestartCount.Instance, Timeout);
    }

    [Fact]
    public async Task Backoff_delays_grow_with_each_restart_and_reset_after_the_child_ran_long_enough()
    {
        var probe = CreateProbe();
        var clock = Clock!;
        var options = new BackoffOptions(Props.Create(() => new Child(probe)), "child", TimeSpan.FromSeconds(1), TimeSpan.FromSeconds(30), 0)
        {
            ResetBackoffAfter = TimeSpan.FromMinutes(5),
        };
        var supervisor = System.ActorOf(BackoffSupervisor.Props(options), "backoff");
        Assert.Equal("started", await probe.ExpectMsgAsync<string>());

        // Restart 1 waits 1 s, restart 2 waits 2 s, restart 3 waits 4 s.
        foreach (var seconds in new[] { 1, 2, 4 })
        {
            await StopChildAndWaitForRestartTimerAsync(supervisor, probe);
            clock.Advance(TimeSpan.FromSeconds(seconds) - TimeSpan.FromMilliseconds(1));
            await probe.ExpectNoMsgAsync(TimeSpan.FromMilliseconds(50));
            clock.Advance(TimeSpan.FromMilliseconds(1));
            Assert.Equal("started", await probe.ExpectMsgAsync<string>());
        }

        Assert.Equal(3, (await supervisor.Ask<BackoffSupervisor.RestartCount>(BackoffSupervisor.GetRestartCount.Instance, Timeout)).Count);

        // Running for the reset period brings the next delay back to the minimum.
        clock.Advance(TimeSpan.FromMinutes(5));
        var count = await supervisor.Ask<BackoffSupervisor.RestartCount>(BackoffSupervisor.GetRestartCount.Instance, Timeout);
        Assert.Equal(0, count.Count);
        await StopChildAndWaitForRestartTimerAsync(supervisor, probe);
        clock.Advance(TimeSpan.FromSeconds(1));
        Assert.Equal("started", await probe.ExpectMsgAsync<string>());
    }

    [Fact]
    public async Task Messages_to_the_backoff_supervisor_reach_its_child()
    {
        var probe = CreateProbe();
        var options = new BackoffOptions(Props.Create(() => new Child(probe)), "child", TimeSpan.FromSeconds(1), TimeSpan.FromSeconds(30), 0.2);
        var supervisor = System.ActorOf(BackoffSupervisor.Props(options));
        Assert.Equal("child:hello", await supervisor.Ask<string>("hello", Timeout));
    }

    [Fact]
    public async Task In_on_failure_mode_a_crashing_child_is_restarted_after_the_delay()
    {
        var probe = CreateProbe();
        var options = new BackoffOptions(Props.Create(() => new Child(probe)), "child", TimeSpan.FromSeconds(3), TimeSpan.FromSeconds(30), 0)
        {
            Mode = BackoffMode.OnFailure,
        };
        var supervisor = System.ActorOf(BackoffSupervisor.Props(options));
        Assert.Equal("started", await probe.ExpectMsgAsync<string>());
        var child = (await supervisor.Ask<BackoffSupervisor.CurrentChild>(BackoffSupervisor.GetCurrentChild.Instance, Timeout)).Ref!;
        probe.Watch(child);
        supervisor.Tell("crash");
        await probe.ExpectTerminatedAsync(child);
        await supervisor.Ask<BackoffSupervisor.RestartCount>(BackoffSupervisor.GetRestartCount.Instance, Timeout);
        await probe.ExpectNoMsgAsync(TimeSpan.FromMilliseconds(50));
        Clock!.Advance(TimeSpan.FromSeconds(3));
        Assert.Equal("started", await probe.ExpectMsgAsync<string>());
    }
}
