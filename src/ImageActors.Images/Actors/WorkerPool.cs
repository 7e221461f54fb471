using Akka.Actor;

namespace ImageActors.Images.Actors;

/// <summary>
/// A pool of workers for slow work (hashing, file commits, downloads, unpacks): it runs at most
/// <c>concurrency</c> jobs at once, queues the rest in arrival order, and tells each job's result
/// (or <see cref="JobFailed"/>) to the actor that asked. Entities hand their I/O to a pool and
/// carry on handling messages; the result comes back as a message.
/// </summary>
/// <remarks>
/// A pool serves the entities of its own node, so its protocol carries work as delegates and never crosses a node
/// (<see cref="INoSerializationVerificationNeeded"/>); what an entity hears back is plain data.
/// </remarks>
internal sealed class WorkerPool : ReceiveActor
{
    private readonly int _concurrency;
    private readonly Queue<Job> _queue = new();
    private readonly CancellationTokenSource _stopping = new();
    private int _running;

    public WorkerPool(int concurrency)
    {
        _concurrency = Math.Max(1, concurrency);
        Receive<Job>(job =>
        {
            _queue.Enqueue(job.ReplyTo is null ? job with { ReplyTo = Sender } : job);
            StartQueued();
        });
        Receive<JobDone>(_ =>
        {
            _running--;
            StartQueued();
        });
        Receive<GetStats>(_ => Sender.Tell(new Stats(_running, _queue.Count)));
    }

    public static Props Props(int concurrency) => Akka.Actor.Props.Create(() => new WorkerPool(concurrency));

    /// <summary>Work to run: its result message goes to <paramref name="ReplyTo"/>.</summary>
    /// <param name="Work">The work; it gets a token cancelled when the pool stops.</param>
    /// <param name="ReplyTo">Who gets the result; null means the sender of the job (for Ask).</param>
    /// <param name="Tag">Identifies the job in <see cref="JobFailed"/>.</param>
    public sealed record Job(Func<CancellationToken, Task<object>> Work, IActorRef? ReplyTo, object? Tag = null) : INoSerializationVerificationNeeded;

    /// <summary>A job threw.</summary>
    public sealed record JobFailed(object? Tag, Exception Cause) : INoSerializationVerificationNeeded;

    /// <summary>Asks for counts.</summary>
    public sealed record GetStats : INoSerializationVerificationNeeded;

    /// <summary>Jobs running and waiting.</summary>
    public sealed record Stats(int Running, int Queued) : INoSerializationVerificationNeeded;

    private sealed record JobDone : INoSerializationVerificationNeeded;

    protected override void PostStop()
    {
        _stopping.Cancel();
        _stopping.Dispose();
    }

    private void StartQueued()
    {
        while (_running < _concurrency && _queue.TryDequeue(out var job))
        {
            _running++;
            var self = Self;
            var token = _stopping.Token;
            _ = Task.Run(async () =>
            {
                object result;
                try
                {
                    result = await job.Work(token).ConfigureAwait(false);
                }
                catch (Exception e)
                {
                    result = new JobFailed(job.Tag, e);
                }

                job.ReplyTo!.Tell(result);
                self.Tell(new JobDone());
            }, CancellationToken.None);
        }
    }
}
