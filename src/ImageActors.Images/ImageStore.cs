using System.Collections.Immutable;
using System.Diagnostics.Metrics;
using System.Formats.Tar;
using Akka.Actor;
using Akka.Cluster.Sharding;
using Akka.Cluster.Tools.Singleton;
using Akka.Hosting;
using Akka.Persistence;
using Akka.Persistence.Query;
using Akka.Persistence.Sql.Query;
using Akka.Streams;
using ImageActors.Images.Actors;
using ImageActors.Images.Caching;
using ImageActors.Images.Diagnostics;
using ImageActors.Images.Domain;
using ImageActors.Images.Events;
using ImageActors.Images.Filtering;
using ImageActors.Images.Hosting;
using ImageActors.Images.ReadModel;
using ImageActors.Images.Requirements;
using ImageActors.Streaming;
using ImageActors.Streaming.Archives;
using ImageActors.Streaming.Images;
using ImageActors.Streaming.Storage;
using Microsoft.Extensions.Logging;
using DomainImageType = ImageActors.Images.Domain.ImageType;
using StreamingImageType = ImageActors.Streaming.Images.ImageType;

namespace ImageActors.Images;

/// <summary>
/// The embedded image store: import, get, list, export, update, delete images and manage their
/// aliases, with Incus' rules. Writes go through one actor per image and per alias; reads come
/// from the read model (<see cref="Catalog"/>) and never wait for a writer.
/// </summary>
public sealed partial class ImageStore : IAsyncDisposable, IStoreGauges
{
    private readonly StoreMetrics _metrics;
    private readonly TaskCompletionSource _ready = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly TaskCompletionSource _drained = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly CancellationTokenSource _stopping = new();
    private readonly TaskCompletionSource _released = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private Running? _running;
    private Task? _drain;
    private int _stopped;
    private int _metricsDisposed;
    private int _releasing;
    private int _calls;

    /// <summary>A store that starts later (<see cref="StartInPlaceAsync"/>); calls made meanwhile wait for it.</summary>
    /// <param name="meterFactory">The host's meter factory, which makes the store's <see cref="Meter"/>; null makes a meter of its own.</param>
    internal ImageStore(IMeterFactory? meterFactory = null) => _metrics = new StoreMetrics(meterFactory, this);

    /// <summary>
    /// The meter the store's instruments are on, named <see cref="ImageActorsDiagnostics.Name"/> (made by the host's
    /// <see cref="IMeterFactory"/> when it has one): imports, copies, downloads, evictions and cache requests by result,
    /// images, aliases and the actors' mailbox depths. It exists from construction, so a listener can pick this store's
    /// instruments out by it before the store started.
    /// </summary>
    public Meter Meter => _metrics.Meter;

    /// <summary>The store's counts behind its instruments.</summary>
    internal StoreMetrics Metrics => _metrics;

    /// <summary>The host's logger factory while the store runs (for the parts built beside it, such as copiers); else null.</summary>
    internal Microsoft.Extensions.Logging.ILoggerFactory? LoggerFactory => _running?.Settings.LoggerFactory;

    /// <summary>
    /// Raised after each lifecycle change (spec §5.6): on the caller's thread for what a call did, on an actor's
    /// thread for what the store did by itself (eviction, auto-update).
    /// </summary>
    public event EventHandler<ImageLifecycleEvent>? Lifecycle;

    /// <summary>The read model: list, filter and prefix queries.</summary>
    public ImageCatalog Catalog => Current.Context.Catalog;

    /// <summary>The image files.</summary>
    public BlobStore Blobs => Current.Context.Blobs;

    /// <summary>What the start-up sweep removed (temp files of interrupted imports, files no image owns).</summary>
    public SweepResult SweptAtStart => Current.Swept;

    /// <summary>
    /// The store's hold on its data directory, taken before anything in it is read and released after the store
    /// stopped; a server announces its unix socket here, so that commands that would open the store talk to it instead.
    /// </summary>
    public DataDirectoryLock DirectoryLock => Current.Lock;

    /// <summary>The actors' shared parts: pools and regions, for tests that hold a worker or ask an entity.</summary>
    internal ImageStoreContext Context => Current.Context;

    /// <summary>The settings the store runs with.</summary>
    public ImageStoreSettings Settings => Current.Settings;

    /// <summary>The unpack workers, for tests that hold one.</summary>
    internal IActorRef UnpackPool => Current.UnpackPool;

    /// <summary>
    /// The actor system the store runs on (a one-node cluster unless seed nodes are configured): the host's, when the
    /// store was added with <c>AddImageActors</c>, else one of its own.
    /// </summary>
    public ActorSystem ActorSystem => Current.System;

    /// <summary>
    /// Opens the store: takes the data directory (one owner at a time), rebuilds the read model from its snapshot and
    /// the newer events, removes leftovers of interrupted imports, and starts the actors.
    /// </summary>
    /// <exception cref="DataDirectoryInUseException">Another process or store owns the data directory; nothing in it was touched.</exception>
    public static async Task<ImageStore> StartAsync(ImageStoreSettings settings, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(settings);
        var store = new ImageStore(settings.MeterFactory);
        await store.StartInPlaceAsync(settings, cancellationToken).ConfigureAwait(false);
        return store;
    }

    /// <summary>Starts this store on a system of its own; calls made before wait for it, and fail with the start's error if it fails.</summary>
    internal Task StartInPlaceAsync(ImageStoreSettings settings, CancellationToken cancellationToken) =>
        StartCoreAsync(settings, hostSystem: null, cancellationToken);

    /// <summary>
    /// Starts this store on the host's actor system (Akka.Hosting's), which must carry the store's configuration
    /// (<see cref="StoreActorSystem.BuildForHost"/>); the host's coordinated shutdown stops the store.
    /// </summary>
    internal Task StartOnAsync(ActorSystem system, ImageStoreSettings settings, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(system);
        return StartCoreAsync(settings, system, cancellationToken);
    }

    /// <summary>Fails the start before it began (the settings could not be made): calls waiting for it fail with <paramref name="error"/>.</summary>
    internal void FailStart(Exception error)
    {
        if (_ready.TrySetException(error))
        {
            _ = _ready.Task.Exception;
        }
    }

    private async Task StartCoreAsync(ImageStoreSettings settings, ActorSystem? hostSystem, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(settings);
        ObjectDisposedException.ThrowIf(Volatile.Read(ref _stopped) != 0, this);
        if (_ready.Task.IsCompleted || _running is not null)
        {
            throw new InvalidOperationException("The image store was started already; make a new one to start again.");
        }

        try
        {
            var directoryLock = DataDirectoryLock.Acquire(settings.DataDirectory);
            try
            {
                await StartOwnedAsync(settings, directoryLock, hostSystem, cancellationToken).ConfigureAwait(false);
            }
            catch
            {
                directoryLock.Dispose();
                throw;
            }
        }
        catch (Exception e)
        {
            _ready.TrySetException(e);
            _ = _ready.Task.Exception;
            throw;
        }

        _ready.TrySetResult();
        if (Volatile.Read(ref _stopped) != 0 || (_running is { } started && CoordinatedShutdown.Get(started.System).ShutdownReason is not null))
        {
            // Stopped while it started (the store, or its system): nothing waits for it any more.
            await StopRunningAsync().ConfigureAwait(false);
        }
    }

    // Runs under the data directory's lock: the sweep below deletes temp files that only an owner may call garbage.
    private async Task StartOwnedAsync(ImageStoreSettings settings, DataDirectoryLock directoryLock, ActorSystem? hostSystem, CancellationToken cancellationToken)
    {
        var blobs = new BlobStore(settings.DataDirectory, new BlobStoreOptions(Durable: settings.Durable));
        await settings.Persistence.PrepareAsync(cancellationToken).ConfigureAwait(false);
        var system = hostSystem ?? StoreActorSystem.Create(settings);
        ActorMaterializer? materializer = null;
        try
        {
            // However the system is stopped (the host's stop, a downed node, the store's own stop), the store ends its
            // calls before the entities hand off, and lets go of its files once the system (and its journal) ended.
            CoordinatedShutdown.Get(system).AddTask(CoordinatedShutdown.PhaseServiceRequestsDone, "image-store-stop", async () =>
            {
                await DrainAsync().ConfigureAwait(false);
                return Akka.Done.Instance;
            });
            _ = system.WhenTerminated.ContinueWith(_ => ReleaseAsync(), CancellationToken.None, TaskContinuationOptions.None, TaskScheduler.Default).Unwrap();
            await StoreActorSystem.JoinAsync(system, settings, cancellationToken).ConfigureAwait(false);
            materializer = system.Materializer(namePrefix: "catalog");
            var persistence = Akka.Persistence.Persistence.Instance.Apply(system);
            var snapshots = persistence.SnapshotStoreFor(null);

            // The read journal gives its write plugin a few seconds to say its tables are ready; a first start (tables
            // to create) on a busy machine can take longer, so the journal is asked first, within the store's timeout.
            foreach (var journal in settings.Persistence.JournalsToStart)
            {
                await persistence.JournalFor(journal)
                    .Ask<object>(replyTo => new ReplayMessages(0, 0, 0, ImageJournal.CatalogPersistenceId, replyTo), settings.StartTimeout, cancellationToken)
                    .ConfigureAwait(false);
            }

            var queries = PersistenceQuery.Get(system).ReadJournalFor<SqlReadJournal>(StorePersistence.QueryPluginId);
            var catalog = await CatalogFeed.RebuildAsync(snapshots, queries, materializer, settings.StartTimeout, cancellationToken).ConfigureAwait(false);
            var swept = blobs.Sweep(catalog.List().Select(i => i.Fingerprint).ToHashSet());

            var context = new ImageStoreContext(blobs, catalog, settings.Clock, settings.AskTimeout)
            {
                SnapshotEvery = settings.EntitySnapshotEvery,
                PassivateIdleAfter = settings.PassivateIdleAfter,
                LastUsedInterval = settings.Options.LastUsedInterval,
                VerifyMessages = settings.VerifyMessageSerialization ? system.Serialization : null,
                StallAfter = settings.StallBound,
                Waiters = system,
                Metrics = _metrics,
            };

            // Before any entity: a request an entity drops when it stops on a journal failure is answered, not waited out.
            system.ActorOf(UnansweredRequests.Props(), "unanswered-requests");

            // Progress is sampled often enough that a waiter hears of it several times within its stall bound.
            var progressInterval = settings.StallBound is { } bound ? TimeSpan.FromTicks(Math.Clamp(bound.Ticks / 4, TimeSpan.TicksPerMillisecond * 20, TimeSpan.TicksPerSecond)) : TimeSpan.FromSeconds(1);
            context.FilePool = system.ActorOf(WorkerPool.Props(settings.FileWorkers, settings.WorkerSupervision, progressInterval, context.Jobs), "file-workers");
            context.DownloadPool = system.ActorOf(WorkerPool.Props(settings.Options.DownloadWorkers, settings.WorkerSupervision, progressInterval, context.Jobs), "download-workers");
            context.Feed = system.ActorOf(CatalogFeedActor.Props(catalog, queries, snapshots, persistence.JournalFor(null), materializer, settings.CatalogSnapshotEvery, settings.Clock, settings.AskTimeout), "catalog-feed");
            var sharding = ClusterSharding.Get(system);
            var shardingSettings = ClusterShardingSettings.Create(system);
            var extractor = new EntityMessageExtractor();
            context.ImageRegion = await sharding.StartAsync("image", id => ImageActorProps(id, context), shardingSettings, extractor).ConfigureAwait(false);
            context.AliasRegion = await sharding.StartAsync("alias", id => AliasActorProps(id, context), shardingSettings, extractor).ConfigureAwait(false);
            context.FilesRegion = await sharding.StartAsync("image-files", id => ImageFilesActor.Props(Fingerprint.Parse(id), context), shardingSettings, extractor).ConfigureAwait(false);
            var eviction = StartSingleton(system, "eviction", EvictionActor.Props(context, settings.Options, settings.EvictionInterval));
            context.Eviction = eviction.Proxy;
            var autoUpdate = StartSingleton(system, "auto-update", AutoUpdateActor.Props(context, settings.UpdateSource, settings.Options.AutoUpdateInterval));
            var unpackPool = system.ActorOf(WorkerPool.Props(settings.Options.UnpackWorkers, settings.WorkerSupervision, progressInterval, context.Jobs), "unpack-workers");
            _running = new Running(settings, directoryLock, system, materializer, context, eviction, autoUpdate, unpackPool, swept);
            context.RaiseLifecycle = RaiseLifecycle;
            await FinishInterruptedDeletesAsync(cancellationToken).ConfigureAwait(false);
            RegisterActors(ActorRegistry.For(system), context);
        }
        catch (Exception e)
        {
            // Callers waiting for the start get its error, not the stop of what it built.
            FailStart(e);
            _running = null;
            materializer?.Dispose();
            if (hostSystem is null)
            {
                await StoreActorSystem.StopAsync(system).ConfigureAwait(false);
            }

            throw;
        }
    }

    // The store's actors by marker type, for a host's own actors (IRequiredActor<ImageShardRegion>) and tests.
    private static void RegisterActors(ActorRegistry registry, ImageStoreContext context)
    {
        registry.Register<ImageShardRegion>(context.ImageRegion, overwrite: true);
        registry.Register<AliasShardRegion>(context.AliasRegion, overwrite: true);
        registry.Register<ImageFilesShardRegion>(context.FilesRegion, overwrite: true);
    }

    // A delete is persisted before its aliases go (each alias actor removes itself after it); a process stopped in
    // between leaves aliases naming an image that is gone. They go now, as the delete would have taken them.
    private async Task FinishInterruptedDeletesAsync(CancellationToken cancellationToken)
    {
        var dangling = Catalog.ListAliases().Where(a => Catalog.Find(a.Project, a.Target) is null).ToList();
        foreach (var alias in dangling)
        {
            await Current.Context.AskAlias<AliasProtocol.Done>(alias.Project, alias.Name, new AliasProtocol.DeleteIfTargets(alias.Target), cancellationToken).ConfigureAwait(false);
        }

        if (dangling.Count > 0)
        {
            await CatchUpAsync(cancellationToken).ConfigureAwait(false);
        }
    }

    // Eviction and auto-update run once per cluster: each node runs a manager, the oldest node's manager runs the
    // actor, and every node talks to it through a proxy (which buffers while the singleton moves to another node).
    private static Singleton StartSingleton(ActorSystem system, string name, Props props)
    {
        var manager = system.ActorOf(ClusterSingletonManager.Props(props, PoisonPill.Instance, ClusterSingletonManagerSettings.Create(system)), name);
        var proxy = system.ActorOf(ClusterSingletonProxy.Props("/user/" + name, ClusterSingletonProxySettings.Create(system)), name + "-proxy");
        return new Singleton(manager, proxy);
    }

    /// <summary>A cluster singleton: this node's manager (which hosts the actor when this node is the oldest) and the proxy to it.</summary>
    private sealed record Singleton(IActorRef Manager, IActorRef Proxy);

    /// <summary>What a started store runs with.</summary>
    private sealed record Running(
        ImageStoreSettings Settings,
        DataDirectoryLock Lock,
        ActorSystem System,
        ActorMaterializer Materializer,
        ImageStoreContext Context,
        Singleton Eviction,
        Singleton AutoUpdate,
        IActorRef UnpackPool,
        SweepResult Swept);

    private static Props ImageActorProps(string id, ImageStoreContext context)
    {
        var split = id.IndexOf('|', StringComparison.Ordinal);
        return ImageActor.Props(ProjectName.Parse(id[..split]), Fingerprint.Parse(id[(split + 1)..]), context);
    }

    private static Props AliasActorProps(string id, ImageStoreContext context)
    {
        var split = id.IndexOf('|', StringComparison.Ordinal);
        return AliasActor.Props(ProjectName.Parse(id[..split]), AliasName.Parse(id[(split + 1)..]), context);
    }

    /// <summary>
    /// Imports an image: hashes it into a temp file in one pass, reads its metadata, then hands it
    /// to the image's actor, which commits it, or joins an import of the same image already under way.
    /// Concurrent imports of the same bytes store them once and all get the same record.
    /// </summary>
    /// <exception cref="InvalidImageException">The bytes are not an image (the message says why).</exception>
    /// <exception cref="ImageExistsException">The image exists and <see cref="ImportRequest.FailIfExists"/> was set.</exception>
    public async Task<ImageRecord> ImportAsync(ImportRequest request, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(request);
        using var call = await EnterAsync(cancellationToken).ConfigureAwait(false);
        using var activity = ImageActorsDiagnostics.Source.StartActivity(ImageActorsDiagnostics.ImportActivity);
        activity?.SetTag(ImageActorsDiagnostics.ProjectTag, request.Project.Value);
        try
        {
            var record = await ImportEnteredAsync(request, call.Token).ConfigureAwait(false);
            activity?.SetTag(ImageActorsDiagnostics.FingerprintTag, record.Fingerprint.ToString());
            _metrics.ImportFinished(succeeded: true);
            return record;
        }
        catch (Exception e)
        {
            ImageActorsDiagnostics.Failed(activity, e);
            _metrics.ImportFinished(succeeded: false);
            throw;
        }
    }

    private async Task<ImageRecord> ImportEnteredAsync(ImportRequest request, CancellationToken cancellationToken)
    {
        var aliases = request.Aliases.Select(AliasName.Parse).ToList();
        var (pending, contents, filename) = await ReceiveAsync(request, cancellationToken).ConfigureAwait(false);
        ImageRecord record;
        var upload = pending.Seal();
        try
        {
            var draft = Draft(contents, request, filename);
            record = await Current.Context.AskImage<ImageRecord>(request.Project, upload.Fingerprint, new ImageProtocol.StoreUpload(upload, draft, request.FailIfExists), cancellationToken).ConfigureAwait(false);
        }
        catch
        {
            // The image's actor deletes the files it took (committed or not needed); a failed request leaves none either.
            upload.Delete();
            throw;
        }

        await CatchUpAsync(cancellationToken).ConfigureAwait(false);
        Raise("image-created", ImageSourcePath(record), record.Project, ("type", record.Type.ToApiName()));
        foreach (var alias in aliases)
        {
            await CreateAliasAsync(record.Project, alias.Value, record.Fingerprint.ToString(), string.Empty, cancellationToken).ConfigureAwait(false);
        }

        return aliases.Count == 0 ? record : Catalog.Find(record.Project, record.Fingerprint) ?? record;
    }

    /// <summary>
    /// Downloads an image whose fingerprint is known (from a remote): one download per image, however
    /// many callers ask at once; callers arriving while it runs get its result.
    /// </summary>
    public async Task<ImageRecord> DownloadAsync(ProjectName project, Fingerprint fingerprint, ImageFetch fetch, CancellationToken cancellationToken = default) =>
        (await DownloadAsync(project, fingerprint, fetch, hold: false, cancellationToken).ConfigureAwait(false)).Record;

    /// <summary>
    /// As <see cref="DownloadAsync(ProjectName, Fingerprint, ImageFetch, CancellationToken)"/>; with
    /// <paramref name="hold"/>, the image is also held for the caller (see <see cref="HoldAsync"/>) as soon as its actor
    /// answered, before the size bound is enforced — so neither that run nor another requester's takes the image the
    /// caller fetched before it could use it. <c>Held</c> is null when it was gone even so (deleted in between).
    /// </summary>
    internal async Task<(ImageRecord Record, ImageExport? Held)> DownloadAsync(ProjectName project, Fingerprint fingerprint, ImageFetch fetch, bool hold, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(fetch);
        using var call = await EnterAsync(cancellationToken).ConfigureAwait(false);
        cancellationToken = call.Token;
        using var activity = ImageActorsDiagnostics.Source.StartActivity(ImageActorsDiagnostics.DownloadActivity);
        activity?.SetTag(ImageActorsDiagnostics.ProjectTag, project.Value);
        activity?.SetTag(ImageActorsDiagnostics.FingerprintTag, fingerprint.ToString());
        var ran = 0;
        var counted = fetch with
        {
            Fetch = (blobs, token) =>
            {
                Interlocked.Exchange(ref ran, 1);
                return fetch.Fetch(blobs, token);
            },
        };
        ImageRecord record;
        try
        {
            using var ticket = Current.Context.Fetches.Add(counted);
            record = await Current.Context.AskImage<ImageRecord>(project, fingerprint, new ImageProtocol.Download(ticket.Ticket), cancellationToken).ConfigureAwait(false);
        }
        catch (Exception e)
        {
            ImageActorsDiagnostics.Failed(activity, e);
            if (Volatile.Read(ref ran) == 1)
            {
                _metrics.DownloadFinished(succeeded: false, 0);
            }

            throw;
        }

        // Joined or found stored: only the caller whose fetch ran counts a download.
        activity?.SetTag("imageactors.downloaded", Volatile.Read(ref ran) == 1);
        if (Volatile.Read(ref ran) == 1)
        {
            _metrics.DownloadFinished(succeeded: true, record.Size);
        }

        ImageExport? held = null;
        try
        {
            if (hold)
            {
                try
                {
                    held = await OpenExportAsync(project, fingerprint, announce: false, cancellationToken).ConfigureAwait(false);
                }
                catch (ImageNotFoundException)
                {
                    // Deleted between the answer and the hold: the caller decides whether to fetch it again.
                }
            }

            await CatchUpAsync(cancellationToken).ConfigureAwait(false);
            if (Volatile.Read(ref ran) == 1)
            {
                // Only the caller whose fetch stored the image announces it; those that joined it or found it stored do not.
                Raise("image-created", ImageSourcePath(record), record.Project, ("type", record.Type.ToApiName()));
                await EnforceCacheMaxSizeAsync(record, cancellationToken).ConfigureAwait(false);
            }
        }
        catch
        {
            if (held is not null)
            {
                await held.DisposeAsync().ConfigureAwait(false);
            }

            throw;
        }

        return (record, held);
    }

    /// <summary>The image named by an alias, a full fingerprint or a unique prefix.</summary>
    /// <exception cref="ImageNotFoundException">Nothing matches.</exception>
    /// <exception cref="AmbiguousFingerprintException">The prefix matches several images.</exception>
    public ImageRecord Get(ProjectName project, string fingerprintOrAlias) => Catalog.Resolve(project, fingerprintOrAlias);

    /// <summary>The images of a project (every project when null) matching an Incus <c>filter=</c> expression.</summary>
    /// <exception cref="InvalidFilterException">The expression is malformed.</exception>
    public IReadOnlyList<ImageRecord> List(ProjectName? project = null, string? filter = null) =>
        Catalog.List(project, string.IsNullOrWhiteSpace(filter) ? null : ImageFilter.Parse(filter));

    /// <summary>Opens an image's files for reading. They stay until the export is disposed, even if the image is deleted meanwhile.</summary>
    public async Task<ImageExport> ExportAsync(ProjectName project, string fingerprintOrAlias, CancellationToken cancellationToken = default)
    {
        using var call = await EnterAsync(cancellationToken).ConfigureAwait(false);
        ImageRecord image;
        try
        {
            image = Get(project, fingerprintOrAlias);
        }
        catch (Exception e)
        {
            using var activity = StartExportActivity(project, null);
            ImageActorsDiagnostics.Failed(activity, e);
            throw;
        }

        return await OpenExportAsync(project, image.Fingerprint, announce: true, call.Token).ConfigureAwait(false);
    }

    /// <summary>
    /// Opens the files of the image with this fingerprint, asking its actor (not the read model, which may still list an
    /// image deleted a moment ago). They stay, and the cache rules leave the image alone, until the export is disposed.
    /// </summary>
    /// <exception cref="ImageNotFoundException">The project does not hold the image now.</exception>
    public async Task<ImageExport> ExportAsync(ProjectName project, Fingerprint fingerprint, CancellationToken cancellationToken = default)
    {
        using var call = await EnterAsync(cancellationToken).ConfigureAwait(false);
        return await OpenExportAsync(project, fingerprint, announce: true, call.Token).ConfigureAwait(false);
    }

    /// <summary>
    /// Keeps an image from the cache rules while a request about it is answered, without announcing a retrieval: the
    /// files are opened as for an export, so the holder may also read them.
    /// </summary>
    internal async Task<ImageExport> HoldAsync(ProjectName project, Fingerprint fingerprint, CancellationToken cancellationToken)
    {
        using var call = await EnterAsync(cancellationToken).ConfigureAwait(false);
        return await OpenExportAsync(project, fingerprint, announce: false, call.Token).ConfigureAwait(false);
    }

    private static System.Diagnostics.Activity? StartExportActivity(ProjectName project, Fingerprint? fingerprint)
    {
        var activity = ImageActorsDiagnostics.Source.StartActivity(ImageActorsDiagnostics.ExportActivity);
        activity?.SetTag(ImageActorsDiagnostics.ProjectTag, project.Value);
        if (fingerprint is { } known)
        {
            activity?.SetTag(ImageActorsDiagnostics.FingerprintTag, known.ToString());
        }

        return activity;
    }

    // An announced open is an export (its activity, the image-retrieved event); a hold is neither.
    private async Task<ImageExport> OpenExportAsync(ProjectName project, Fingerprint fingerprint, bool announce, CancellationToken cancellationToken)
    {
        using var activity = announce ? StartExportActivity(project, fingerprint) : null;

        // Not cancelled mid-way: the actor counts the export when it answers, so an answer nobody received would keep
        // the image from the cache rules for good. The answer is immediate; a caller that gave up meanwhile releases it.
        ImageProtocol.ExportLease lease;
        try
        {
            lease = await Current.Context.AskImage<ImageProtocol.ExportLease>(project, fingerprint, new ImageProtocol.OpenExport(), CancellationToken.None).ConfigureAwait(false);
        }
        catch (Exception e)
        {
            ImageActorsDiagnostics.Failed(activity, e);
            throw;
        }

        var context = Current.Context;
        var release = () => context.TellImage(project, fingerprint, new ImageProtocol.CloseExport());
        Stream? metadata = null;
        try
        {
            cancellationToken.ThrowIfCancellationRequested();
            metadata = OpenRead(lease.MetadataPath);
            var rootfs = lease.RootfsPath is null ? null : OpenRead(lease.RootfsPath);
            if (announce)
            {
                Raise("image-retrieved", ImageSourcePath(lease.Image), project);
            }

            return new ImageExport(lease.Image, metadata, rootfs, release);
        }
        catch
        {
            metadata?.Dispose();
            release();
            throw;
        }
    }

    /// <summary>
    /// Unpacks an image into <paramref name="targetDirectory"/> (metadata.yaml, templates/, rootfs/ or
    /// rootfs.img) on the unpack workers, at most <c>images.unpack_workers</c> at once, refusing unsafe
    /// entries and decompression bombs. The files stay pinned (a delete waits) until it finished.
    /// </summary>
    public async Task<UnpackResult> UnpackAsync(ProjectName project, string fingerprintOrAlias, string targetDirectory, CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrEmpty(targetDirectory);
        using var call = await EnterAsync(cancellationToken).ConfigureAwait(false);
        var callerToken = cancellationToken;
        cancellationToken = call.Token;
        var image = Get(project, fingerprintOrAlias);
        var lease = await Current.Context.AskImage<ImageProtocol.ExportLease>(project, image.Fingerprint, new ImageProtocol.OpenExport(), cancellationToken).ConfigureAwait(false);
        var options = Current.Settings.Options;
        var unpack = new UnpackOptions(new UnpackLimits(options.UnpackMaxSize, options.UnpackMaxEntries, options.UnpackMaxRatio), PreserveOwners: false);
        var context = Current.Context;

        // The job, not its caller, unpins the files once it stopped reading them: a caller that stops waiting (it
        // cancelled) cancels the job, and the files stay pinned until the job has actually ended.
        var job = new WorkerPool.Job(token =>
        {
            try
            {
                using var both = CancellationTokenSource.CreateLinkedTokenSource(token, callerToken);
                return Task.FromResult<object>(Unpack(lease, targetDirectory, unpack, both.Token));
            }
            finally
            {
                context.TellImage(project, image.Fingerprint, new ImageProtocol.CloseExport());
            }
        }, null, "unpack");

        // An unpack reads local files under its size and entry limits: it is waited for until it ends (or the caller cancels), not for a fixed time.
        var result = await ProgressWaiter.AskAsync<object>(Current.System, waiter => Current.UnpackPool.Tell(job with { ReplyTo = waiter }), $"The unpack of image {image.Fingerprint}", null, cancellationToken).ConfigureAwait(false);
        return result switch
        {
            UnpackResult done => done,
            WorkerPool.JobFailed failed => throw failed.Cause,
            _ => throw new InvalidOperationException($"Unexpected unpack result {result.GetType().Name}."),
        };
    }

    private static UnpackResult Unpack(ImageProtocol.ExportLease lease, string target, UnpackOptions options, CancellationToken cancellationToken)
    {
        var metadata = ArchiveUnpacker.UnpackFile(lease.MetadataPath, target, options, cancellationToken);
        if (lease.RootfsPath is null)
        {
            return metadata;
        }

        if (lease.Image.Type == DomainImageType.VirtualMachine)
        {
            // A VM's rootfs is a disk image, used as is.
            File.Copy(lease.RootfsPath, Path.Combine(target, "rootfs.img"), overwrite: true);
            return metadata with { Entries = metadata.Entries + 1, Bytes = metadata.Bytes + new FileInfo(lease.RootfsPath).Length };
        }

        var rootfs = ArchiveUnpacker.UnpackFile(lease.RootfsPath, Path.Combine(target, "rootfs"), options, cancellationToken);
        return new UnpackResult(metadata.Entries + rootfs.Entries, metadata.Bytes + rootfs.Bytes, metadata.SkippedDevices + rootfs.SkippedDevices, metadata.SkippedXattrs + rootfs.SkippedXattrs);
    }

    /// <summary>Deletes an image and its aliases; completes once its files are gone (after open exports finish).</summary>
    public async Task DeleteAsync(ProjectName project, string fingerprint, CancellationToken cancellationToken = default)
    {
        using var call = await EnterAsync(cancellationToken).ConfigureAwait(false);
        cancellationToken = call.Token;
        var image = Catalog.GetByPrefix(project, fingerprint);
        await Current.Context.AskImage<ImageProtocol.Deleted>(project, image.Fingerprint, new ImageProtocol.Delete("deleted"), cancellationToken).ConfigureAwait(false);
        await CatchUpAsync(cancellationToken).ConfigureAwait(false);
        foreach (var alias in image.Aliases)
        {
            Raise("image-alias-deleted", AliasSourcePath(project, alias.Name), project);
        }

        Raise("image-deleted", ImageSourcePath(image), project);
    }

    /// <summary>Replaces the writable set (Incus' PUT): properties wholesale, profiles null → default, zero expiry keeps the current one.</summary>
    public async Task<ImageRecord> UpdateAsync(ProjectName project, string fingerprint, ImagePut put, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(put);
        using var call = await EnterAsync(cancellationToken).ConfigureAwait(false);
        cancellationToken = call.Token;
        var image = Catalog.GetByPrefix(project, fingerprint);
        var record = await Current.Context.AskImage<ImageRecord>(project, image.Fingerprint, new ImageProtocol.Update(put), cancellationToken).ConfigureAwait(false);
        await CatchUpAsync(cancellationToken).ConfigureAwait(false);
        Raise("image-updated", ImageSourcePath(record), project);
        return record;
    }

    /// <summary>Applies a partial update (Incus' PATCH): given keys only, properties merged.</summary>
    public async Task<ImageRecord> PatchAsync(ProjectName project, string fingerprint, ImagePatch patch, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(patch);
        using var call = await EnterAsync(cancellationToken).ConfigureAwait(false);
        var image = Catalog.GetByPrefix(project, fingerprint);
        var properties = image.Properties.SetItems(patch.Properties ?? ImmutableDictionary<string, string>.Empty);
        var put = new ImagePut(patch.Public ?? image.Public, patch.AutoUpdate ?? image.AutoUpdate, properties, image.ExpiresAt, image.Profiles);
        return await UpdateAsync(project, image.Fingerprint.ToString(), put, call.Token).ConfigureAwait(false);
    }

    // The size bound holds as soon as a download takes the cache over it, not at the next timed pass: the caller's answer
    // waits for the least recently used images to go. The image just stored is kept, or its caller would get a record
    // of an image that is gone (one image larger than the bound stays until the next one arrives). A pass that fails or
    // does not end in time fails other images, not this download: its image is stored, and the next pass tries again.
    private async Task EnforceCacheMaxSizeAsync(ImageRecord stored, CancellationToken cancellationToken)
    {
        if (!stored.Cached || Current.Settings.Options.CacheMaxSize is not { } max || CacheRules.CachedSize(Catalog.List()) <= max)
        {
            return;
        }

        try
        {
            await Current.Eviction.Proxy.Ask<EvictionActor.Evicted>(new EvictionActor.RunNow([stored.Fingerprint.ToString()]), Current.Settings.AskTimeout, cancellationToken).ConfigureAwait(false);
        }
        catch (Exception e) when (e is EvictionFailedException or AskTimeoutException && !cancellationToken.IsCancellationRequested)
        {
            if (LoggerFactory?.CreateLogger<ImageStore>() is { } logger)
            {
                LogBoundNotEnforced(logger, stored.Fingerprint.ToString(), e.Message);
            }

            return;
        }

        await CatchUpAsync(cancellationToken).ConfigureAwait(false);
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "The cache is over images.cache_max_size after image {Fingerprint} was stored, and the eviction pass it waited for did not bring it back: {Error}")]
    private static partial void LogBoundNotEnforced(ILogger logger, string fingerprint, string error);

    /// <summary>
    /// Records that a client used the image now (an export, a file served): <c>last_used_at</c> moves forward, written
    /// at most once per image per <c>images.last_used_interval</c> (the latest use kept), so a busy image does not cost
    /// a journal write per request. Returns at once; an image that is gone is ignored.
    /// </summary>
    public void RecordUse(ProjectName project, Fingerprint fingerprint) =>
        Current.Context.TellImage(project, fingerprint, new ImageProtocol.RecordUse(Current.Settings.Clock.GetUtcNow()));

    /// <summary>Why <paramref name="image"/> is kept, or when the cache rules would remove it, with this store's settings.</summary>
    public ImageRetention RetentionOf(ImageRecord image) =>
        ImageRetention.Of(image, Current.Settings.Options.RemoteCacheExpiry, Current.Settings.Options.CacheMaxSize);

    /// <summary>Records that an instance was created from the image (<c>last_used_at</c>), written at once.</summary>
    public async Task<ImageRecord> MarkUsedAsync(ProjectName project, Fingerprint fingerprint, CancellationToken cancellationToken = default)
    {
        using var call = await EnterAsync(cancellationToken).ConfigureAwait(false);
        return await Current.Context.AskImage<ImageRecord>(project, fingerprint, new ImageProtocol.MarkUsed(Current.Settings.Clock.GetUtcNow()), call.Token).ConfigureAwait(false);
    }

    /// <summary>
    /// Records that the cache names the image by <paramref name="alias"/> because it fetched it for the upstream alias of
    /// that name: the alias follows the image and does not keep it. Call it before the alias is created.
    /// </summary>
    internal async Task<ImageRecord> RecordCacheAliasAsync(ProjectName project, Fingerprint fingerprint, AliasName alias, CancellationToken cancellationToken)
    {
        using var call = await EnterAsync(cancellationToken).ConfigureAwait(false);
        return await Current.Context.AskImage<ImageRecord>(project, fingerprint, new ImageProtocol.RecordCacheAlias(alias), call.Token).ConfigureAwait(false);
    }

    /// <summary>The <c>requirements.*</c> of the image that <paramref name="host"/> does not meet.</summary>
    public IReadOnlyList<UnmetRequirement> CheckRequirements(ProjectName project, string fingerprintOrAlias, HostProfile host) =>
        RequirementsCheck.Check(Get(project, fingerprintOrAlias), host);

    /// <summary>Creates an alias for the image named by <paramref name="target"/> (fingerprint or unique prefix).</summary>
    /// <exception cref="InvalidAliasNameException">The name breaks Incus' rules.</exception>
    /// <exception cref="AliasExistsException">The alias exists with another target.</exception>
    public async Task<AliasRecord> CreateAliasAsync(ProjectName project, string name, string target, string description = "", CancellationToken cancellationToken = default)
    {
        using var call = await EnterAsync(cancellationToken).ConfigureAwait(false);
        cancellationToken = call.Token;
        var alias = AliasName.Parse(name);
        var image = Catalog.GetByPrefix(project, target);
        var created = await Current.Context.AskAlias<AliasRecord>(project, alias, new AliasProtocol.Create(image.Fingerprint, description), cancellationToken).ConfigureAwait(false);
        await CatchUpAsync(cancellationToken).ConfigureAwait(false);
        Raise("image-alias-created", AliasSourcePath(project, alias), project, ("target", created.Target.ToString()));
        return created;
    }

    /// <summary>Points an existing alias at another image (and optionally changes its description).</summary>
    public async Task<AliasRecord> RetargetAliasAsync(ProjectName project, string name, string target, string? description = null, CancellationToken cancellationToken = default)
    {
        using var call = await EnterAsync(cancellationToken).ConfigureAwait(false);
        cancellationToken = call.Token;
        var alias = AliasName.Parse(name);
        var image = Catalog.GetByPrefix(project, target);
        var updated = await Current.Context.AskAlias<AliasRecord>(project, alias, new AliasProtocol.Retarget(image.Fingerprint, description), cancellationToken).ConfigureAwait(false);
        await CatchUpAsync(cancellationToken).ConfigureAwait(false);
        Raise("image-alias-updated", AliasSourcePath(project, alias), project, ("target", updated.Target.ToString()));
        return updated;
    }

    /// <summary>Renames an alias.</summary>
    public async Task<AliasRecord> RenameAliasAsync(ProjectName project, string name, string newName, CancellationToken cancellationToken = default)
    {
        using var call = await EnterAsync(cancellationToken).ConfigureAwait(false);
        cancellationToken = call.Token;
        var alias = AliasName.Parse(name);
        var renamed = await Current.Context.AskAlias<AliasRecord>(project, alias, new AliasProtocol.Rename(AliasName.Parse(newName)), cancellationToken).ConfigureAwait(false);
        await CatchUpAsync(cancellationToken).ConfigureAwait(false);
        Raise("image-alias-renamed", AliasSourcePath(project, renamed.Name), project, ("old_name", name));
        return renamed;
    }

    /// <summary>Deletes an alias (not its image).</summary>
    public async Task DeleteAliasAsync(ProjectName project, string name, CancellationToken cancellationToken = default)
    {
        using var call = await EnterAsync(cancellationToken).ConfigureAwait(false);
        cancellationToken = call.Token;
        var alias = AliasName.Parse(name);
        await Current.Context.AskAlias<AliasProtocol.Done>(project, alias, new AliasProtocol.Delete(), cancellationToken).ConfigureAwait(false);
        await CatchUpAsync(cancellationToken).ConfigureAwait(false);
        Raise("image-alias-deleted", AliasSourcePath(project, alias), project);
    }

    /// <summary>The alias.</summary>
    /// <exception cref="AliasNotFoundException">No such alias.</exception>
    public AliasRecord GetAlias(ProjectName project, string name) =>
        Catalog.FindAlias(project, AliasName.Parse(name)) ?? throw new AliasNotFoundException(name);

    /// <summary>The aliases of a project (every project when null).</summary>
    public IReadOnlyList<AliasRecord> ListAliases(ProjectName? project = null) => Catalog.ListAliases(project);

    /// <summary>Runs the cache rules now (expiry, <c>expires_at</c>, size quota); returns what was removed.</summary>
    /// <exception cref="EvictionFailedException">A step of the run failed; it names the image and the step, and lists what went before.</exception>
    public async Task<IReadOnlyList<Eviction>> EvictNowAsync(CancellationToken cancellationToken = default)
    {
        using var call = await EnterAsync(cancellationToken).ConfigureAwait(false);
        cancellationToken = call.Token;
        // The eviction actor raises image-deleted for what it removed, on a schedule or asked.
        var evicted = await Current.Eviction.Proxy.Ask<EvictionActor.Evicted>(new EvictionActor.RunNow([]), Current.Settings.AskTimeout, cancellationToken).ConfigureAwait(false);
        await CatchUpAsync(cancellationToken).ConfigureAwait(false);
        return evicted.Images;
    }

    /// <summary>
    /// Refreshes an image from its recorded source now (Incus' POST …/refresh): when the source's
    /// alias names a newer image, it is downloaded and replaces this one (aliases, profiles, public,
    /// cached state and last use carry over). Returns the replacement, or null when up to date.
    /// </summary>
    public async Task<ImageRecord?> RefreshAsync(ProjectName project, string fingerprint, CancellationToken cancellationToken = default)
    {
        using var call = await EnterAsync(cancellationToken).ConfigureAwait(false);
        cancellationToken = call.Token;
        var image = Catalog.GetByPrefix(project, fingerprint);
        var refreshed = await Current.AutoUpdate.Proxy.Ask<AutoUpdateActor.Refreshed>(new AutoUpdateActor.Refresh(image), timeout: null, cancellationToken).ConfigureAwait(false);
        await CatchUpAsync(cancellationToken).ConfigureAwait(false);
        if (refreshed.Replacement is not null)
        {
            // The replacement's image-created, alias moves and the old image's deletion were raised by the refresh itself.
            Raise("image-refreshed", ImageSourcePath(image), project);
        }

        return refreshed.Replacement;
    }

    /// <summary>The actor kinds <see cref="MailboxDepth"/> reports on.</summary>
    public static IReadOnlyList<string> MailboxKinds { get; } = ["images", "aliases", "workers", "eviction", "auto-update", "catalog-feed"];

    /// <summary>
    /// Messages queued for the store's actors of one kind: <c>images</c> (the image and image-file regions and their
    /// entities), <c>aliases</c> (the region and all its entities), <c>workers</c> (the file, download and unpack pools), <c>eviction</c>, <c>auto-update</c>,
    /// <c>catalog-feed</c>. Cheap enough to read on every metrics scrape.
    /// </summary>
    /// <exception cref="ArgumentException">Not one of <see cref="MailboxKinds"/>.</exception>
    public long MailboxDepth(string kind) => kind switch
    {
        "images" => Mailboxes.Depth(Current.Context.ImageRegion) + Mailboxes.Depth(Current.Context.FilesRegion),
        "aliases" => Mailboxes.Depth(Current.Context.AliasRegion),
        "workers" => Mailboxes.Depth(Current.Context.FilePool) + Mailboxes.Depth(Current.Context.DownloadPool) + Mailboxes.Depth(Current.UnpackPool),
        "eviction" => Mailboxes.Depth(Current.Eviction.Manager) + Mailboxes.Depth(Current.Eviction.Proxy),
        "auto-update" => Mailboxes.Depth(Current.AutoUpdate.Manager) + Mailboxes.Depth(Current.AutoUpdate.Proxy),
        "catalog-feed" => Mailboxes.Depth(Current.Context.Feed),
        _ => throw new ArgumentException($"Unknown actor kind \"{kind}\"; expected one of {string.Join(", ", MailboxKinds)}", nameof(kind)),
    };

    /// <summary>Waits until the read model includes every event written so far.</summary>
    public async Task WaitForReadModelAsync(CancellationToken cancellationToken = default)
    {
        using var call = await EnterAsync(cancellationToken).ConfigureAwait(false);
        await CatchUpAsync(call.Token).ConfigureAwait(false);
    }

    /// <summary>Saves a read-model snapshot now (start-up then replays only newer events).</summary>
    public async Task SaveCatalogSnapshotAsync(CancellationToken cancellationToken = default)
    {
        using var call = await EnterAsync(cancellationToken).ConfigureAwait(false);
        await Current.Context.Feed.Ask<CatalogFeedActor.CaughtUp>(new CatalogFeedActor.SaveSnapshot(), Current.Settings.AskTimeout, call.Token).ConfigureAwait(false);
    }

    private Task CatchUpAsync(CancellationToken cancellationToken) =>
        Current.Context.Feed.Ask<CatalogFeedActor.CaughtUp>(new CatalogFeedActor.WaitForJournal(), Current.Settings.AskTimeout, cancellationToken);

    /// <summary>
    /// Stops the store: calls made from now on fail at once with <see cref="ObjectDisposedException"/>, calls in flight
    /// are cancelled and waited for (at most <see cref="ImageStoreSettings.StopTimeout"/>), the node leaves its cluster,
    /// the actor system terminates (the host's too, when the store runs on it: it is the system's coordinated shutdown),
    /// the temp files of interrupted work are removed and the data directory is released.
    /// </summary>
    public async ValueTask DisposeAsync()
    {
        BeginStop();
        if (_ready.Task.IsCompletedSuccessfully)
        {
            await StopRunningAsync().ConfigureAwait(false);
        }

        if (Interlocked.Exchange(ref _metricsDisposed, 1) == 0)
        {
            _metrics.Dispose();
        }
    }

    IEnumerable<Measurement<long>> IStoreGauges.ObserveImageCount() => Observe(r => r.Context.Catalog.ImageCount);

    IEnumerable<Measurement<long>> IStoreGauges.ObserveAliasCount() => Observe(r => r.Context.Catalog.AliasCount);

    IEnumerable<Measurement<long>> IStoreGauges.ObserveCatalogOrdering() => Observe(r => r.Context.Catalog.Ordering);

    IEnumerable<Measurement<long>> IStoreGauges.ObserveCachedBytes() => Observe(r => CacheRules.CachedSize(r.Context.Catalog.List()));

    IEnumerable<Measurement<long>> IStoreGauges.ObserveMailboxDepths()
    {
        if (Volatile.Read(ref _stopped) != 0 || _running is null)
        {
            return [];
        }

        try
        {
            return MailboxKinds.Select(kind => new Measurement<long>(MailboxDepth(kind), new KeyValuePair<string, object?>("actor", kind))).ToList();
        }
        catch (Exception e) when (e is ObjectDisposedException or InvalidOperationException)
        {
            // Stopping meanwhile: no sample rather than a failed collection.
            return [];
        }
    }

    // A gauge of the running store; nothing before it started or after it stopped.
    private IEnumerable<Measurement<long>> Observe(Func<Running, long> read) =>
        Volatile.Read(ref _stopped) == 0 && _running is { } running ? [new Measurement<long>(read(running))] : [];

    // Calls made from now on fail; those in flight are cancelled. Callers waiting for a start that has not finished
    // fail now; the start stops what it built when it ends.
    private void BeginStop()
    {
        if (Interlocked.Exchange(ref _stopped, 1) != 0)
        {
            return;
        }

        _ready.TrySetException(new ObjectDisposedException(nameof(ImageStore), "The image store was stopped before it started."));
        _ = _ready.Task.Exception;
        _ = _stopping.CancelAsync();
    }

    // In this order, whoever began the stop: the calls end (the system's shutdown phase for them), the system
    // terminates, then the files are let go.
    private async Task StopRunningAsync()
    {
        if (_running is not { } running)
        {
            return;
        }

        await DrainAsync().ConfigureAwait(false);
        await StoreActorSystem.StopAsync(running.System).ConfigureAwait(false);
        await ReleaseAsync().ConfigureAwait(false);
    }

    // Once, in the coordinated shutdown's phase for requests in progress (before the shard regions hand off). A start
    // that has not finished has no calls to end (and one that failed keeps its error for its callers).
    private Task DrainAsync()
    {
        if (_running is not { } running)
        {
            return Task.CompletedTask;
        }

        var drain = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        if (Interlocked.CompareExchange(ref _drain, drain.Task, null) is { } draining)
        {
            return draining;
        }

        _ = DrainOnceAsync(running).ContinueWith(_ => drain.TrySetResult(), CancellationToken.None, TaskContinuationOptions.None, TaskScheduler.Default);
        return drain.Task;
    }

    private async Task DrainOnceAsync(Running running)
    {
        BeginStop();
        if (Volatile.Read(ref _calls) > 0)
        {
            try
            {
                await _drained.Task.WaitAsync(running.Settings.StopTimeout).ConfigureAwait(false);
            }
            catch (TimeoutException)
            {
                // What has not ended by now stops with the actor system: workers cancel their jobs when they stop.
            }
        }

        running.Materializer.Dispose();
    }

    // Once the actor system terminated, so the journal is closed and the workers stopped. Nothing to do for a start
    // that failed: it let go of what it took.
    private async Task ReleaseAsync()
    {
        if (_running is not { } running)
        {
            return;
        }

        // Terminated without its coordinated shutdown: the calls end now.
        await DrainAsync().ConfigureAwait(false);
        if (Interlocked.Exchange(ref _releasing, 1) != 0)
        {
            await _released.Task.ConfigureAwait(false);
            return;
        }

        try
        {
            // Stopped workers cancelled their jobs; a cancelled job ends by keeping or deleting its own temp file.
            try
            {
                await running.Context.Jobs.WhenNoneAsync().WaitAsync(running.Settings.StopTimeout).ConfigureAwait(false);
            }
            catch (TimeoutException)
            {
                // A job that does not end within the bound loses its temp file to the sweep below.
            }

            // Still under the directory's lock: whatever is in tmp/ now belonged to work that was cancelled.
            running.Context.Blobs.SweepTemporaryFiles();
        }
        finally
        {
            running.Lock.Dispose();
            _released.TrySetResult();
        }
    }

    // The running store, for a call: waits for the start when it has not finished, fails once the store stopped.
    private Running Current
    {
        get
        {
            ObjectDisposedException.ThrowIf(Volatile.Read(ref _stopped) != 0, this);
            if (_running is { } running)
            {
                return running;
            }

            _ready.Task.GetAwaiter().GetResult();
            return _running ?? throw new ObjectDisposedException(nameof(ImageStore));
        }
    }

    // Every asynchronous call is counted in, so that a stop can cancel it (its token is linked to the stop) and wait for it.
    private async ValueTask<Call> EnterAsync(CancellationToken cancellationToken)
    {
        ObjectDisposedException.ThrowIf(Volatile.Read(ref _stopped) != 0, this);
        if (!_ready.Task.IsCompletedSuccessfully)
        {
            await _ready.Task.WaitAsync(cancellationToken).ConfigureAwait(false);
        }

        Interlocked.Increment(ref _calls);
        if (Volatile.Read(ref _stopped) != 0)
        {
            Leave();
            throw new ObjectDisposedException(nameof(ImageStore));
        }

        return new Call(this, CancellationTokenSource.CreateLinkedTokenSource(cancellationToken, _stopping.Token));
    }

    private void Leave()
    {
        if (Interlocked.Decrement(ref _calls) == 0 && Volatile.Read(ref _stopped) != 0)
        {
            _drained.TrySetResult();
        }
    }

    /// <summary>A call in flight: its token ends with the caller's or with the store.</summary>
    private sealed class Call(ImageStore store, CancellationTokenSource linked) : IDisposable
    {
        public CancellationToken Token => linked.Token;

        public void Dispose()
        {
            linked.Dispose();
            store.Leave();
        }
    }

    private async Task<(PendingImage Pending, ImageContents Contents, string Filename)> ReceiveAsync(ImportRequest request, CancellationToken cancellationToken)
    {
        var blobs = Current.Context.Blobs;
        switch (request.Source)
        {
            case ImageSource.UnifiedFile file:
                {
                    // Checked as it is copied: the file is read once, its decompression beside the hash.
                    await using var stream = OpenRead(file.Path);
                    var check = new UnifiedCheck(Path.GetFileName(file.Path));
                    var pending = await HashAsync(stream, null, stream.Length, request.Progress, cancellationToken, check.Run).ConfigureAwait(false);
                    return (pending, check.Contents, Path.GetFileName(file.Path));
                }

            case ImageSource.SplitFiles split:
                {
                    var contents = Inspect(split.MetadataPath, split.RootfsPath, Path.GetFileName(split.MetadataPath));
                    await using var meta = OpenRead(split.MetadataPath);
                    await using var rootfs = OpenRead(split.RootfsPath);
                    return (await HashAsync(meta, rootfs, meta.Length + rootfs.Length, request.Progress, cancellationToken).ConfigureAwait(false), contents, Path.GetFileName(split.MetadataPath));
                }

            case ImageSource.Directory directory:
                {
                    var contents = Inspect(directory.Path, null, Path.GetFileName(directory.Path.TrimEnd('/')));
                    var tarball = Path.Combine(blobs.TempDirectory, $"{Guid.NewGuid():N}.dir.tar");
                    try
                    {
                        await TarFile.CreateFromDirectoryAsync(directory.Path, tarball, includeBaseDirectory: false, cancellationToken).ConfigureAwait(false);
                        await using var stream = OpenRead(tarball);
                        return (await HashAsync(stream, null, stream.Length, request.Progress, cancellationToken).ConfigureAwait(false), contents, Path.GetFileName(directory.Path.TrimEnd('/')) + ".tar");
                    }
                    finally
                    {
                        File.Delete(tarball);
                    }
                }

            case ImageSource.UnifiedStream upload:
                {
                    // Checked as it is written (one read of the bytes, the decompression beside the hash).
                    var check = new UnifiedCheck(upload.Filename);
                    var pending = await HashAsync(upload.Stream, null, null, request.Progress, cancellationToken, check.Run).ConfigureAwait(false);
                    return (pending, check.Contents, upload.Filename);
                }

            case ImageSource.SplitStreams upload:
                {
                    var pending = await HashAsync(upload.Metadata, upload.Rootfs, null, request.Progress, cancellationToken).ConfigureAwait(false);
                    return (pending, InspectPending(pending, upload.Filename), upload.Filename);
                }

            default:
                throw new ArgumentException($"Unknown image source {request.Source.GetType().Name}.", nameof(request));
        }
    }

    private ImageContents InspectPending(PendingImage pending, string filename)
    {
        try
        {
            return Inspect(pending.Metadata.Path, pending.Rootfs?.Path, filename);
        }
        catch
        {
            pending.Dispose();
            throw;
        }
    }

    // The error names the file the user gave (its name as uploaded), on one line, before what is wrong with it.
    private static ImageContents Inspect(string path, string? rootfs, string filename)
    {
        try
        {
            return ImageInspector.Inspect(path, rootfs);
        }
        catch (Exception e) when (e is Streaming.Images.InvalidImageException or Streaming.Formats.UnsupportedImageFormatException)
        {
            throw Invalid(filename, e);
        }
    }

    private static Domain.InvalidImageException Invalid(string filename, Exception e)
    {
        var name = string.Concat(filename.Where(c => !char.IsControl(c)));
        return new Domain.InvalidImageException(name.Length == 0 ? e.Message : $"{name}: {e.Message}", e);
    }

    /// <summary>A unified image's check (metadata, type, every tar header, the codec's integrity) run on the bytes as they are copied.</summary>
    private sealed class UnifiedCheck(string filename)
    {
        private ImageContents? _contents;

        /// <summary>What the check found; only read after the copy succeeded (a failed check fails the copy).</summary>
        public ImageContents Contents => _contents ?? throw new InvalidOperationException("The image was not checked.");

        public void Run(Stream image)
        {
            try
            {
                _contents = ImageInspector.InspectUnified(image);
            }
            catch (Exception e) when (e is Streaming.Images.InvalidImageException or Streaming.Formats.UnsupportedImageFormatException)
            {
                throw Invalid(filename, e);
            }
        }
    }

    private async Task<PendingImage> HashAsync(Stream first, Stream? second, long? total, IProgress<ImageProgress>? progress, CancellationToken cancellationToken, Action<Stream>? checkFirst = null)
    {
        var blobs = Current.Context.Blobs;
        var meta = blobs.CreatePending(total);
        try
        {
            await meta.AppendAsync(Report(first, progress, total, 0), cancellationToken: cancellationToken, check: checkFirst).ConfigureAwait(false);
            if (second is null)
            {
                return new PendingImage(meta, null);
            }

            var rootfs = blobs.CreatePending(hashedAfter: meta);
            try
            {
                await rootfs.AppendAsync(Report(second, progress, total, meta.Length), cancellationToken: cancellationToken).ConfigureAwait(false);
                return new PendingImage(meta, rootfs);
            }
            catch
            {
                rootfs.Dispose();
                throw;
            }
        }
        catch
        {
            meta.Dispose();
            throw;
        }
    }

    private static Stream Report(Stream source, IProgress<ImageProgress>? progress, long? total, long offset) =>
        progress is null ? source : new ProgressStream(source, n => progress.Report(new ImageProgress("transfer", offset + n, total)));

    private ImageRecord Draft(ImageContents contents, ImportRequest request, string filename)
    {
        var metadata = contents.Metadata;
        var properties = metadata.Properties.ToImmutableSortedDictionary(StringComparer.Ordinal).SetItems(request.Properties);
        return new ImageRecord
        {
            Fingerprint = default,
            Project = request.Project,
            Filename = request.Filename ?? filename,
            Architecture = metadata.Architecture.Name,
            Type = contents.Type == StreamingImageType.VirtualMachine ? DomainImageType.VirtualMachine : DomainImageType.Container,
            Public = request.Public,
            Properties = properties,
            CreatedAt = metadata.CreationDate,
            ExpiresAt = metadata.ExpiryDate ?? DateTimeOffset.MinValue,
            LastUsedAt = DateTimeOffset.MinValue,
            UploadedAt = Current.Settings.Clock.GetUtcNow(),
        };
    }

    private static FileStream OpenRead(string path) =>
        new(path, new FileStreamOptions { Mode = FileMode.Open, Access = FileAccess.Read, Share = FileShare.Read, BufferSize = 0, Options = FileOptions.SequentialScan });

    private static string ImageSourcePath(ImageRecord image) => WithProject($"/1.0/images/{image.Fingerprint}", image.Project);

    private static string AliasSourcePath(ProjectName project, AliasName name) => WithProject($"/1.0/images/aliases/{name.Value}", project);

    private static string WithProject(string path, ProjectName project) => project == ProjectName.Default ? path : $"{path}?project={project.Value}";

    private void Raise(string action, string source, ProjectName project, params (string Key, string Value)[] context) =>
        RaiseLifecycle(new ImageLifecycleEvent(action, source, project, context.ToDictionary(c => c.Key, c => c.Value)));

    private void RaiseLifecycle(ImageLifecycleEvent lifecycleEvent) => Lifecycle?.Invoke(this, lifecycleEvent);
}
