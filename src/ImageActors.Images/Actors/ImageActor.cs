using System.Collections.Immutable;
using Akka.Actor;
using Akka.Cluster.Sharding;
using Akka.Persistence;
using Akka.Persistence.Journal;
using ImageActors.Images.Caching;
using ImageActors.Images.Domain;
using ImageActors.Images.Events;
using ImageActors.Streaming;
using ImageActors.Streaming.Storage;
using static ImageActors.Images.Actors.ImageProtocol;

namespace ImageActors.Images.Actors;

/// <summary>
/// One image in one project (persistence id = project + fingerprint): its record, its files and
/// everything that changes them. Imports and downloads of the same image join one operation
/// (single flight); file commits run on worker pools and come back as messages. The files are shared with
/// other projects holding the same fingerprint and belong to its <see cref="ImageFilesActor"/>: an import claims
/// them there before it writes, and a delete releases them there after the last export closed.
/// </summary>
internal sealed partial class ImageActor : ReceivePersistentActor, IWithTimers
{
    private readonly ProjectName _project;
    private readonly Fingerprint _fingerprint;
    private readonly ImageStoreContext _context;
    private readonly List<(IActorRef Waiter, bool FailIfExists)> _importWaiters = [];
    private readonly List<IActorRef> _deleteWaiters = [];
    private readonly HashSet<AliasName> _aliases = [];
    private ImageState _state = ImageState.Empty;
    private int _openExports;
    private bool _tellEvictionWhenUnheld;

    // What this image adds to the store's gauge of held images now: its size while it is stored and held.
    private (bool Cached, long Bytes)? _heldCounted;
    private bool _releaseWhenUnpinned;
    private (IActorRef Pool, WorkerPool.Job Job)? _writeWhenClaimed;
    private int _eventsSinceSnapshot;
    private long _sequenceAtLastCheck = -1;
    private int _awaitingAliasAcks;

    // Uses held back so that a busy image costs at most one write per interval: the latest one not yet written, and
    // when this incarnation last wrote one (a new incarnation writes its first use at once).
    private DateTimeOffset? _heldUse;
    private DateTimeOffset _lastUseWritten = DateTimeOffset.MinValue;

    // Who asked for each write in flight, oldest first: a write the journal refuses is answered to its requester.
    private readonly Queue<IActorRef> _writesFor = new();

    public ImageActor(ProjectName project, Fingerprint fingerprint, ImageStoreContext context)
    {
        _project = project;
        _fingerprint = fingerprint;
        _context = context;

        // Events replayed after the snapshot count towards the next one: an entity that lives for one change at a time
        // (a command per process, passivation when idle) still saves a snapshot every SnapshotEvery events.
        Recover<SnapshotOffer>(offer =>
        {
            _state = (ImageState)offer.Snapshot;
            _eventsSinceSnapshot = 0;
        });
        Recover<IImageEvent>(e =>
        {
            _state = _state.Apply(e);
            _eventsSinceSnapshot++;
        });
        Recover<RecoveryCompleted>(_ => OnRecovered());

        Command<StoreUpload>(OnStoreUpload);
        Command<Download>(OnDownload);
        Command<FilesCommitted>(OnFilesCommitted);
        Command<WorkerPool.JobFailed>(OnJobFailed);
        Command<WorkerPool.JobProgress>(_ => TellWaitersProgress());
        Command<Get>(_ => ReplyRecord(Sender));

        Command<MarkUsed>(OnMarkUsed);
        Command<RecordUse>(OnRecordUse);
        Command<WriteHeldUse>(_ => WriteUse());
        Command<Update>(OnUpdate);
        Command<Adopt>(OnAdopt);
        Command<Delete>(d => OnDelete(d.Reason, Sender));
        Command<Evict>(OnEvict);
        Command<ImageFilesActor.Claimed>(_ => OnClaimed());
        Command<ImageFilesActor.Released>(_ => OnReleased());
        Command<OpenExport>(_ => OnOpenExport());
        Command<CloseExport>(_ => OnCloseExport());
        Command<AttachAlias>(OnAttachAlias);
        Command<DetachAlias>(d => _aliases.Remove(d.Name));
        Command<RecordCacheAlias>(OnRecordCacheAlias);
        Command<ImageProtocol.UploadDiscarded>(_ => { });
        Command<IdleCheck>(_ => OnIdleCheck());
        Command<AliasProtocol.Done>(_ => OnAliasAck());
        Command<SaveSnapshotSuccess>(OnSnapshotSaved);
        Command<SaveSnapshotFailure>(_ => { });
        Command<DeleteSnapshotsSuccess>(_ => { });
        Command<DeleteSnapshotsFailure>(_ => { });
    }

    public override string PersistenceId => ImageJournal.ImagePersistenceId(_project, _fingerprint);

    /// <inheritdoc />
    public ITimerScheduler Timers { get; set; } = null!;

    public static Props Props(ProjectName project, Fingerprint fingerprint, ImageStoreContext context) =>
        Akka.Actor.Props.Create(() => new ImageActor(project, fingerprint, context));

    protected override void PostStop()
    {
        // An entity that stops (or crashes) holding exports no longer answers for them: the gauge lets go of it.
        if (_heldCounted is { } counted)
        {
            _context.Metrics.Held(counted.Cached, -1, -counted.Bytes);
            _heldCounted = null;
        }

        base.PostStop();
    }

    protected override void PreStart()
    {
        base.PreStart();
        if (_context.PassivateIdleAfter is { } idle)
        {
            Timers.StartPeriodicTimer(IdleCheck.Instance, IdleCheck.Instance, idle);
        }
    }

    /// <summary>
    /// The journal could not be read: the entity stops (as Akka does) and the requests it had stashed become dead
    /// letters, which <see cref="UnansweredRequests"/> answers with this cause instead of leaving their senders waiting.
    /// </summary>
    protected override void OnRecoveryFailure(Exception reason, object? message = null)
    {
        base.OnRecoveryFailure(reason, message);
        Context.System.EventStream.Publish(new EntityFailed(Self.Path, $"image {Input} in project {_project}", reason, WhileLoading: true));
    }

    /// <summary>The journal refused a write: the requester and everyone waiting on this image hear it now (the actor stops).</summary>
    /// <remarks>
    /// The stopped entity is not wrapped in a backoff supervisor: one drops the messages that arrive while its child is
    /// stopped, which would lose the next request. Without remembered entities, the shard forgets a stopped entity and
    /// starts a fresh one (recovered from the journal) for the next message; the journal's circuit breaker makes
    /// writes fail fast while the journal keeps failing, which is the wait a backoff would give.
    /// </remarks>
    protected override void OnPersistFailure(Exception cause, object @event, long sequenceNr)
    {
        base.OnPersistFailure(cause, @event, sequenceNr);
        Context.System.EventStream.Publish(new EntityFailed(Self.Path, $"image {Input} in project {_project}", cause, WhileLoading: false));
        var change = (@event is Tagged tagged ? tagged.Payload : @event).GetType().Name;
        var failure = new Status.Failure(new JournalWriteFailedException($"image {Input} in project {_project}", change, cause));
        var requester = _writesFor.Count > 0 ? _writesFor.Dequeue() : ActorRefs.Nobody;
        foreach (var waiter in _importWaiters.Select(w => w.Waiter).Concat(_deleteWaiters).Append(requester).Concat(_writesFor).Where(w => !w.IsNobody() && !w.Equals(Self)).Distinct())
        {
            waiter.Tell(failure);
        }

        _importWaiters.Clear();
        _deleteWaiters.Clear();
        _writesFor.Clear();
    }

    /// <summary>
    /// The journal refused one write and keeps running: the write's requester and anyone waiting for an import of this
    /// image hear it now instead of waiting out their ask. The actor keeps running, unless the refused write was an
    /// import's end: then it stops as a crash would, and its next incarnation abandons the import it recovers.
    /// </summary>
    protected override void OnPersistRejected(Exception cause, object @event, long sequenceNr)
    {
        base.OnPersistRejected(cause, @event, sequenceNr);
        var change = (@event is Tagged tagged ? tagged.Payload : @event).GetType().Name;
        var failure = new Status.Failure(new JournalWriteRejectedException($"image {Input} in project {_project}", change, cause));
        var requester = _writesFor.Count > 0 ? _writesFor.Dequeue() : ActorRefs.Nobody;
        foreach (var waiter in _importWaiters.Select(w => w.Waiter).Append(requester).Where(w => !w.IsNobody() && !w.Equals(Self)).Distinct())
        {
            waiter.Tell(failure);
        }

        _importWaiters.Clear();
        if (_state.Status == ImageStatus.Importing)
        {
            Context.Stop(Self);
        }
    }

    private string Input => _fingerprint.ToString();

    private void OnRecovered()
    {
        // The process died between "download started" and "stored": whatever reached the final
        // names is not an image. Remove it (unless another project holds the same files) and say so.
        if (_state.Status == ImageStatus.Importing)
        {
            Apply(new ImageDownloadAbandoned(_project, _fingerprint, "interrupted: the process stopped during the import"), _ => ReleaseClaim());
        }
    }

    private void OnStoreUpload(StoreUpload upload)
    {
        switch (_state.Status)
        {
            case ImageStatus.Stored:
                Discard(upload.Upload);
                if (upload.FailIfExists)
                {
                    Sender.Tell(new Status.Failure(new ImageExistsException(Input)));
                }
                else
                {
                    Sender.Tell(_state.Image!);
                }

                return;
            case ImageStatus.Importing:
                Discard(upload.Upload);
                _importWaiters.Add((Sender, upload.FailIfExists));
                return;
        }

        _importWaiters.Add((Sender, false));
        var blobs = _context.Blobs;
        var files = upload.Upload;
        var draft = upload.Draft with { Fingerprint = _fingerprint, Project = _project, Size = files.Size, Split = files.RootfsPath is not null };
        Apply(new ImageDownloadStarted(_project, _fingerprint, _context.Clock.GetUtcNow(), draft.UpdateSource), _ =>
        {
            AfterImportStarted();
            ClaimThenWrite(_context.FilePool, new WorkerPool.Job(_ =>
            {
                try
                {
                    // The uploader hashed every byte as it wrote it; the commit checks that hash against this image's fingerprint.
                    blobs.CommitVerified(files.MetadataPath, files.RootfsPath, files.Fingerprint, _fingerprint, draft.Filename);
                }
                finally
                {
                    files.Delete();
                }

                return Task.FromResult<object>(new FilesCommitted(draft));
            }, Self, "commit"));
        });
    }

    private void OnDownload(Download download)
    {
        switch (_state.Status)
        {
            case ImageStatus.Stored:
                Sender.Tell(_state.Image!);
                return;
            case ImageStatus.Importing:
                _importWaiters.Add((Sender, false));
                return;
        }

        _importWaiters.Add((Sender, false));
        var blobs = _context.Blobs;
        var fetches = _context.Fetches;
        var fingerprint = _fingerprint;
        var project = _project;
        Apply(new ImageDownloadStarted(_project, _fingerprint, _context.Clock.GetUtcNow(), null), _ =>
        {
            AfterImportStarted();
            ClaimThenWrite(_context.DownloadPool, new WorkerPool.Job(async token =>
            {
                var fetch = fetches.Find(download.Fetch)
                    ?? throw new OperationCanceledException($"The download of {download.Fetch.Description} was cancelled by its requester before it started; ask again to retry.");
                var (files, record) = await fetch.Fetch(blobs, token).ConfigureAwait(false);
                if (files.Fingerprint != fingerprint)
                {
                    throw new HashMismatchException(fingerprint, files.Fingerprint, fetch.Description);
                }

                return new FilesCommitted(record with { Fingerprint = fingerprint, Project = project, Size = files.Size, Split = files.IsSplit });
            }, Self, "download")
            { Progress = fetches.Find(download.Fetch)?.Progress });
        });
    }

    // Everyone waiting for this import hears that it moved: they wait as long as it does, not for a fixed time.
    private void TellWaitersProgress()
    {
        if (_state.Status != ImageStatus.Importing)
        {
            return;
        }

        var progress = new ImageProtocol.Progress();
        foreach (var (waiter, _) in _importWaiters)
        {
            waiter.Tell(progress);
        }
    }

    // The files may be under removal for another project (or this one, before): the write starts only once the
    // fingerprint's files actor has recorded the claim, so no removal can run between the write and the release.
    private void ClaimThenWrite(IActorRef pool, WorkerPool.Job job)
    {
        _writeWhenClaimed = (pool, job);
        _context.TellFiles(_fingerprint, new ImageFilesActor.Claim(_project), Self);
    }

    private void OnClaimed()
    {
        if (_writeWhenClaimed is { } write && _state.Status == ImageStatus.Importing)
        {
            _writeWhenClaimed = null;
            write.Pool.Tell(write.Job);
        }
    }

    private void OnFilesCommitted(FilesCommitted committed)
    {
        if (_state.Status != ImageStatus.Importing)
        {
            return;
        }

        Apply(new ImageStored(committed.Record with { Aliases = [] }), _ =>
        {
            // The size bound is judged as soon as the image is stored, not once the read model shows it.
            if (_state.Image!.Cached)
            {
                _context.Eviction.Tell(new EvictionActor.Stored(_state.Image));
            }

            foreach (var (waiter, _) in _importWaiters)
            {
                waiter.Tell(_state.Image!);
            }

            _importWaiters.Clear();
        });
    }

    private void OnJobFailed(WorkerPool.JobFailed failed)
    {
        switch (failed.Tag)
        {
            case "commit" or "download" when _state.Status == ImageStatus.Importing:
                var cause = failed.Cause;
                Apply(new ImageDownloadAbandoned(_project, _fingerprint, cause.Message), _ =>
                {
                    foreach (var (waiter, _) in _importWaiters)
                    {
                        waiter.Tell(new Status.Failure(cause));
                    }

                    _importWaiters.Clear();
                    ReleaseClaim();
                });
                break;
            default:
                break;
        }
    }

    private void OnMarkUsed(MarkUsed used)
    {
        if (!IsStored(Sender))
        {
            return;
        }

        var at = used.At > _state.Image!.LastUsedAt ? used.At : _state.Image.LastUsedAt;
        var sender = Sender;
        Apply(new ImageUsed(_project, _fingerprint, at), _ => sender.Tell(_state.Image!));
    }

    private void OnRecordUse(RecordUse use)
    {
        if (_state.Status != ImageStatus.Stored || (use.At <= _state.Image!.LastUsedAt && _heldUse is null))
        {
            return;
        }

        _heldUse = _heldUse is { } held && held > use.At ? held : use.At;
        if (Timers.IsTimerActive(WriteHeldUse.Instance))
        {
            return;
        }

        var due = _lastUseWritten + _context.LastUsedInterval;
        var now = _context.Clock.GetUtcNow();
        if (_lastUseWritten == DateTimeOffset.MinValue || due <= now)
        {
            WriteUse();
        }
        else
        {
            Timers.StartSingleTimer(WriteHeldUse.Instance, WriteHeldUse.Instance, due - now);
        }
    }

    private void WriteUse()
    {
        if (_heldUse is not { } at || _state.Status != ImageStatus.Stored)
        {
            _heldUse = null;
            return;
        }

        _heldUse = null;
        _lastUseWritten = _context.Clock.GetUtcNow();
        if (at > _state.Image!.LastUsedAt)
        {
            Apply(new ImageUsed(_project, _fingerprint, at), _ => { });
        }
    }

    private void OnUpdate(Update update)
    {
        if (!IsStored(Sender))
        {
            return;
        }

        var put = update.Put;
        var current = _state.Image!;
        var sender = Sender;
        Apply(
            new ImageUpdated(
                _project,
                _fingerprint,
                put.Public,
                put.AutoUpdate,
                put.Properties.ToImmutableSortedDictionary(StringComparer.Ordinal),
                put.ExpiresAt == default || put.ExpiresAt == DateTimeOffset.MinValue ? current.ExpiresAt : put.ExpiresAt,
                put.Profiles is null ? ["default"] : [.. put.Profiles]),
            _ => sender.Tell(_state.Image!));
    }

    private void OnAdopt(Adopt adopt)
    {
        if (!IsStored(Sender))
        {
            return;
        }

        var old = adopt.Old;
        var current = _state.Image!;
        var sender = Sender;
        var cached = new ImageCacheStateChanged(_project, _fingerprint, old.Cached || current.Cached, old.LastUsedAt);
        var updated = new ImageUpdated(_project, _fingerprint, old.Public, true, current.Properties, current.ExpiresAt, old.Profiles);
        Apply(cached, _ => { });

        // The old image's aliases move here; those the cache made for it follow this image too.
        foreach (var alias in old.CacheAliases.Where(a => !current.CacheAliases.Contains(a)))
        {
            Apply(new ImageCacheAliasRecorded(_project, _fingerprint, alias), _ => { });
        }

        Apply(updated, _ => sender.Tell(_state.Image!));
    }

    private void OnDelete(string reason, IActorRef requester)
    {
        switch (_state.Status)
        {
            case ImageStatus.Absent:
                requester.Tell(new Status.Failure(new ImageNotFoundException(Input)));
                return;
            case ImageStatus.Importing:
                requester.Tell(new Status.Failure(new ImageBusyException(Input, "an import is in progress")));
                return;
        }

        var aliases = _aliases.Union(_context.Catalog.Find(_project, _fingerprint)?.Aliases.Select(a => a.Name) ?? []).ToList();
        Apply(new ImageDeleted(_project, _fingerprint, _context.Clock.GetUtcNow(), reason), _ =>
        {
            _deleteWaiters.Add(requester);
            _aliases.Clear();

            // Aliases go with their image: each alias actor deletes itself if it still points here
            // and acknowledges; the files go after the last acknowledgement (and the last export).
            _awaitingAliasAcks = aliases.Count;
            foreach (var alias in aliases)
            {
                _context.TellAlias(_project, alias, new AliasProtocol.DeleteIfTargets(_fingerprint), Self);
            }

            if (_awaitingAliasAcks == 0)
            {
                AfterAliasesGone();
            }
        });
    }

    private void OnAliasAck()
    {
        if (_awaitingAliasAcks > 0 && --_awaitingAliasAcks == 0)
        {
            AfterAliasesGone();
        }
    }

    // The files wait for the deleted image's last export; an image imported again meanwhile keeps them (its claim covers
    // them), so its own exports must not hold the answer: a request holding it may itself wait for this answer (a
    // download waits for an eviction pass, which waits for this deletion).
    private void AfterAliasesGone()
    {
        _releaseWhenUnpinned = true;
        if (_openExports == 0 || _state.Status != ImageStatus.Absent)
        {
            ReleaseFiles();
        }
    }

    // An import of the deleted image started while the deletion waited for an export to close: the files stay with it.
    private void AfterImportStarted()
    {
        if (_releaseWhenUnpinned)
        {
            ReleaseFiles();
        }
    }

    private void OnEvict(Evict evict)
    {
        if (_state.Status != ImageStatus.Stored)
        {
            Sender.Tell(new EvictionSkipped(EvictionSkipped.NotStored));
        }
        else if (_openExports > 0 || PinnedByAlias())
        {
            // A pass that wanted this image's bytes hears when the last export closed, rather than at its next tick.
            _tellEvictionWhenUnheld |= _openExports > 0;
            Sender.Tell(new EvictionSkipped("in use"));
        }
        else if (evict.SeenLastUse is { } seen && LastUse() > seen)
        {
            // Uses are written at most once per interval (and reach the read model a moment later): this image was
            // used after the use its plan ranked it by. The eviction ranks it again by this one.
            Sender.Tell(new EvictionSkipped("used since", LastUse()));
        }
        else
        {
            OnDelete(evict.Reason.ToString(), Sender);
        }
    }

    private DateTimeOffset LastUse()
    {
        var written = _state.Image!.LastUsedAt;
        return _heldUse is { } held && held > written ? held : written;
    }

    // A user's alias keeps the image; the alias the store created for a cached fetch does not (it goes with the image).
    private bool PinnedByAlias()
    {
        var image = _state.Image!;
        return _aliases.Any(a => CacheRules.Pins(image, a)) ||
            (_context.Catalog.Find(_project, _fingerprint) is { } listed && CacheRules.InUse(listed, null));
    }

    private void OnOpenExport()
    {
        if (!IsStored(Sender))
        {
            return;
        }

        _openExports++;
        CountHeld();
        var image = _state.Image!;
        Sender.Tell(new ExportLease(image, _context.Blobs.MetadataPath(_fingerprint), image.Split ? _context.Blobs.RootfsPath(_fingerprint) : null));
    }

    private void OnCloseExport()
    {
        _openExports = Math.Max(0, _openExports - 1);
        CountHeld();
        if (_openExports == 0 && _tellEvictionWhenUnheld)
        {
            _tellEvictionWhenUnheld = false;
            _context.Eviction.Tell(new EvictionActor.Released(_project, _fingerprint));
        }

        if (_openExports == 0 && _releaseWhenUnpinned)
        {
            ReleaseFiles();
        }
    }

    private void OnAttachAlias(AttachAlias attach)
    {
        if (IsStored(Sender))
        {
            _aliases.Add(attach.Name);
            Sender.Tell(_state.Image!);
        }
    }

    private void OnRecordCacheAlias(RecordCacheAlias record)
    {
        if (!IsStored(Sender))
        {
            return;
        }

        var image = _state.Image!;
        var sender = Sender;
        if (!image.Cached || !CacheRules.Pins(image, record.Alias))
        {
            // Not the cache's to judge, or the record already says the alias follows the image.
            sender.Tell(image);
            return;
        }

        Apply(new ImageCacheAliasRecorded(_project, _fingerprint, record.Alias), _ => sender.Tell(_state.Image!));
    }

    // Keeps the store's gauge of held images in step with this image: held while stored with an export or hold open.
    private void CountHeld()
    {
        (bool Cached, long Bytes)? now = _openExports > 0 && _state.Status == ImageStatus.Stored ? (_state.Image!.Cached, _state.Image.Size) : null;
        if (now == _heldCounted)
        {
            return;
        }

        if (_heldCounted is { } before)
        {
            _context.Metrics.Held(before.Cached, -1, -before.Bytes);
        }

        if (now is { } after)
        {
            _context.Metrics.Held(after.Cached, 1, after.Bytes);
        }

        _heldCounted = now;
    }

    private void ReleaseFiles()
    {
        _releaseWhenUnpinned = false;
        if (_state.Status != ImageStatus.Absent)
        {
            // Imported again since the delete: this project's claim now covers the new import, so the files stay.
            AnswerDeleteWaiters();
            return;
        }

        ReleaseClaim();
    }

    // The files actor removes the files unless another project claims them, and answers once that is settled.
    private void ReleaseClaim() => _context.TellFiles(_fingerprint, new ImageFilesActor.Release(_project), Self);

    private void OnReleased()
    {
        // A release of an abandoned import may come back while a delete still waits for its aliases or exports.
        if (!_releaseWhenUnpinned && _awaitingAliasAcks == 0)
        {
            AnswerDeleteWaiters();
        }
    }

    private void AnswerDeleteWaiters()
    {
        foreach (var waiter in _deleteWaiters)
        {
            waiter.Tell(new Deleted(_fingerprint));
        }

        _deleteWaiters.Clear();
    }

    private void Discard(UploadedFiles upload) =>
        _context.FilePool.Tell(new WorkerPool.Job(_ =>
        {
            upload.Delete();
            return Task.FromResult<object>(new ImageProtocol.UploadDiscarded());
        }, Self));

    private bool IsStored(IActorRef requester)
    {
        if (_state.Status == ImageStatus.Stored)
        {
            return true;
        }

        requester.Tell(new Status.Failure(new ImageNotFoundException(Input)));
        return false;
    }

    private void ReplyRecord(IActorRef requester)
    {
        if (IsStored(requester))
        {
            requester.Tell(_state.Image!);
        }
    }

    // Older snapshots go at once; the events this one covers go once a catalog snapshot includes them too.
    private void OnSnapshotSaved(SaveSnapshotSuccess saved)
    {
        DeleteSnapshots(new SnapshotSelectionCriteria(saved.Metadata.SequenceNr - 1));
        _context.Feed.Tell(new CatalogFeedActor.EntitySnapshotSaved(PersistenceId, saved.Metadata.SequenceNr));
    }

    private void Apply<TEvent>(TEvent @event, Action<TEvent> after)
        where TEvent : IImageEvent
    {
        _writesFor.Enqueue(Sender);
        Persist(new Tagged(@event, ImageJournal.CatalogTags), tagged =>
        {
            _writesFor.TryDequeue(out _);
            var e = (TEvent)tagged.Payload;
            _state = _state.Apply(e);
            CountHeld();
            after(e);
            _context.Feed.Tell(CatalogFeedActor.Poke.Instance);
            if (++_eventsSinceSnapshot >= _context.SnapshotEvery)
            {
                _eventsSinceSnapshot = 0;
                SaveSnapshot(_state);
            }
        });
    }

    // The entity, not the region, decides when to stop: exports, unpacks, waiters and pending
    // deletes live only in memory, so an entity holding any of them must stay.
    private void OnIdleCheck()
    {
        var busy = _openExports > 0 || _heldUse is not null || _importWaiters.Count > 0 || _deleteWaiters.Count > 0 ||
            _releaseWhenUnpinned || _awaitingAliasAcks > 0 || _state.Status == ImageStatus.Importing;
        if (!busy && LastSequenceNr == _sequenceAtLastCheck)
        {
            Context.Parent.Tell(new Passivate(PoisonPill.Instance));
        }

        _sequenceAtLastCheck = LastSequenceNr;
    }
}
