using Akka.Actor;
using Akka.Pattern;
using Akka.TestKit.Xunit2;
using ImageActors.Images.Actors;
using ImageActors.Images.Remote;
using ImageActors.Remotes;
using ImageActors.Streaming;

namespace ImageActors.Images.Tests.Actors;

/// <summary>
/// The workers' supervision: the decider table, the backoff of a worker that failed for a cause that may persist, and
/// the retry budget. Every job's requester hears its result or its failure, whatever becomes of the worker.
/// </summary>
public sealed class WorkerSupervisionTests : TestKit
{
    // Short waits, so that the tests run quickly; the default starts at 1 s.
    private static readonly WorkerSupervision Quick = new(TimeSpan.FromMilliseconds(50), TimeSpan.FromMilliseconds(200), 0.1, 3, TimeSpan.FromMinutes(1));

    // A queued job hears that the work ahead of it moved; these tests wait for results only.
    public WorkerSupervisionTests() => IgnoreMessages<WorkerPool.JobProgress>();

    public static TheoryData<Exception, Directive> Failures => new()
    {
        { new OperationCanceledException(), Directive.Resume },
        { new global::ImageActors.Images.Domain.ImageNotFoundException("x"), Directive.Resume },
        { new RemoteException("refused", new Uri("https://upstream.example/")), Directive.Resume },
        { new ImageCopyException("debian/12", new Uri("https://upstream.example/"), new IOException("cut")), Directive.Resume },
        { new Streaming.Storage.HashMismatchException(Fingerprint.Parse(new string('a', 64)), Fingerprint.Parse(new string('b', 64)), "upstream"), Directive.Resume },
        { new InvalidDataException("not a tarball"), Directive.Resume },
        { new Streaming.Storage.InsufficientStorageException("/data", 10), Directive.Restart },
        { new IOException("disk failed"), Directive.Restart },
        { new HttpRequestException("connection refused"), Directive.Restart },
        { new UnauthorizedAccessException("read-only"), Directive.Restart },
        { new InvalidOperationException("a bug"), Directive.Restart },
        { new ActorKilledException("killed"), Directive.Stop },
    };

    [Theory]
    [MemberData(nameof(Failures))]
    public void The_decider_maps_each_failure_to_its_directive(Exception failure, Directive expected) =>
        Assert.Equal(expected, WorkerSupervision.Decide(failure));

    [Fact]
    public void Every_rule_is_reachable_because_no_earlier_rule_covers_its_type()
    {
        var rules = WorkerSupervision.Rules;
        for (var i = 0; i < rules.Count; i++)
        {
            for (var j = 0; j < i; j++)
            {
                Assert.False(rules[j].Exception.IsAssignableFrom(rules[i].Exception), $"{rules[i].Exception.Name} is shadowed by {rules[j].Exception.Name}");
            }
        }
    }

    [Fact]
    public async Task A_job_failing_for_a_reason_of_its_own_leaves_its_worker_as_it_was()
    {
        var pool = Sys.ActorOf(WorkerPool.Props(1, Quick, TimeSpan.FromMilliseconds(50)), "resumes");

        pool.Tell(Job(() => throw new InvalidDataException("not a tarball"), "bad bytes"));
        Assert.IsType<InvalidDataException>(ExpectMsg<WorkerPool.JobFailed>().Cause);
        pool.Tell(Job(() => "done", "next"));
        ExpectMsg("done");

        Assert.Equal(0, await RestartCountAsync(pool));
    }

    [Fact]
    public async Task A_worker_that_failed_on_IO_is_restarted_after_a_backoff_and_takes_the_job_that_waited_meanwhile()
    {
        var pool = Sys.ActorOf(WorkerPool.Props(1, Quick, TimeSpan.FromMilliseconds(50)), "restarts");

        pool.Tell(Job(() => throw new IOException("disk failed"), "first"));
        pool.Tell(Job(() => "second", "second"));

        Assert.IsType<IOException>(ExpectMsg<WorkerPool.JobFailed>().Cause);
        ExpectMsg("second", TimeSpan.FromSeconds(10));
        Assert.Equal(1, await RestartCountAsync(pool));
    }

    [Fact]
    public async Task A_worker_over_its_retry_budget_is_replaced_after_the_longest_backoff_and_no_job_is_lost()
    {
        var pool = Sys.ActorOf(WorkerPool.Props(1, Quick, TimeSpan.FromMilliseconds(50)), "budget");
        await pool.Ask<WorkerPool.Stats>(new WorkerPool.GetStats(), TimeSpan.FromSeconds(10)); // the pool started its slots
        var slot = await Sys.ActorSelection(pool.Path / "slot-1").ResolveOne(TimeSpan.FromSeconds(10));
        Watch(slot);

        for (var i = 0; i <= Quick.MaxRestarts; i++)
        {
            pool.Tell(Job(() => throw new IOException("disk failed"), i));
            Assert.IsType<IOException>(ExpectMsg<WorkerPool.JobFailed>(TimeSpan.FromSeconds(10)).Cause);
        }

        ExpectTerminated(slot, TimeSpan.FromSeconds(10));
        pool.Tell(Job(() => "after", "after"));
        ExpectMsg("after", TimeSpan.FromSeconds(10));
    }

    [Fact]
    public void The_requester_of_a_running_job_hears_each_move_of_its_meter()
    {
        var pool = Sys.ActorOf(WorkerPool.Props(1, Quick, TimeSpan.FromMilliseconds(20)), "progress");
        var meter = new ProgressMeter();
        var finish = new TaskCompletionSource<object>(TaskCreationOptions.RunContinuationsAsynchronously);
        var requester = CreateTestProbe();

        pool.Tell(new WorkerPool.Job(_ =>
        {
            meter.Report(1024);
            return finish.Task;
        }, requester.Ref, "download")
        { Progress = meter });

        Assert.Equal("download", requester.ExpectMsg<WorkerPool.JobProgress>(TimeSpan.FromSeconds(10)).Tag);
        finish.TrySetResult("stored");
        requester.ExpectMsg("stored", TimeSpan.FromSeconds(10));
    }

    private WorkerPool.Job Job(Func<object> work, object tag) =>
        new(_ => Task.FromResult(work()), TestActor, tag);

    private async Task<int> RestartCountAsync(IActorRef pool)
    {
        var slot = Sys.ActorSelection(pool.Path / "slot-1");
        return (await slot.Ask<BackoffSupervisor.RestartCount>(BackoffSupervisor.GetRestartCount.Instance, TimeSpan.FromSeconds(10))).Count;
    }
}
