namespace ImageActors.Actors.Tests;

/// <summary><see cref="ActorSystem.MailboxDepth"/>: queued messages of an actor and of the actors below it.</summary>
public sealed class MailboxDepthTests : ActorTest
{
    [Fact]
    public async Task The_depth_counts_the_messages_waiting_behind_a_busy_actor_and_falls_to_zero_once_they_ran()
    {
        var gate = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var started = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var busy = System.ActorOf(Props.Create(() => new Blocking(gate.Task, started)), "busy");

        busy.Tell("first");
        await started.Task.WaitAsync(Timeout);
        for (var i = 0; i < 5; i++)
        {
            busy.Tell("queued");
        }

        Assert.Equal(5, ActorSystem.MailboxDepth(busy));
        gate.SetResult();
        Assert.Equal("done", await busy.Ask<string>("ping", Timeout));
        Assert.Equal(0, ActorSystem.MailboxDepth(busy));
    }

    [Fact]
    public async Task The_depth_of_a_parent_includes_its_childrens_queues_unless_asked_for_its_own()
    {
        var gate = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var started = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var parent = System.ActorOf(Props.Create(() => new Parent(gate.Task, started)), "parent");

        parent.Tell("to-child");
        await started.Task.WaitAsync(Timeout);
        parent.Tell("to-child");
        parent.Tell("to-child");
        parent.Tell("to-child");
        Assert.Equal("forwarded", await parent.Ask<string>("ping", Timeout));

        Assert.Equal(3, ActorSystem.MailboxDepth(parent));
        Assert.Equal(0, ActorSystem.MailboxDepth(parent, includeDescendants: false));
        gate.SetResult();
    }

    [Fact]
    public void A_reference_that_is_not_a_local_actor_has_no_depth() =>
        Assert.Equal(0, ActorSystem.MailboxDepth(System.DeadLetters));

    private sealed class Blocking : ReceiveActor
    {
        public Blocking(Task gate, TaskCompletionSource started)
        {
            Receive<string>(s => s == "ping", _ => Sender.Tell("done"));
            ReceiveAsync<string>(async _ =>
            {
                started.TrySetResult();
                await gate.ConfigureAwait(false);
            });
        }
    }

    private sealed class Parent : ReceiveActor
    {
        public Parent(Task gate, TaskCompletionSource started)
        {
            var child = Context.ActorOf(Props.Create(() => new Blocking(gate, started)), "child");
            Receive<string>(s => s == "ping", _ => Sender.Tell("forwarded"));
            Receive<string>(s => child.Tell(s));
        }
    }
}
