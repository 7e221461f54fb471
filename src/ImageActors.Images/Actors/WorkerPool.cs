using System.Runtime.ExceptionServices;
using Akka.Actor;
using Akka.Event;

namespace ImageActors.Images.Actors;

/// <summary>
/// A node's pool of workers for one kind of slow work (hashing and file commits, downloads, unpacks): it runs at most
/// <c>concurrency</c> jobs at once, each on a <see cref="Worker"/> actor of its own, queues the rest in arrival order,
/// and tells each job's result (or <see cref="JobFailed"/>) to the actor that asked. Entities hand their I/O to a pool
/// and carry on handling messages; the result comes back as a message. While a job runs, the pool tells its requester
/// <see cref="JobProgress"/> whenever the job's meter moved, and tells the requesters of queued jobs whenever the work
/// ahead of them moved: waiting follows progress, not a clock.
/// </summary>
/// <remarks>
/// Each worker sits under a backoff supervisor applying <see cref="WorkerSupervision"/>: a job that failed for a reason
/// of its own leaves its worker as it was; a worker that failed for a reason that may persist is stopped and started
/// again after a growing delay, and the pool gives its jobs to the other workers meanwhile. A pool serves the entities
/// of its own node, so its protocol carries work as delegates and never crosses a node
/// (<see cref="INoSerializationVerificationNeeded"/>); what an entity hears back is plain data.
/// </remarks>
internal sealed class WorkerPool : ReceiveActor, IWithTimers
{
    private readonly int _concurrency;
    private readonly WorkerSupervision _supervision;
    private readonly TimeSpan _progressInterval;
    private readonly Queue<Job> _queue = new();
    private readonly List<IActorRef> _idle = [];
    private readonly Dictionary<IActorRef, Running> _running = [];
    private readonly ILoggingAdapter _log = Context.GetLogger();
    private int _slots;
    private bool _movedSinceTick;

    private readonly JobsInFlight _jobs;

    public WorkerPool(int concurrency, WorkerSupervision supervision, TimeSpan progressInterval, JobsInFlight jobs)
    {
        _jobs = jobs;
        _concurrency = Math.Max(1, concurrency);
        _supervision = supervision;
        _progressInterval = progressInterval;
        Receive<Job>(job =>
        {
            _queue.Enqueue(job.ReplyTo is null ? job with { ReplyTo = Sender } : job);
            StartQueued();
        });
        Receive<WorkerReady>(_ => OnReady(Sender));
        Receive<JobEnded>(ended => OnEnded(Sender, ended));
        Receive<Terminated>(t => OnTerminated(t.ActorRef));
        Receive<ReplaceSlot>(_ => AddSlot());
        Receive<ProgressTick>(_ => OnProgressTick());
        Receive<GetStats>(_ => Sender.Tell(new Stats(_running.Count, _queue.Count)));
    }

    /// <inheritdoc />
    public ITimerScheduler Timers { get; set; } = null!;

    public static Props Props(int concurrency, WorkerSupervision? supervision = null, TimeSpan? progressInterval = null, JobsInFlight? jobs = null) =>
        Akka.Actor.Props.Create(() => new WorkerPool(concurrency, supervision ?? WorkerSupervision.Default, progressInterval ?? TimeSpan.FromSeconds(1), jobs ?? new JobsInFlight()));

    /// <summary>Work to run: its result message goes to <paramref name="ReplyTo"/>.</summary>
    /// <param name="Work">The work; it gets a token cancelled when its worker stops.</param>
    /// <param name="ReplyTo">Who gets the result and the progress notices; null means the sender of the job (for Ask).</param>
    /// <param name="Tag">Identifies the job in <see cref="JobFailed"/> and <see cref="JobProgress"/>.</param>
    public sealed record Job(Func<CancellationToken, Task<object>> Work, IActorRef? ReplyTo, object? Tag = null) : INoSerializationVerificationNeeded
    {
        /// <summary>Where the work reports how far it got; null when it cannot tell (its requester then hears only the end).</summary>
        public ProgressMeter? Progress { get; init; }
    }

    /// <summary>A job threw.</summary>
    public sealed record JobFailed(object? Tag, Exception Cause) : INoSerializationVerificationNeeded;

    /// <summary>A job moved (or, while it waits in the queue, the work ahead of it moved).</summary>
    public sealed record JobProgress(object? Tag) : IProgressNotice, INoSerializationVerificationNeeded, IDeadLetterSuppression;

    /// <summary>Asks for counts.</summary>
    public sealed record GetStats : INoSerializationVerificationNeeded;

    /// <summary>Jobs running and waiting.</summary>
    public sealed record Stats(int Running, int Queued) : INoSerializationVerificationNeeded;

    /// <summary>A worker (new, or back from a failure) takes work.</summary>
    private sealed record WorkerReady : INoSerializationVerificationNeeded;

    /// <summary>A worker's job ended; <paramref name="Faulted"/>: the worker itself is in question and says when it is ready again.</summary>
    private sealed record JobEnded(bool Faulted) : INoSerializationVerificationNeeded;

    private sealed record ReplaceSlot : INoSerializationVerificationNeeded;

    private sealed record ProgressTick : INoSerializationVerificationNeeded;

    private sealed class Running(Job job)
    {
        public Job Job { get; } = job;

        public long Moves { get; set; } = job.Progress?.Moves ?? 0;
    }

    protected override void PreStart()
    {
        for (var i = 0; i < _concurrency; i++)
        {
            AddSlot();
        }

        Timers.StartPeriodicTimer("progress", new ProgressTick(), _progressInterval);
    }

    // A slot is a backoff supervisor with one worker in it; the worker says when it is ready.
    private void AddSlot()
    {
        var slot = Context.ActorOf(_supervision.Supervised(Worker.Props(Self, _jobs), "worker"), $"slot-{++_slots}");
        Context.Watch(slot);
    }

    private void OnReady(IActorRef worker)
    {
        Context.Watch(worker);
        if (!_idle.Contains(worker) && !_running.ContainsKey(worker))
        {
            _idle.Add(worker);
        }

        StartQueued();
    }

    private void OnEnded(IActorRef worker, JobEnded ended)
    {
        _running.Remove(worker);
        _movedSinceTick = true;
        if (!ended.Faulted)
        {
            _idle.Add(worker);
        }

        StartQueued();
    }

    private void OnTerminated(IActorRef actor)
    {
        // A worker that failed told its requester before it stopped; one that stops otherwise does so with its node.
        _idle.Remove(actor);
        _running.Remove(actor);

        if (actor.Path.Parent.Equals(Self.Path))
        {
            // A slot gave up (its worker exhausted the retry budget): the place stays empty for the longest backoff.
            _log.Warning("Worker {0} stopped after repeated failures; a new one starts in {1}", actor.Path.Name, _supervision.MaxBackoff);
            Timers.StartSingleTimer(actor.Path.Name, new ReplaceSlot(), _supervision.MaxBackoff);
        }
    }

    private void StartQueued()
    {
        while (_idle.Count > 0 && _queue.TryDequeue(out var job))
        {
            var worker = _idle[^1];
            _idle.RemoveAt(_idle.Count - 1);
            _running[worker] = new Running(job);
            worker.Tell(job);
        }
    }

    private void OnProgressTick()
    {
        foreach (var running in _running.Values)
        {
            if (running.Job.Progress is { } meter && meter.Moves != running.Moves)
            {
                running.Moves = meter.Moves;
                running.Job.ReplyTo!.Tell(new JobProgress(running.Job.Tag));
                _movedSinceTick = true;
            }
        }

        if (_movedSinceTick)
        {
            foreach (var queued in _queue)
            {
                queued.ReplyTo!.Tell(new JobProgress(queued.Tag));
            }
        }

        _movedSinceTick = false;
    }

    /// <summary>
    /// Runs one job at a time off the actor's thread and answers its requester. A job that failed for a reason of its
    /// own (<see cref="WorkerSupervision.Decide"/> says resume) leaves the worker ready; any other failure is thrown
    /// after the requester heard it, for the supervisor to restart (with backoff) or stop the worker.
    /// </summary>
    internal sealed class Worker : ReceiveActor
    {
        private readonly IActorRef _pool;
        private readonly JobsInFlight _jobs;
        private CancellationTokenSource? _running;

        public Worker(IActorRef pool, JobsInFlight jobs)
        {
            _pool = pool;
            _jobs = jobs;
            Receive<Job>(Run);
            Receive<Outcome>(OnOutcome);
            Receive<Rested>(_ => _pool.Tell(new WorkerReady()));
        }

        public static Props Props(IActorRef pool, JobsInFlight jobs) => Akka.Actor.Props.Create(() => new Worker(pool, jobs));

        protected override void PreStart() => _pool.Tell(new WorkerReady());

        protected override void PostStop()
        {
            _running?.Cancel();
            _running?.Dispose();
        }

        private void Run(Job job)
        {
            _running = new CancellationTokenSource();
            var token = _running.Token;
            var self = Self;
            var jobs = _jobs;
            jobs.Enter();
            _ = Task.Run(async () =>
            {
                try
                {
                    self.Tell(new Outcome(job, await job.Work(token).ConfigureAwait(false), null));
                }
                catch (Exception e)
                {
                    self.Tell(new Outcome(job, null, e));
                }
                finally
                {
                    jobs.Leave();
                }
            }, CancellationToken.None);
        }

        private void OnOutcome(Outcome outcome)
        {
            _running?.Dispose();
            _running = null;
            if (outcome.Error is not { } error)
            {
                outcome.Job.ReplyTo!.Tell(outcome.Result!);
                _pool.Tell(new JobEnded(Faulted: false));
                return;
            }

            outcome.Job.ReplyTo!.Tell(new JobFailed(outcome.Job.Tag, error));
            if (WorkerSupervision.Decide(error) == Directive.Resume)
            {
                _pool.Tell(new JobEnded(Faulted: false));
                return;
            }

            // Resumed, this worker reads Rested next and is ready again; restarted or stopped, the message dies with
            // it and a new worker announces itself.
            _pool.Tell(new JobEnded(Faulted: true));
            Self.Tell(new Rested());
            ExceptionDispatchInfo.Capture(error).Throw();
        }

        private sealed record Outcome(Job Job, object? Result, Exception? Error) : INoSerializationVerificationNeeded;

        private sealed record Rested : INoSerializationVerificationNeeded, IDeadLetterSuppression;
    }
}
