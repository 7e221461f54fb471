using Akka.Actor;
using Akka.Cluster.Sharding;
using ImageActors.Images.Domain;
using ImageActors.Streaming;

namespace ImageActors.Images.Actors;

/// <summary>
/// The files of one fingerprint (<c>images/&lt;fp&gt;</c> and <c>&lt;fp&gt;.rootfs</c>), shared by every project that
/// holds an image with it. A project claims the files before it writes them and keeps the claim while its image is
/// stored; it releases the claim when its image goes. The files are removed when the last claim is released, and a
/// write waits while a removal runs, so a removal never takes files that a project is writing or holds: the order
/// in which claims and releases arrive here decides.
/// </summary>
/// <remarks>
/// Claims live in memory. A new incarnation starts with the projects the read model lists as holding the
/// fingerprint, which is exact at start-up (the read model is rebuilt from the journal first) and afterwards
/// because the actor stops only when it has no claims and the read model lists none either.
/// </remarks>
internal sealed class ImageFilesActor : ReceiveActor, IWithTimers
{
    private readonly Fingerprint _fingerprint;
    private readonly ImageStoreContext _context;
    private readonly HashSet<ProjectName> _holders;
    private readonly List<IActorRef> _writersWaiting = [];
    private readonly List<IActorRef> _releasesWaiting = [];
    private bool _removing;

    public ImageFilesActor(Fingerprint fingerprint, ImageStoreContext context)
    {
        _fingerprint = fingerprint;
        _context = context;
        _holders = [.. context.Catalog.ProjectsHolding(fingerprint)];

        Receive<Claim>(OnClaim);
        Receive<Release>(OnRelease);
        Receive<FilesRemoved>(_ => OnRemovalEnded());
        Receive<WorkerPool.JobFailed>(_ => OnRemovalEnded()); // files left behind are swept at the next start
        Receive<GetStatus>(_ => Sender.Tell(new FilesStatus([.. _holders.Order()], _removing, _writersWaiting.Count)));
        Receive<IdleCheck>(_ => OnIdleCheck());
    }

    /// <inheritdoc />
    public ITimerScheduler Timers { get; set; } = null!;

    public static Props Props(Fingerprint fingerprint, ImageStoreContext context) =>
        Akka.Actor.Props.Create(() => new ImageFilesActor(fingerprint, context));

    protected override void PreStart()
    {
        if (_context.PassivateIdleAfter is { } idle)
        {
            Timers.StartPeriodicTimer(IdleCheck.Instance, IdleCheck.Instance, idle);
        }
    }

    /// <summary>
    /// <paramref name="Project"/> is about to write the files (and will hold them once its image is stored);
    /// reply <see cref="Claimed"/> when it may write, which is after a removal under way has finished.
    /// </summary>
    public sealed record Claim(ProjectName Project);

    /// <summary>The claimant may write the files now.</summary>
    public sealed record Claimed(Fingerprint Fingerprint);

    /// <summary>
    /// <paramref name="Project"/> no longer needs the files (its image was deleted, or its import abandoned); reply
    /// <see cref="Released"/> once they are removed, or at once when another project still claims them.
    /// </summary>
    public sealed record Release(ProjectName Project);

    /// <summary>Reply to <see cref="Release"/>.</summary>
    /// <param name="Fingerprint">The files' fingerprint.</param>
    /// <param name="Removed">Whether the files were removed (false: another project holds or writes them).</param>
    public sealed record Released(Fingerprint Fingerprint, bool Removed);

    /// <summary>Reply: <see cref="FilesStatus"/>.</summary>
    public sealed record GetStatus;

    /// <summary>Who claims the files, whether a removal runs, and how many writers wait for it.</summary>
    public sealed record FilesStatus(IReadOnlyList<ProjectName> Holders, bool Removing, int WritersWaiting);

    /// <summary>Worker result: the files are gone.</summary>
    public sealed record FilesRemoved;

    private void OnClaim(Claim claim)
    {
        _holders.Add(claim.Project);
        if (_removing)
        {
            _writersWaiting.Add(Sender);
        }
        else
        {
            Sender.Tell(new Claimed(_fingerprint));
        }
    }

    private void OnRelease(Release release)
    {
        _holders.Remove(release.Project);
        if (_removing)
        {
            _releasesWaiting.Add(Sender);
        }
        else if (_holders.Count > 0)
        {
            Sender.Tell(new Released(_fingerprint, Removed: false));
        }
        else
        {
            _releasesWaiting.Add(Sender);
            _removing = true;
            var blobs = _context.Blobs;
            var fingerprint = _fingerprint;
            _context.FilePool.Tell(new WorkerPool.Job(_ =>
            {
                blobs.Delete(fingerprint);
                return Task.FromResult<object>(new FilesRemoved());
            }, Self, "remove"));
        }
    }

    private void OnRemovalEnded()
    {
        _removing = false;
        foreach (var waiter in _releasesWaiting)
        {
            waiter.Tell(new Released(_fingerprint, Removed: true));
        }

        _releasesWaiting.Clear();

        // Writers that arrived during the removal write into a clean slate now.
        foreach (var writer in _writersWaiting)
        {
            writer.Tell(new Claimed(_fingerprint));
        }

        _writersWaiting.Clear();
    }

    // Stopping with claims would lose them; stopping while the read model still lists a holder (a delete not yet
    // projected) would bring that holder back in the next incarnation.
    private void OnIdleCheck()
    {
        if (_holders.Count == 0 && !_removing && _context.Catalog.ProjectsHolding(_fingerprint).Count == 0)
        {
            Context.Parent.Tell(new Passivate(PoisonPill.Instance));
        }
    }
}
