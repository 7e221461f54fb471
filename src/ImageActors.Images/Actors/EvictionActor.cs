using Akka.Actor;
using Akka.Event;
using ImageActors.Images.Caching;
using ImageActors.Images.Configuration;
using ImageActors.Images.Diagnostics;
using ImageActors.Images.Domain;
using ImageActors.Streaming;

namespace ImageActors.Images.Actors;

/// <summary>
/// Applies the cache rules (spec §5.2, and <c>expires_at</c>, and <c>images.cache_max_size</c>):
/// at start, then every interval, and on request. It plans from the read model and asks each
/// image's actor to go; an image actor refuses while an export or alias still uses the image.
/// </summary>
/// <remarks>
/// <para>
/// A pass is slow work (one ask per image), so it runs outside the handler and ends as a message
/// (<see cref="RunEnded"/>): a pass that fails does not crash the actor, and the timer keeps its phase.
/// One pass at a time: a request that arrives during a pass waits for one more pass right after it,
/// which serves every request that arrived meanwhile; a tick during a pass is covered by that pass.
/// </para>
/// <para>
/// A pass asks up to <see cref="Parallelism"/> images at once. The size bound counts the bytes of an image being asked
/// as going and asks the next least recently used image only while the bound is not met by what went and what is
/// going; an image that refuses (held by a request, or used since the use the plan saw) hands its turn to the next
/// one, so a pass ends with the bound met or with every candidate asked. A step that fails does not stop the others:
/// the pass answers its requesters with an <see cref="EvictionFailedException"/> naming the first failed image and
/// step, and the next pass tries again what failed (an image that was not removed is planned again; a deletion whose
/// announcement failed is announced again).
/// </para>
/// <para>
/// An image that has not answered within <see cref="SlowAnswer"/> (by the store's clock) does not hold the pass: its
/// bytes stop counting as going, the pass asks the next candidate instead and ends without waiting for it. Its answer
/// still counts and announces what it removed when it comes, and a failure is logged; the next pass plans it again.
/// A download that waits for a pass of the size bound waits for that long at most per image, not for an ask timeout.
/// </para>
/// <para>
/// The read model lags behind the image actors, so a pass also plans from what the actors told it: an image removed is
/// not counted while the read model still lists it, an image stored is counted before the read model lists it, and a
/// use an actor reported is ranked by until the read model shows it. A pass of the size bound alone starts as soon as an
/// image actor stored a cached image, and again when the last export of an image a pass could not remove closed;
/// expiry stays with the interval and with explicit requests.
/// </para>
/// </remarks>
internal sealed class EvictionActor : ReceiveActor
{
    /// <summary>How many images a pass asks to go at once.</summary>
    public const int Parallelism = 8;

    /// <summary>How long a pass waits for one image's answer before it goes on without it.</summary>
    public static readonly TimeSpan SlowAnswer = TimeSpan.FromSeconds(5);

    private readonly ImageStoreContext _context;
    private readonly ImagesOptions _options;
    private readonly TimeSpan? _interval;

    // The pass under way (null when none), its requesters, and the requesters of the pass after it.
    private object? _run;
    private List<IActorRef> _waiters = [];
    private List<IActorRef> _waitingForNext = [];

    // Images the requesters of the next pass asked to keep (each just stored by its requester).
    private HashSet<string> _keepNext = new(StringComparer.Ordinal);
    private ITimer? _schedule;

    // What earlier passes learnt from the image actors, until the read model shows it too.
    private Learnt _learnt = Learnt.Nothing;

    // Images stored since the last pass started, and whether a pass is due once the one under way ended.
    private Dictionary<(ProjectName, Fingerprint), ImageRecord> _storedNext = [];
    private bool _again;

    public EvictionActor(ImageStoreContext context, ImagesOptions options, TimeSpan? interval)
    {
        _context = context;
        _options = options;
        _interval = interval is { } every && every > TimeSpan.Zero ? every : null;

        Receive<Tick>(_ =>
        {
            if (_run is null)
            {
                StartRun(sizeOnly: false);
            }
        });
        Receive<RunNow>(request =>
        {
            _keepNext.UnionWith(request.Keep);
            if (_run is null)
            {
                _waiters.Add(Sender);
                StartRun(sizeOnly: false);
            }
            else
            {
                _waitingForNext.Add(Sender);
            }
        });
        Receive<Stored>(stored =>
        {
            _storedNext[(stored.Image.Project, stored.Image.Fingerprint)] = stored.Image;
            _keepNext.Add(stored.Image.Fingerprint.ToString());
            RunSoon();
        });
        Receive<Released>(_ => RunSoon());
        Receive<RunEnded>(OnRunEnded);
        Receive<WentOnWithout>(w => Context.GetLogger().Warning(
            "Image {0} in project {1} did not answer within {2} whether it went; the eviction pass went on without it.",
            w.Eviction.Image.Fingerprint, w.Eviction.Image.Project, SlowAnswer));
        Receive<AnsweredLate>(OnAnsweredLate);
    }

    public static Props Props(ImageStoreContext context, ImagesOptions options, TimeSpan? interval) =>
        Akka.Actor.Props.Create(() => new EvictionActor(context, options, interval));

    /// <summary>Run the rules now, keeping the images <paramref name="Keep"/> names (fingerprints); reply <see cref="Evicted"/>, or a failure with <see cref="EvictionFailedException"/>.</summary>
    public sealed record RunNow(IReadOnlyList<string> Keep);

    /// <summary>What went.</summary>
    public sealed record Evicted(IReadOnlyList<Eviction> Images);

    /// <summary>
    /// An image actor stored a cached image: a pass of the size bound runs now (the image kept in it), counting the image
    /// even while the read model does not list it yet. No reply.
    /// </summary>
    public sealed record Stored(ImageRecord Image);

    /// <summary>The last export of an image a pass could not remove closed: a pass runs now if the bound is not met. No reply.</summary>
    public sealed record Released(ProjectName Project, Fingerprint Fingerprint);

    // Timer and pass results go to this actor itself, never across nodes.
    private sealed record Tick : INoSerializationVerificationNeeded;

    /// <summary>A pass finished: what it removed, the steps that failed (first first), and what it learnt for the next pass.</summary>
    private sealed record RunEnded(object Run, IReadOnlyList<Eviction> Evicted, IReadOnlyList<StepFailed> Failures, Learnt Learnt) : INoSerializationVerificationNeeded;

    private sealed record StepFailed(Eviction? Eviction, string Step, Exception Cause);

    /// <summary>A pass stopped waiting for the image to answer (<see cref="SlowAnswer"/>).</summary>
    private sealed record WentOnWithout(Eviction Eviction) : INoSerializationVerificationNeeded;

    /// <summary>An image a pass went on without answered: what it came to.</summary>
    private sealed record AnsweredLate(Outcome Outcome) : INoSerializationVerificationNeeded;

    private const string AnnouncingStep = "announcing its deletion";

    /// <summary>
    /// What the image actors told earlier passes that the read model may not show yet: images removed (by the upload
    /// time of the record removed, so that an image fetched again is not mistaken for it), uses newer than the read
    /// model's, cached images stored, and removals whose announcement failed.
    /// </summary>
    private sealed record Learnt(
        IReadOnlyDictionary<(ProjectName, Fingerprint), DateTimeOffset> Removed,
        IReadOnlyDictionary<(ProjectName, Fingerprint), DateTimeOffset> UsedAt,
        IReadOnlyDictionary<(ProjectName, Fingerprint), ImageRecord> Stored,
        IReadOnlyList<Eviction> Unannounced)
    {
        public static readonly Learnt Nothing = new(
            new Dictionary<(ProjectName, Fingerprint), DateTimeOffset>(),
            new Dictionary<(ProjectName, Fingerprint), DateTimeOffset>(),
            new Dictionary<(ProjectName, Fingerprint), ImageRecord>(),
            []);
    }

    // The schedule follows the store's clock (TimeProvider), so that the cache rules' time and their schedule are one.
    protected override void PreStart() => StartSchedule(TimeSpan.Zero);

    protected override void PostStop() => _schedule?.Dispose();

    protected override void PreRestart(Exception reason, object message)
    {
        // Only a fault in this actor's own bookkeeping gets here (a pass's failure is a message); its requesters
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
        // The old incarnation's schedule stopped with it; the schedule goes on in its interval, without a pass at
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

    // A pass of the size bound alone, nobody waiting for it: now, or right after the one under way (one more pass serves
    // every such request). Expiry stays a matter of the interval and of explicit requests.
    private void RunSoon()
    {
        if (_options.CacheMaxSize is not > 0)
        {
            _storedNext.Clear();
            _keepNext.Clear();
            return;
        }

        if (_run is null)
        {
            StartRun(sizeOnly: true);
        }
        else
        {
            _again = true;
        }
    }

    private void StartRun(bool sizeOnly)
    {
        var run = new object();
        _run = run;
        _again = false;
        var self = Self;
        var stored = new Dictionary<(ProjectName, Fingerprint), ImageRecord>(_learnt.Stored);
        foreach (var (key, image) in _storedNext)
        {
            stored[key] = image;
        }

        var pass = new Pass(run, self, _context, _options, sizeOnly, _keepNext, _learnt with { Stored = stored });
        _keepNext = new(StringComparer.Ordinal);
        _storedNext = [];
        _ = Task.Run(async () => self.Tell(await pass.RunAsync().ConfigureAwait(false)));
    }

    private void OnRunEnded(RunEnded ended)
    {
        if (!ReferenceEquals(ended.Run, _run))
        {
            // A pass of an incarnation before a restart: its requesters were answered then.
            return;
        }

        _run = null;
        _learnt = ended.Learnt;
        object reply = ended.Failures.Count == 0
            ? new Evicted(ended.Evicted)
            : new Status.Failure(Failure(ended));
        if (ended.Failures.Count > 0 && _waiters.Count == 0)
        {
            Context.GetLogger().Error(Failure(ended), "A scheduled eviction pass failed; the next pass tries again.");
        }

        foreach (var waiter in _waiters)
        {
            waiter.Tell(reply);
        }

        _waiters.Clear();
        if (_waitingForNext.Count > 0)
        {
            (_waiters, _waitingForNext) = (_waitingForNext, _waiters);
            StartRun(sizeOnly: false);
        }
        else if (_again)
        {
            StartRun(sizeOnly: true);
        }
    }

    // The removal it did was counted and announced by its pass's flow; a failure has nobody else to hear it.
    private void OnAnsweredLate(AnsweredLate late)
    {
        var outcome = late.Outcome;
        foreach (var deleted in outcome.Deleted)
        {
            Context.GetLogger().Info("Image {0} in project {1} went after its eviction pass had gone on without it.", deleted.Image.Fingerprint, deleted.Image.Project);
        }

        if (outcome.Failures.Count > 0)
        {
            var first = outcome.Failures[0];
            Context.GetLogger().Error(
                new EvictionFailedException(first.Eviction, first.Step, outcome.Deleted, first.Cause, outcome.Failures.Count - 1),
                "An eviction that its pass went on without failed; the next pass tries again.");
        }
    }

    private static EvictionFailedException Failure(RunEnded ended)
    {
        var first = ended.Failures[0];
        return new EvictionFailedException(first.Eviction, first.Step, ended.Evicted, first.Cause, ended.Failures.Count - 1);
    }

    /// <summary>One pass, off the actor: it reads the read model and the options, and talks to image actors by asking.</summary>
    private sealed class Pass(object run, IActorRef eviction, ImageStoreContext context, ImagesOptions options, bool sizeOnly, HashSet<string> keep, Learnt learnt)
    {
        private readonly List<Eviction> _done = [];
        private readonly List<StepFailed> _failures = [];
        private readonly Dictionary<(ProjectName, Fingerprint), DateTimeOffset> _removed = new(learnt.Removed);
        private readonly Dictionary<(ProjectName, Fingerprint), DateTimeOffset> _usedAt = new(learnt.UsedAt);
        private readonly Dictionary<(ProjectName, Fingerprint), ImageRecord> _stored = new(learnt.Stored);
        private readonly List<Eviction> _unannounced = [];

        public async Task<RunEnded> RunAsync()
        {
            // Deletions an earlier pass could not announce are announced first.
            foreach (var eviction in learnt.Unannounced)
            {
                if (Announce(eviction) is { } failed)
                {
                    _failures.Add(failed);
                    _unannounced.Add(eviction);
                }
            }

            List<ImageRecord> images;
            try
            {
                images = Current(context.Catalog.List());
            }
            catch (Exception e)
            {
                _failures.Add(new StepFailed(null, "planning from the read model", e));
                return Ended();
            }

            var now = context.Clock.GetUtcNow();
            bool Pinned(ImageRecord i) => keep.Contains(i.Fingerprint.ToString());
            IReadOnlyList<Eviction> expired = sizeOnly ? [] : CacheRules.Plan(images, options.RemoteCacheExpiry, 0, now, Pinned);
            var going = expired.Select(e => (e.Image.Project, e.Image.Fingerprint)).ToHashSet();
            var remaining = images.Where(i => !going.Contains((i.Project, i.Fingerprint))).ToList();
            var excess = options.CacheMaxSize is > 0 and var max ? CacheRules.CachedSize(remaining) - max : 0;
            var candidates = excess > 0
                ? CacheRules.SizeCandidates(remaining, Pinned).Select(g => new Unit([.. g.Select(i => new Eviction(i, EvictionReason.OverQuota))], true, Retry: false)).ToList()
                : [];

            var expiring = new Queue<Unit>(expired.Select(e => new Unit([e], false, Retry: false)));
            var inFlight = new List<(Unit Unit, Task<Outcome> Asking, long Since)>();
            long asked = 0;
            long freed = 0;
            while (true)
            {
                while (inFlight.Count < Parallelism)
                {
                    Unit next;
                    if (expiring.Count > 0)
                    {
                        next = expiring.Dequeue();
                    }
                    else if (candidates.Count > 0 && excess - freed - asked > 0)
                    {
                        next = candidates[0];
                        candidates.RemoveAt(0);
                        asked += next.Bytes;
                    }
                    else
                    {
                        break;
                    }

                    inFlight.Add((next, EvictAsync(next), context.Clock.GetTimestamp()));
                }

                if (inFlight.Count == 0)
                {
                    break;
                }

                var finished = await FirstAnswerAsync(inFlight).ConfigureAwait(false);
                if (finished is not { } answered)
                {
                    // The image asked longest ago is slow to answer: the pass goes on without it, asking the next
                    // candidate for its bytes, and hears what it came to later.
                    var slow = inFlight.MinBy(f => f.Since);
                    inFlight.Remove(slow);
                    asked -= slow.Unit.ForSize ? slow.Unit.Bytes : 0;
                    GoOnWithout(slow.Unit, slow.Asking);
                    continue;
                }

                inFlight.Remove(answered);
                var outcome = await answered.Asking.ConfigureAwait(false);
                var unit = outcome.Unit;
                if (unit.ForSize)
                {
                    asked -= unit.Bytes;
                    freed += outcome.Gone ? unit.Bytes : 0;
                }

                Record(outcome);
                if (outcome.UsedAt is { } usedAt)
                {
                    // Ranked again by the use its actor reported, once per pass: uses that keep arriving cannot hold a pass.
                    if (unit.ForSize && !unit.Retry)
                    {
                        var again = unit.UsedAt(usedAt);
                        var at = candidates.FindIndex(c => Rank(c, again) > 0);
                        candidates.Insert(at < 0 ? candidates.Count : at, again);
                    }
                }
            }

            return Ended();
        }

        // The first unit to answer, or null when the one asked longest ago has not answered within SlowAnswer.
        private async Task<(Unit Unit, Task<Outcome> Asking, long Since)?> FirstAnswerAsync(List<(Unit Unit, Task<Outcome> Asking, long Since)> inFlight)
        {
            var wait = SlowAnswer - context.Clock.GetElapsedTime(inFlight.Min(f => f.Since));
            if (inFlight.FirstOrDefault(f => f.Asking.IsCompleted) is { Asking: not null } done)
            {
                return done;
            }

            if (wait <= TimeSpan.Zero)
            {
                return null;
            }

            using var stopWaiting = new CancellationTokenSource();
            var timeUp = Task.Delay(wait, context.Clock, stopWaiting.Token);
            var first = await Task.WhenAny(inFlight.Select(f => (Task)f.Asking).Append(timeUp)).ConfigureAwait(false);
            await stopWaiting.CancelAsync().ConfigureAwait(false);
            return first == timeUp ? null : inFlight.First(f => f.Asking == first);
        }

        private void GoOnWithout(Unit unit, Task<Outcome> asking)
        {
            eviction.Tell(new WentOnWithout(unit.Evictions[0]));
            _ = asking.ContinueWith(
                static (answered, to) => ((IActorRef)to!).Tell(new AnsweredLate(answered.Result)),
                eviction,
                CancellationToken.None,
                TaskContinuationOptions.ExecuteSynchronously,
                TaskScheduler.Default);
        }

        private RunEnded Ended() =>
            new(run, _done, _failures, new Learnt(_removed, _usedAt, _stored, _unannounced));

        // The read model's images less those the actors said are gone, with the newest use any actor reported; what the
        // read model has caught up with is forgotten.
        private List<ImageRecord> Current(IReadOnlyCollection<ImageRecord> listed)
        {
            var byKey = listed.ToDictionary(i => (i.Project, i.Fingerprint));
            foreach (var (key, uploaded) in _removed.ToList())
            {
                if (!byKey.TryGetValue(key, out var image) || image.UploadedAt != uploaded)
                {
                    _removed.Remove(key);
                }
            }

            foreach (var (key, at) in _usedAt.ToList())
            {
                if (!byKey.TryGetValue(key, out var image) || image.LastUsedAt >= at)
                {
                    _usedAt.Remove(key);
                }
            }

            bool IsRemoved(ImageRecord i) => _removed.TryGetValue((i.Project, i.Fingerprint), out var uploaded) && uploaded == i.UploadedAt;
            foreach (var (key, image) in _stored.ToList())
            {
                if (IsRemoved(image) || (byKey.TryGetValue(key, out var shown) && shown.UploadedAt == image.UploadedAt))
                {
                    _stored.Remove(key);
                }
            }

            var current = listed.Where(i => !IsRemoved(i)).ToDictionary(i => (i.Project, i.Fingerprint));
            foreach (var (key, image) in _stored)
            {
                current[key] = image;
            }

            return [.. current.Values.Select(i => _usedAt.TryGetValue((i.Project, i.Fingerprint), out var at) && at > i.LastUsedAt ? i with { LastUsedAt = at } : i)];
        }

        private static int Rank(Unit a, Unit b)
        {
            var byUse = a.LastTouched.CompareTo(b.LastTouched);
            return byUse != 0 ? byUse : a.Evictions[0].Image.Fingerprint.CompareTo(b.Evictions[0].Image.Fingerprint);
        }

        // Asks each record of one unit to go, in turn. It never throws: a failed step is part of its outcome, which the
        // pass takes in when the unit ends (units run concurrently and share nothing).
        private async Task<Outcome> EvictAsync(Unit unit)
        {
            var outcome = new Outcome(unit);
            foreach (var eviction in unit.Evictions)
            {
                var image = eviction.Image;
                object reply;
                using var activity = ImageActorsDiagnostics.Source.StartActivity(ImageActorsDiagnostics.EvictActivity);
                activity?.SetTag(ImageActorsDiagnostics.ProjectTag, image.Project.Value);
                activity?.SetTag(ImageActorsDiagnostics.FingerprintTag, image.Fingerprint.ToString());
                activity?.SetTag("imageactors.eviction.reason", eviction.Reason.ToString());
                try
                {
                    reply = await context.AskImage<object>(image.Project, image.Fingerprint, new ImageProtocol.Evict(eviction.Reason, image.LastUsedAt)).ConfigureAwait(false);
                }
                catch (Exception e) when (e is ImageNotFoundException or ImageBusyException)
                {
                    // Gone or busy meanwhile: the next pass looks again.
                    return outcome;
                }
                catch (Exception e)
                {
                    // A journal that refused the deletion, an ask that timed out: the image stays, the next pass retries.
                    ImageActorsDiagnostics.Failed(activity, e);
                    outcome.Failures.Add(new StepFailed(eviction, "asking the image to go", e));
                    return outcome;
                }

                activity?.SetTag("imageactors.evicted", reply is ImageProtocol.Deleted);
                switch (reply)
                {
                    case ImageProtocol.Deleted:
                        context.Metrics.Evicted(eviction.Reason);
                        outcome.Deleted.Add(eviction);
                        if (Announce(eviction) is { } failed)
                        {
                            outcome.Failures.Add(failed);
                        }

                        break;
                    case ImageProtocol.EvictionSkipped { Why: ImageProtocol.EvictionSkipped.NotStored }:
                        // The read model still lists an image that is gone: its bytes are not there to count.
                        outcome.NotStored.Add(eviction);
                        break;
                    case ImageProtocol.EvictionSkipped { UsedAt: { } usedAt }:
                        outcome.UsedAt = usedAt;
                        return outcome;
                    default:
                        return outcome;
                }
            }

            outcome.Gone = true;
            return outcome;
        }

        // Takes in what one unit did (on the pass's own flow, one outcome at a time).
        private void Record(Outcome outcome)
        {
            foreach (var eviction in outcome.Deleted.Concat(outcome.NotStored))
            {
                var key = (eviction.Image.Project, eviction.Image.Fingerprint);
                _removed[key] = eviction.Image.UploadedAt;
                if (_stored.TryGetValue(key, out var stored) && stored.UploadedAt == eviction.Image.UploadedAt)
                {
                    _stored.Remove(key);
                }
            }

            _done.AddRange(outcome.Deleted);
            _failures.AddRange(outcome.Failures);
            _unannounced.AddRange(outcome.Failures.Where(f => f.Step == AnnouncingStep).Select(f => f.Eviction!));
            if (outcome.UsedAt is { } usedAt)
            {
                foreach (var eviction in outcome.Unit.Evictions)
                {
                    _usedAt[(eviction.Image.Project, eviction.Image.Fingerprint)] = usedAt;
                }
            }
        }

        private StepFailed? Announce(Eviction eviction)
        {
            try
            {
                context.RaiseImage("image-deleted", eviction.Image);
                return null;
            }
            catch (Exception e)
            {
                return new StepFailed(eviction, AnnouncingStep, e);
            }
        }
    }

    /// <summary>The records of one file (one per project holding it), asked in turn; the bytes go when all went.</summary>
    private sealed record Unit(IReadOnlyList<Eviction> Evictions, bool ForSize, bool Retry)
    {
        public long Bytes => Evictions[0].Image.Size;

        public DateTimeOffset LastTouched => Evictions.Max(e => CacheRules.LastTouched(e.Image));

        public Unit UsedAt(DateTimeOffset at) => new([.. Evictions.Select(e => e with { Image = e.Image with { LastUsedAt = at } })], ForSize, Retry: true);
    }

    /// <summary>What asking one unit came to; filled by that unit's flow alone, read by the pass once it ended.</summary>
    private sealed class Outcome(Unit unit)
    {
        public Unit Unit { get; } = unit;

        public bool Gone { get; set; }

        public DateTimeOffset? UsedAt { get; set; }

        public List<Eviction> Deleted { get; } = [];

        public List<Eviction> NotStored { get; } = [];

        public List<StepFailed> Failures { get; } = [];
    }
}
