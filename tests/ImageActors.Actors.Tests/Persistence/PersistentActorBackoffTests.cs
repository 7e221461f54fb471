using ImageActors.Actors.Persistence;
using ImageActors.Actors.Supervision;

namespace ImageActors.Actors.Tests.Persistence;

public sealed class PersistentActorBackoffTests : ActorTest
{
    private readonly FaultyJournal _journal;

    public PersistentActorBackoffTests() : this(new FaultyJournal()) { }

    private PersistentActorBackoffTests(FaultyJournal journal)
        : base(fakeClock: true, settings: new ActorSystemSettings { Persistence = new PersistenceSettings { Journal = journal } }) => _journal = journal;

    [Fact]
    public async Task A_persistent_actor_stopped_by_a_failed_write_is_restarted_by_its_backoff_supervisor_and_recovers()
    {
        var probe = CreateProbe();
        var options = new BackoffOptions(Props.Create(() => new ListActor("backoff-list", probe)), "list", TimeSpan.FromSeconds(2), TimeSpan.FromMinutes(1), 0);
        var supervisor = System.ActorOf(BackoffSupervisor.Props(options), "list-supervisor");
        Assert.Equal("recovered:", await probe.ExpectMsgAsync<string>());
        Assert.Equal("ack:a", await supervisor.Ask<string>(new ListActor.Add("a"), Timeout));

        var child = (await supervisor.Ask<BackoffSupervisor.CurrentChild>(BackoffSupervisor.GetCurrentChild.Instance, Timeout)).Ref!;
        probe.Watch(child);
        _journal.FailWrite = _ => new IOException("database unreachable");
        supervisor.Tell(new ListActor.Add("lost"), probe);
        await probe.ExpectTerminatedAsync(child);
        _journal.FailWrite = null;
        await supervisor.Ask<BackoffSupervisor.RestartCount>(BackoffSupervisor.GetRestartCount.Instance, Timeout);

        Clock!.Advance(TimeSpan.FromSeconds(2));
        Assert.Equal("recovered:a", await probe.ExpectMsgAsync<string>());
        Assert.Equal("ack:b", await supervisor.Ask<string>(new ListActor.Add("b"), Timeout));
        Assert.Equal("a,b", await supervisor.Ask<string>("get", Timeout));
    }
}
