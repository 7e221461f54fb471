using Akka.Actor;
using Akka.Event;
using ImageActors.Images.Caching;
using ImageActors.Images.Configuration;
using ImageActors.Images.Diagnostics;
using ImageActors.Images.Domain;

namespace ImageActors.Images.Actors;

/// <summary>
/// Applies the cache rules (spec §5.2, and <c>expires_at</c>, and <c>images.cache_max_size</c>):
/// at start, then every interval, and on request. It plans from the read model and asks each
/// image's actor to go; an image actor refuses while an export or alias still uses the image.
/// </summary>
/// <remarks>
/// A run is slow work (one ask per image), so it runs outside the handler and ends as a message
/// (<see cref="RunEnded"/>): a run that fails does not crash the actor, its requesters get an
/// <see cref="EvictionFailedException"/> naming the image and step, and the timer keeps its phase.
/// One run at a time: a request that arrives during a run waits for one more run right after it,
/// which serves every request that arrived meanwhile; a tick during a run is covered by that run.
/// </remarks>
internal sealed class EvictionActor : ReceiveActor
{

    private readonly ImageStoreContext _context;
    private readonly ImagesOptions _options;
    private readonly TimeSpan? _interval;

    // The run under way (null when none), its requesters, and the requesters of the run after it.
    private object? _run;
    private List<IActorRef> _waiters = [];
    private List<IActorRef> _waitingForNext = [];

    // Images the requesters of the next run asked to keep (each just stored by its requester).
    private HashSet<string> _keepNext = new(StringComparer.Ordinal);
    private ITimer? _schedule;

    public EvictionActor(ImageStoreContext context, ImagesOptions options, TimeSpan? interval)
    {
        _context = context;
        _options = options;
        _interval = interval is { } every && every > TimeSpan.Zero ? every : null;

        Receive<Tick>(_ =>
        {
            if (_run is null)
            {
                StartRun();
            }
        });
        Receive<RunNow>(request =>
        {
            _keepNext.UnionWith(request.Keep);
            if (_run is null)
            {
                _waiters.Add(Sender);
                StartRun();
            }
            else
            {
                _waitingForNext.Add(Sender);
            }
        });
        Receive<RunEnded>(OnRunEnded);
    }

    public static Props Props(ImageStoreContext context, ImagesOptions options, TimeSpan? interval) =>
        Akka.Actor.Props.Create(() => new EvictionActor(context, options, interval));

    /// <summary>Run the rules now, keeping the images <paramref name="Keep"/> names (fingerprints); reply <see cref="Evicted"/>, or a failure with <see cref="EvictionFailedException"/>.</summary>
    public sealed record RunNow(IReadOnlyList<string> Keep);

    /// <summary>What went.</summary>
    public sealed record Evicted(IReadOnlyList<Eviction> Images);

    // Timer and run results go to this actor itself, never across nodes.
    private sealed record Tick : INoSerializationVerificationNeeded;

    /// <summary>A run finished: what it removed, and the step that stopped it, if one failed.</summary>
    private sealed record RunEnded(object Run, IReadOnlyList<Eviction> Evicted, EvictionFailedException? Failure) : INoSerializationVerificationNeeded;

    // The schedule follows the store's clock (TimeProvider), so that the cache rules' time and their schedule are one.
    protected override void PreStart() => StartSchedule(TimeSpan.Zero);

    protected override void PostStop() => _schedule?.Dispose();

    protected override void PreRestart(Exception reason, object message)
    {
        // Only a fault in this actor's own bookkeeping gets here (a run's failure is a message); its requesters
        // would otherwise wait for an answer the new incarnation knows nothing about.
        var failure = new EvictionFailedException(null, "handling " + (message?.GetType().Name ?? "a message"), [], reason);
        foreach (var waiter in _waiters.Concat(_waitingForNext))
        {
            waiter.Tell(new Status.Failure(failure));
        }

        _waiters.Clear();
        _waitingForNext.Clear();
        base.PreRestart(reason, message);
    }

    protected override void PostRestart(Exception reason)
    {
        // The old incarnation's schedule stopped with it; the schedule goes on in its interval, without a run at
        // once that a persistent fault would turn into a restart loop.
        StartSchedule(_interval ?? TimeSpan.Zero);
    }

    private void StartSchedule(TimeSpan first)
    {
        if (_interval is { } every)
        {
            var self = Self;
            _schedule = _context.Clock.CreateTimer(_ => self.Tell(new Tick()), null, first, every);
        }
    }

    private void StartRun()
    {
        var run = new object();
        _run = run;
        var self = Self;
        var context = _context;
        var options = _options;
        var keep = _keepNext;
        _keepNext = new(StringComparer.Ordinal);
        _ = Task.Run(async () => self.Tell(await RunAsync(run, context, options, keep).ConfigureAwait(false)));
    }

    private void OnRunEnded(RunEnded ended)
    {
        if (!ReferenceEquals(ended.Run, _run))
        {
            // A run of an incarnation before a restart: its requesters were answered then.
            return;
        }

        _run = null;
        object reply = ended.Failure is null ? new Evicted(ended.Evicted) : new Status.Failure(ended.Failure);
        if (ended.Failure is not null && _waiters.Count == 0)
        {
            Context.GetLogger().Error(ended.Failure, "A scheduled eviction run failed; the next run tries again.");
        }

        foreach (var waiter in _waiters)
        {
            waiter.Tell(reply);
        }

        _waiters.Clear();
        if (_waitingForNext.Count > 0)
        {
            (_waiters, _waitingForNext) = (_waitingForNext, _waiters);
            StartRun();
        }
    }

    // Runs off the actor: it reads only the read model and the options, and talks to image actors by asking.
    private static async Task<RunEnded> RunAsync(object run, ImageStoreContext context, ImagesOptions options, HashSet<string> keep)
    {
        var done = new List<Eviction>();
        IReadOnlyList<Eviction> plan;
        try
        {
            plan = CacheRules.Plan(context.Catalog.List(), options.RemoteCacheExpiry, options.CacheMaxSize ?? 0, context.Clock.GetUtcNow(), i => keep.Contains(i.Fingerprint.ToString()));
        }
        catch (Exception e)
        {
            return new RunEnded(run, done, new EvictionFailedException(null, "planning from the read model", done, e));
        }

        // An image that refuses (an export open, or gone meanwhile) is passed over; the size bound then takes the next
        // least recently used one, so a busy image does not leave the cache above its bound until the next run.
        // An image used after the use the plan saw (uses are written at most once per interval) is ranked again by
        // its latest use. The rounds are bounded: uses that keep arriving cannot hold a run.
        var refused = new HashSet<(ProjectName, Streaming.Fingerprint)>();
        var usedSince = new Dictionary<(ProjectName, Streaming.Fingerprint), DateTimeOffset>();
        var evicted = new HashSet<Streaming.Fingerprint>();
        for (var round = 0; plan.Count > 0 && round < 8; round++)
        {
            var skippedBefore = refused.Count + usedSince.Count;
            var result = await EvictAsync(run, context, plan, done, refused, usedSince, evicted).ConfigureAwait(false);
            if (result is not null)
            {
                return result;
            }

            if (options.CacheMaxSize is not { } max || max <= 0 || refused.Count + usedSince.Count == skippedBefore)
            {
                break;
            }

            try
            {
                var left = context.Catalog.List()
                    .Where(i => !evicted.Contains(i.Fingerprint))
                    .Select(i => usedSince.TryGetValue((i.Project, i.Fingerprint), out var at) && at > i.LastUsedAt ? i with { LastUsedAt = at } : i)
                    .ToList();
                plan = [.. CacheRules.OverQuota(left, max, i => keep.Contains(i.Fingerprint.ToString()) || refused.Contains((i.Project, i.Fingerprint)))
                    .Select(i => new Eviction(i, EvictionReason.OverQuota))];
            }
            catch (Exception e)
            {
                return new RunEnded(run, done, new EvictionFailedException(null, "planning from the read model", done, e));
            }
        }

        return new RunEnded(run, done, null);
    }

    // Asks each image of the plan to go; returns the run's end when a step failed, null when the plan was worked through.
    private static async Task<RunEnded?> EvictAsync(
        object run,
        ImageStoreContext context,
        IReadOnlyList<Eviction> plan,
        List<Eviction> done,
        HashSet<(ProjectName, Streaming.Fingerprint)> refused,
        Dictionary<(ProjectName, Streaming.Fingerprint), DateTimeOffset> usedSince,
        HashSet<Streaming.Fingerprint> evicted)
    {
        foreach (var eviction in plan)
        {
            object reply;
            using var activity = ImageActorsDiagnostics.Source.StartActivity(ImageActorsDiagnostics.EvictActivity);
            activity?.SetTag(ImageActorsDiagnostics.ProjectTag, eviction.Image.Project.Value);
            activity?.SetTag(ImageActorsDiagnostics.FingerprintTag, eviction.Image.Fingerprint.ToString());
            activity?.SetTag("imageactors.eviction.reason", eviction.Reason.ToString());
            try
            {
                reply = await context.AskImage<object>(eviction.Image.Project, eviction.Image.Fingerprint, new ImageProtocol.Evict(eviction.Reason, eviction.Image.LastUsedAt)).ConfigureAwait(false);
            }
            catch (ImageStoreException)
            {
                // Gone or busy meanwhile: the next run looks again.
                refused.Add((eviction.Image.Project, eviction.Image.Fingerprint));
                continue;
            }
            catch (Exception e)
            {
                return new RunEnded(run, done, new EvictionFailedException(eviction, "asking the image to go", done, e));
            }

            activity?.SetTag("imageactors.evicted", reply is ImageProtocol.Deleted);
            if (reply is ImageProtocol.Deleted)
            {
                context.Metrics.Evicted(eviction.Reason);
                done.Add(eviction);
                evicted.Add(eviction.Image.Fingerprint);
                try
                {
                    context.RaiseImage("image-deleted", eviction.Image);
                }
                catch (Exception e)
                {
                    return new RunEnded(run, done, new EvictionFailedException(eviction, "announcing its deletion", done, e));
                }
            }
            else if (reply is ImageProtocol.EvictionSkipped { UsedAt: { } usedAt })
            {
                usedSince[(eviction.Image.Project, eviction.Image.Fingerprint)] = usedAt;
            }
            else
            {
                refused.Add((eviction.Image.Project, eviction.Image.Fingerprint));
            }
        }

        return null;
    }
}
