using ImageActors.Actors.Events;

namespace ImageActors.Actors.Tests;

public sealed class ActorBasicsTests : ActorTest
{
    private sealed class Echo : ReceiveActor
    {
        public Echo()
        {
            Receive<string>(s => s == "path", _ => Sender.Tell(Self.Path.ToString(), Self));
            Receive<string>(s => Sender.Tell("echo:" + s, Self));
            Receive<int>(i => Sender.Tell(i + 1, Self));
        }
    }

    private sealed class Silent : ReceiveActor
    {
        public Silent() => ReceiveAny(_ => { });
    }

    [Fact]
    public async Task Tell_delivers_a_message_and_the_reply_reaches_the_sender()
    {
        var probe = CreateProbe();
        var echo = System.ActorOf(Props.Create(() => new Echo()), "echo");
        echo.Tell("hi", probe);
        Assert.Equal("echo:hi", await probe.ExpectMsgAsync<string>());
        Assert.Same(echo, probe.LastSender);
    }

    [Fact]
    public async Task Messages_from_one_sender_arrive_in_send_order()
    {
        var probe = CreateProbe();
        var echo = System.ActorOf(Props.Create(() => new Echo()));
        for (var i = 0; i < 1000; i++)
        {
            echo.Tell(i, probe);
        }

        for (var i = 0; i < 1000; i++)
        {
            Assert.Equal(i + 1, await probe.ExpectMsgAsync<int>());
        }
    }

    [Fact]
    public async Task Ask_returns_the_reply()
    {
        var echo = System.ActorOf(Props.Create(() => new Echo()));
        Assert.Equal(42, await echo.Ask<int>(41, Timeout));
    }

    [Fact]
    public async Task Ask_without_reply_throws_the_typed_timeout_error()
    {
        var silent = System.ActorOf(Props.Create(() => new Silent()), "silent");
        var error = await Assert.ThrowsAsync<AskTimeoutException>(() => silent.Ask<int>("anyone?", TimeSpan.FromMilliseconds(50)));
        Assert.Equal("/user/silent", error.Target.ToString());
    }

    [Fact]
    public async Task Ask_rethrows_the_cause_of_a_failure_reply()
    {
        var probe = CreateProbe();
        var ask = probe.Ask<int>("q", Timeout);
        await probe.ExpectMsgAsync<string>();
        probe.Reply(new Status.Failure(new InvalidOperationException("nope")));
        await Assert.ThrowsAsync<InvalidOperationException>(() => ask);
    }

    [Fact]
    public async Task Actors_have_hierarchical_paths()
    {
        var parent = System.ActorOf(Props.Create(() => new Parent()), "images");
        var childPath = await parent.Ask<string>("create abc", Timeout);
        Assert.Equal("/user/images/abc", childPath);
    }

    private sealed class Parent : ReceiveActor
    {
        public Parent() => Receive<string>(s =>
        {
            var child = Context.ActorOf(Props.Create(() => new Echo()), s["create ".Length..]);
            child.Tell("path", Sender);
        });
    }

    [Fact]
    public void Sibling_names_must_be_unique()
    {
        System.ActorOf(Props.Create(() => new Silent()), "same");
        Assert.Throws<InvalidActorNameException>(() => System.ActorOf(Props.Create(() => new Silent()), "same"));
        Assert.Throws<InvalidActorNameException>(() => System.ActorOf(Props.Create(() => new Silent()), "a/b"));
    }

    [Fact]
    public async Task Messages_to_a_stopped_actor_are_published_as_dead_letters()
    {
        var probe = CreateProbe();
        System.EventStream.Subscribe(probe, typeof(DeadLetter));
        var echo = System.ActorOf(Props.Create(() => new Echo()));
        probe.Watch(echo);
        System.Stop(echo);
        await probe.ExpectTerminatedAsync(echo);
        echo.Tell("late");
        var dead = await probe.ExpectMsgAsync<DeadLetter>();
        Assert.Equal("late", dead.Message);
        Assert.Same(echo, dead.Recipient);
    }

    [Fact]
    public async Task Unhandled_messages_are_published()
    {
        var probe = CreateProbe();
        System.EventStream.Subscribe(probe, typeof(UnhandledMessage));
        var echo = System.ActorOf(Props.Create(() => new Echo()));
        echo.Tell(3.5);
        Assert.Equal(3.5, (await probe.ExpectMsgAsync<UnhandledMessage>()).Message);
    }

    [Fact]
    public async Task The_event_stream_delivers_by_type_including_base_types()
    {
        var probe = CreateProbe();
        var stream = new EventStream();
        stream.Subscribe(probe, typeof(Exception));
        stream.Publish(new InvalidOperationException("x"));
        stream.Publish("not an exception");
        Assert.Equal("x", (await probe.ExpectMsgAsync<InvalidOperationException>()).Message);
        stream.Unsubscribe(probe, typeof(Exception));
        stream.Publish(new InvalidOperationException("y"));
        await probe.ExpectNoMsgAsync(TimeSpan.FromMilliseconds(100));
    }

    [Fact]
    public async Task Receive_async_suspends_the_mailbox_until_the_task_finishes()
    {
        var gate = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var probe = CreateProbe();
        var actor = System.ActorOf(Props.Create(() => new AsyncActor(gate.Task, probe)));
        actor.Tell("slow");
        actor.Tell("fast");
        Assert.Equal("slow started", await probe.ExpectMsgAsync<string>());
        await probe.ExpectNoMsgAsync(TimeSpan.FromMilliseconds(100));
        gate.SetResult();
        Assert.Equal("slow done", await probe.ExpectMsgAsync<string>());
        Assert.Equal("fast", await probe.ExpectMsgAsync<string>());
    }

    private sealed class AsyncActor : ReceiveActor
    {
        public AsyncActor(Task gate, IActorRef probe)
        {
            ReceiveAsync<string>(async s =>
            {
                probe.Tell("slow started");
                await gate;
                probe.Tell("slow done");
            }, s => s == "slow");
            Receive<string>(s => probe.Tell(s));
        }
    }

    [Fact]
    public async Task Become_switches_handlers_and_unbecome_returns()
    {
        var actor = System.ActorOf(Props.Create(() => new Switch()));
        Assert.Equal("off", await actor.Ask<string>("state", Timeout));
        actor.Tell("toggle");
        Assert.Equal("on", await actor.Ask<string>("state", Timeout));
        actor.Tell("toggle");
        Assert.Equal("off", await actor.Ask<string>("state", Timeout));
    }

    private sealed class Switch : ReceiveActor
    {
        public Switch() => Off();

        private void Off()
        {
            Receive<string>(s => s == "toggle", _ => Become(On));
            Receive<string>(_ => Sender.Tell("off"));
        }

        private void On()
        {
            Receive<string>(s => s == "toggle", _ => Become(Off));
            Receive<string>(_ => Sender.Tell("on"));
        }
    }

    [Fact]
    public async Task Context_become_installs_a_behaviour_until_unbecome()
    {
        var actor = System.ActorOf(Props.Create(() => new ContextSwitch()));
        actor.Tell("swap");
        Assert.Equal("swapped", await actor.Ask<string>("state", Timeout));
        actor.Tell("back");
        Assert.Equal("normal", await actor.Ask<string>("state", Timeout));
    }

    private sealed class ContextSwitch : UntypedActor
    {
        protected override void OnReceive(object message)
        {
            if (message is "swap")
            {
                Context.Become(m =>
                {
                    if (m is "back")
                    {
                        Context.Unbecome();
                    }
                    else
                    {
                        Sender.Tell("swapped");
                    }

                    return true;
                });
            }
            else
            {
                Sender.Tell("normal");
            }
        }
    }

    [Fact]
    public void Actors_cannot_be_created_with_new()
    {
        Assert.Throws<InvalidOperationException>(() => new Silent());
    }

    [Fact]
    public async Task An_actor_handles_one_message_at_a_time_under_concurrent_senders()
    {
        var actor = System.ActorOf(Props.Create(() => new OverlapDetector()));
        var senders = new Task[4];
        for (var s = 0; s < senders.Length; s++)
        {
            senders[s] = Task.Run(() =>
            {
                for (var i = 0; i < 20_000; i++)
                {
                    actor.Tell(i);
                }
            });
        }

        await Task.WhenAll(senders).WaitAsync(Timeout);
        var (handled, overlaps) = await actor.Ask<(int, int)>("report", Timeout);
        Assert.Equal(80_000, handled);
        Assert.Equal(0, overlaps);
    }

    private sealed class OverlapDetector : ReceiveActor
    {
        private int _inside;
        private int _handled;
        private int _overlaps;

        public OverlapDetector()
        {
            Receive<int>(_ =>
            {
                if (Interlocked.Increment(ref _inside) != 1)
                {
                    _overlaps++;
                }

                _handled++;
                Interlocked.Decrement(ref _inside);
            });
            Receive<string>(_ => Sender.Tell((_handled, _overlaps)));
        }
    }

    [Fact]
    public void A_throughput_below_one_message_per_turn_is_rejected()
    {
        Assert.Throws<ArgumentOutOfRangeException>(() => ActorSystem.Create("bad", new ActorSystemSettings { Throughput = 0 }));
        Assert.Throws<ArgumentOutOfRangeException>(() => Props.Create(() => new Silent()).WithMailbox(new MailboxOptions(Throughput: 0)));
    }

    [Fact]
    public async Task An_actor_yielding_after_every_message_still_handles_them_all_in_order()
    {
        var probe = CreateProbe();
        var echo = System.ActorOf(Props.Create(() => new Echo()).WithMailbox(new MailboxOptions(Throughput: 1)));
        for (var i = 0; i < 500; i++)
        {
            echo.Tell(i, probe);
        }

        for (var i = 0; i < 500; i++)
        {
            Assert.Equal(i + 1, await probe.ExpectMsgAsync<int>());
        }
    }
}
