using System.Collections.Immutable;
using System.Formats.Tar;
using Akka.Actor;
using Akka.Cluster.Sharding;
using Akka.Cluster.Tools.Singleton;
using Akka.Persistence;
using Akka.Persistence.Query;
using Akka.Persistence.Sql.Query;
using Akka.Streams;
using ImageActors.Images.Actors;
using ImageActors.Images.Caching;
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
using DomainImageType = ImageActors.Images.Domain.ImageType;
using StreamingImageType = ImageActors.Streaming.Images.ImageType;

namespace ImageActors.Images;

/// <summary>
/// The embedded image store: import, get, list, export, update, delete images and manage their
/// aliases, with Incus' rules. Writes go through one actor per image and per alias; reads come
/// from the read model (<see cref="Catalog"/>) and never wait for a writer.
/// </summary>
public sealed partial class ImageStore : IAsyncDisposable
{
    private readonly ImageStoreSettings _settings;
    private readonly ActorSystem _system;
    private readonly ImageStoreContext _context;
    private readonly Singleton _eviction;
    private readonly Singleton _autoUpdate;
    private readonly IActorRef _unpackPool;
    private readonly ActorMaterializer _materializer;

    private ImageStore(ImageStoreSettings settings, DataDirectoryLock directoryLock, ActorSystem system, ActorMaterializer materializer, ImageStoreContext context, Singleton eviction, Singleton autoUpdate, IActorRef unpackPool, SweepResult swept)
    {
        DirectoryLock = directoryLock;
        _materializer = materializer;
        _unpackPool = unpackPool;
        _autoUpdate = autoUpdate;
        _settings = settings;
        _system = system;
        _context = context;
        _eviction = eviction;
        SweptAtStart = swept;
    }

    /// <summary>
    /// Raised after each lifecycle change (spec §5.6): on the caller's thread for what a call did, on an actor's
    /// thread for what the store did by itself (eviction, auto-update).
    /// </summary>
    public event EventHandler<ImageLifecycleEvent>? Lifecycle;

    /// <summary>The read model: list, filter and prefix queries.</summary>
    public ImageCatalog Catalog => _context.Catalog;

    /// <summary>The image files.</summary>
    public BlobStore Blobs => _context.Blobs;

    /// <summary>What the start-up sweep removed (temp files of interrupted imports, files no image owns).</summary>
    public SweepResult SweptAtStart { get; }

    /// <summary>
    /// The store's hold on its data directory, taken before anything in it is read and released after the store
    /// stopped; a server announces its unix socket here, so that commands that would open the store talk to it instead.
    /// </summary>
    public DataDirectoryLock DirectoryLock { get; }

    /// <summary>The actors' shared parts: pools and regions, for tests that hold a worker or ask an entity.</summary>
    internal ImageStoreContext Context => _context;

    /// <summary>The settings the store runs with.</summary>
    public ImageStoreSettings Settings => _settings;

    /// <summary>The unpack workers, for tests that hold one.</summary>
    internal IActorRef UnpackPool => _unpackPool;

    /// <summary>The actor system the store runs on (a one-node cluster unless seed nodes are configured).</summary>
    public ActorSystem ActorSystem => _system;

    /// <summary>
    /// Opens the store: takes the data directory (one owner at a time), rebuilds the read model from its snapshot and
    /// the newer events, removes leftovers of interrupted imports, and starts the actors.
    /// </summary>
    /// <exception cref="DataDirectoryInUseException">Another process or store owns the data directory; nothing in it was touched.</exception>
    public static async Task<ImageStore> StartAsync(ImageStoreSettings settings, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(settings);
        var directoryLock = DataDirectoryLock.Acquire(settings.DataDirectory);
        try
        {
            return await StartOwnedAsync(settings, directoryLock, cancellationToken).ConfigureAwait(false);
        }
        catch
        {
            directoryLock.Dispose();
            throw;
        }
    }

    // Runs under the data directory's lock: the sweep below deletes temp files that only an owner may call garbage.
    private static async Task<ImageStore> StartOwnedAsync(ImageStoreSettings settings, DataDirectoryLock directoryLock, CancellationToken cancellationToken)
    {
        var blobs = new BlobStore(settings.DataDirectory, new BlobStoreOptions(Durable: settings.Durable));
        settings.Persistence.Prepare();
        var system = await StoreActorSystem.StartAsync(settings, cancellationToken).ConfigureAwait(false);
        var materializer = system.Materializer(namePrefix: "catalog");
        try
        {
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
            };

            // Progress is sampled often enough that a waiter hears of it several times within its stall bound.
            var progressInterval = settings.StallBound is { } bound ? TimeSpan.FromTicks(Math.Clamp(bound.Ticks / 4, TimeSpan.TicksPerMillisecond * 20, TimeSpan.TicksPerSecond)) : TimeSpan.FromSeconds(1);
            context.FilePool = system.ActorOf(WorkerPool.Props(settings.FileWorkers, settings.WorkerSupervision, progressInterval), "file-workers");
            context.DownloadPool = system.ActorOf(WorkerPool.Props(settings.Options.DownloadWorkers, settings.WorkerSupervision, progressInterval), "download-workers");
            context.Feed = system.ActorOf(CatalogFeedActor.Props(catalog, queries, snapshots, persistence.JournalFor(null), materializer, settings.CatalogSnapshotEvery, settings.Clock, settings.AskTimeout), "catalog-feed");
            var sharding = ClusterSharding.Get(system);
            var shardingSettings = ClusterShardingSettings.Create(system);
            var extractor = new EntityMessageExtractor();
            context.ImageRegion = await sharding.StartAsync("image", id => ImageActorProps(id, context), shardingSettings, extractor).ConfigureAwait(false);
            context.AliasRegion = await sharding.StartAsync("alias", id => AliasActorProps(id, context), shardingSettings, extractor).ConfigureAwait(false);
            context.FilesRegion = await sharding.StartAsync("image-files", id => ImageFilesActor.Props(Fingerprint.Parse(id), context), shardingSettings, extractor).ConfigureAwait(false);
            var eviction = StartSingleton(system, "eviction", EvictionActor.Props(context, settings.Options, settings.EvictionInterval));
            var autoUpdate = StartSingleton(system, "auto-update", AutoUpdateActor.Props(context, settings.UpdateSource, settings.Options.AutoUpdateInterval));
            var unpackPool = system.ActorOf(WorkerPool.Props(settings.Options.UnpackWorkers, settings.WorkerSupervision, progressInterval), "unpack-workers");
            var store = new ImageStore(settings, directoryLock, system, materializer, context, eviction, autoUpdate, unpackPool, swept);
            context.RaiseLifecycle = store.RaiseLifecycle;
            await store.FinishInterruptedDeletesAsync(cancellationToken).ConfigureAwait(false);
            return store;
        }
        catch
        {
            materializer.Dispose();
            await StoreActorSystem.StopAsync(system).ConfigureAwait(false);
            throw;
        }
    }

    // A delete is persisted before its aliases go (each alias actor removes itself after it); a process stopped in
    // between leaves aliases naming an image that is gone. They go now, as the delete would have taken them.
    private async Task FinishInterruptedDeletesAsync(CancellationToken cancellationToken)
    {
        var dangling = Catalog.ListAliases().Where(a => Catalog.Find(a.Project, a.Target) is null).ToList();
        foreach (var alias in dangling)
        {
            await _context.AskAlias<AliasProtocol.Done>(alias.Project, alias.Name, new AliasProtocol.DeleteIfTargets(alias.Target), cancellationToken).ConfigureAwait(false);
        }

        if (dangling.Count > 0)
        {
            await WaitForReadModelAsync(cancellationToken).ConfigureAwait(false);
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
        var aliases = request.Aliases.Select(AliasName.Parse).ToList();
        var (pending, contents, filename) = await ReceiveAsync(request, cancellationToken).ConfigureAwait(false);
        ImageRecord record;
        var upload = pending.Seal();
        try
        {
            var draft = Draft(contents, request, filename);
            record = await _context.AskImage<ImageRecord>(request.Project, upload.Fingerprint, new ImageProtocol.StoreUpload(upload, draft, request.FailIfExists), cancellationToken).ConfigureAwait(false);
        }
        catch
        {
            // The image's actor deletes the files it took (committed or not needed); a failed request leaves none either.
            upload.Delete();
            throw;
        }

        await WaitForReadModelAsync(cancellationToken).ConfigureAwait(false);
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
    public async Task<ImageRecord> DownloadAsync(ProjectName project, Fingerprint fingerprint, ImageFetch fetch, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(fetch);
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
        using (var ticket = _context.Fetches.Add(counted))
        {
            record = await _context.AskImage<ImageRecord>(project, fingerprint, new ImageProtocol.Download(ticket.Ticket), cancellationToken).ConfigureAwait(false);
        }

        await WaitForReadModelAsync(cancellationToken).ConfigureAwait(false);
        if (Volatile.Read(ref ran) == 1)
        {
            // Only the caller whose fetch stored the image announces it; those that joined it or found it stored do not.
            Raise("image-created", ImageSourcePath(record), record.Project, ("type", record.Type.ToApiName()));
            await EnforceCacheMaxSizeAsync(record, cancellationToken).ConfigureAwait(false);
        }

        return record;
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
        var image = Get(project, fingerprintOrAlias);
        var lease = await _context.AskImage<ImageProtocol.ExportLease>(project, image.Fingerprint, new ImageProtocol.OpenExport(), cancellationToken).ConfigureAwait(false);
        var release = () => _context.TellImage(project, image.Fingerprint, new ImageProtocol.CloseExport());
        Stream? metadata = null;
        try
        {
            metadata = OpenRead(lease.MetadataPath);
            var rootfs = lease.RootfsPath is null ? null : OpenRead(lease.RootfsPath);
            Raise("image-retrieved", ImageSourcePath(lease.Image), project);
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
        var image = Get(project, fingerprintOrAlias);
        var lease = await _context.AskImage<ImageProtocol.ExportLease>(project, image.Fingerprint, new ImageProtocol.OpenExport(), cancellationToken).ConfigureAwait(false);
        var options = _settings.Options;
        var unpack = new UnpackOptions(new UnpackLimits(options.UnpackMaxSize, options.UnpackMaxEntries, options.UnpackMaxRatio), PreserveOwners: false);
        var context = _context;

        // The job, not its caller, unpins the files once it stopped reading them: a caller that stops waiting (it
        // cancelled) cancels the job, and the files stay pinned until the job has actually ended.
        var job = new WorkerPool.Job(token =>
        {
            try
            {
                using var both = CancellationTokenSource.CreateLinkedTokenSource(token, cancellationToken);
                return Task.FromResult<object>(Unpack(lease, targetDirectory, unpack, both.Token));
            }
            finally
            {
                context.TellImage(project, image.Fingerprint, new ImageProtocol.CloseExport());
            }
        }, null, "unpack");

        // An unpack reads local files under its size and entry limits: it is waited for until it ends (or the caller cancels), not for a fixed time.
        var result = await ProgressWaiter.AskAsync<object>(_system, waiter => _unpackPool.Tell(job with { ReplyTo = waiter }), $"The unpack of image {image.Fingerprint}", null, cancellationToken).ConfigureAwait(false);
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
        var image = Catalog.GetByPrefix(project, fingerprint);
        await _context.AskImage<ImageProtocol.Deleted>(project, image.Fingerprint, new ImageProtocol.Delete("deleted"), cancellationToken).ConfigureAwait(false);
        await WaitForReadModelAsync(cancellationToken).ConfigureAwait(false);
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
        var image = Catalog.GetByPrefix(project, fingerprint);
        var record = await _context.AskImage<ImageRecord>(project, image.Fingerprint, new ImageProtocol.Update(put), cancellationToken).ConfigureAwait(false);
        await WaitForReadModelAsync(cancellationToken).ConfigureAwait(false);
        Raise("image-updated", ImageSourcePath(record), project);
        return record;
    }

    /// <summary>Applies a partial update (Incus' PATCH): given keys only, properties merged.</summary>
    public Task<ImageRecord> PatchAsync(ProjectName project, string fingerprint, ImagePatch patch, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(patch);
        var image = Catalog.GetByPrefix(project, fingerprint);
        var properties = image.Properties.SetItems(patch.Properties ?? ImmutableDictionary<string, string>.Empty);
        var put = new ImagePut(patch.Public ?? image.Public, patch.AutoUpdate ?? image.AutoUpdate, properties, image.ExpiresAt, image.Profiles);
        return UpdateAsync(project, image.Fingerprint.ToString(), put, cancellationToken);
    }

    // The size bound holds as soon as a download takes the cache over it, not at the next timed pass: the caller's answer
    // waits for the least recently used images to go. The image just stored is kept, or its caller would get a record
    // of an image that is gone (one image larger than the bound stays until the next one arrives).
    private async Task EnforceCacheMaxSizeAsync(ImageRecord stored, CancellationToken cancellationToken)
    {
        if (!stored.Cached || _settings.Options.CacheMaxSize is not { } max || CacheRules.CachedSize(Catalog.List()) <= max)
        {
            return;
        }

        await _eviction.Proxy.Ask<EvictionActor.Evicted>(new EvictionActor.RunNow([stored.Fingerprint.ToString()]), _settings.AskTimeout, cancellationToken).ConfigureAwait(false);
        await WaitForReadModelAsync(cancellationToken).ConfigureAwait(false);
    }

    /// <summary>
    /// Records that a client used the image now (an export, a file served): <c>last_used_at</c> moves forward, written
    /// at most once per image per <c>images.last_used_interval</c> (the latest use kept), so a busy image does not cost
    /// a journal write per request. Returns at once; an image that is gone is ignored.
    /// </summary>
    public void RecordUse(ProjectName project, Fingerprint fingerprint) =>
        _context.TellImage(project, fingerprint, new ImageProtocol.RecordUse(_settings.Clock.GetUtcNow()));

    /// <summary>Why <paramref name="image"/> is kept, or when the cache rules would remove it, with this store's settings.</summary>
    public ImageRetention RetentionOf(ImageRecord image) =>
        ImageRetention.Of(image, _settings.Options.RemoteCacheExpiry, _settings.Options.CacheMaxSize);

    /// <summary>Records that an instance was created from the image (<c>last_used_at</c>), written at once.</summary>
    public Task<ImageRecord> MarkUsedAsync(ProjectName project, Fingerprint fingerprint, CancellationToken cancellationToken = default) =>
        _context.AskImage<ImageRecord>(project, fingerprint, new ImageProtocol.MarkUsed(_settings.Clock.GetUtcNow()), cancellationToken);

    /// <summary>The <c>requirements.*</c> of the image that <paramref name="host"/> does not meet.</summary>
    public IReadOnlyList<UnmetRequirement> CheckRequirements(ProjectName project, string fingerprintOrAlias, HostProfile host) =>
        RequirementsCheck.Check(Get(project, fingerprintOrAlias), host);

    /// <summary>Creates an alias for the image named by <paramref name="target"/> (fingerprint or unique prefix).</summary>
    /// <exception cref="InvalidAliasNameException">The name breaks Incus' rules.</exception>
    /// <exception cref="AliasExistsException">The alias exists with another target.</exception>
    public async Task<AliasRecord> CreateAliasAsync(ProjectName project, string name, string target, string description = "", CancellationToken cancellationToken = default)
    {
        var alias = AliasName.Parse(name);
        var image = Catalog.GetByPrefix(project, target);
        var created = await _context.AskAlias<AliasRecord>(project, alias, new AliasProtocol.Create(image.Fingerprint, description), cancellationToken).ConfigureAwait(false);
        await WaitForReadModelAsync(cancellationToken).ConfigureAwait(false);
        Raise("image-alias-created", AliasSourcePath(project, alias), project, ("target", created.Target.ToString()));
        return created;
    }

    /// <summary>Points an existing alias at another image (and optionally changes its description).</summary>
    public async Task<AliasRecord> RetargetAliasAsync(ProjectName project, string name, string target, string? description = null, CancellationToken cancellationToken = default)
    {
        var alias = AliasName.Parse(name);
        var image = Catalog.GetByPrefix(project, target);
        var updated = await _context.AskAlias<AliasRecord>(project, alias, new AliasProtocol.Retarget(image.Fingerprint, description), cancellationToken).ConfigureAwait(false);
        await WaitForReadModelAsync(cancellationToken).ConfigureAwait(false);
        Raise("image-alias-updated", AliasSourcePath(project, alias), project, ("target", updated.Target.ToString()));
        return updated;
    }

    /// <summary>Renames an alias.</summary>
    public async Task<AliasRecord> RenameAliasAsync(ProjectName project, string name, string newName, CancellationToken cancellationToken = default)
    {
        var alias = AliasName.Parse(name);
        var renamed = await _context.AskAlias<AliasRecord>(project, alias, new AliasProtocol.Rename(AliasName.Parse(newName)), cancellationToken).ConfigureAwait(false);
        await WaitForReadModelAsync(cancellationToken).ConfigureAwait(false);
        Raise("image-alias-renamed", AliasSourcePath(project, renamed.Name), project, ("old_name", name));
        return renamed;
    }

    /// <summary>Deletes an alias (not its image).</summary>
    public async Task DeleteAliasAsync(ProjectName project, string name, CancellationToken cancellationToken = default)
    {
        var alias = AliasName.Parse(name);
        await _context.AskAlias<AliasProtocol.Done>(project, alias, new AliasProtocol.Delete(), cancellationToken).ConfigureAwait(false);
        await WaitForReadModelAsync(cancellationToken).ConfigureAwait(false);
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
        // The eviction actor raises image-deleted for what it removed, on a schedule or asked.
        var evicted = await _eviction.Proxy.Ask<EvictionActor.Evicted>(new EvictionActor.RunNow([]), _settings.AskTimeout, cancellationToken).ConfigureAwait(false);
        await WaitForReadModelAsync(cancellationToken).ConfigureAwait(false);
        return evicted.Images;
    }

    /// <summary>
    /// Refreshes an image from its recorded source now (Incus' POST …/refresh): when the source's
    /// alias names a newer image, it is downloaded and replaces this one (aliases, profiles, public,
    /// cached state and last use carry over). Returns the replacement, or null when up to date.
    /// </summary>
    public async Task<ImageRecord?> RefreshAsync(ProjectName project, string fingerprint, CancellationToken cancellationToken = default)
    {
        var image = Catalog.GetByPrefix(project, fingerprint);
        var refreshed = await _autoUpdate.Proxy.Ask<AutoUpdateActor.Refreshed>(new AutoUpdateActor.Refresh(image), timeout: null, cancellationToken).ConfigureAwait(false);
        await WaitForReadModelAsync(cancellationToken).ConfigureAwait(false);
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
        "images" => Mailboxes.Depth(_context.ImageRegion) + Mailboxes.Depth(_context.FilesRegion),
        "aliases" => Mailboxes.Depth(_context.AliasRegion),
        "workers" => Mailboxes.Depth(_context.FilePool) + Mailboxes.Depth(_context.DownloadPool) + Mailboxes.Depth(_unpackPool),
        "eviction" => Mailboxes.Depth(_eviction.Manager) + Mailboxes.Depth(_eviction.Proxy),
        "auto-update" => Mailboxes.Depth(_autoUpdate.Manager) + Mailboxes.Depth(_autoUpdate.Proxy),
        "catalog-feed" => Mailboxes.Depth(_context.Feed),
        _ => throw new ArgumentException($"Unknown actor kind \"{kind}\"; expected one of {string.Join(", ", MailboxKinds)}", nameof(kind)),
    };

    /// <summary>Waits until the read model includes every event written so far.</summary>
    public Task WaitForReadModelAsync(CancellationToken cancellationToken = default) =>
        _context.Feed.Ask<CatalogFeedActor.CaughtUp>(new CatalogFeedActor.WaitForJournal(), _settings.AskTimeout, cancellationToken);

    /// <summary>Saves a read-model snapshot now (start-up then replays only newer events).</summary>
    public Task SaveCatalogSnapshotAsync(CancellationToken cancellationToken = default) =>
        _context.Feed.Ask<CatalogFeedActor.CaughtUp>(new CatalogFeedActor.SaveSnapshot(), _settings.AskTimeout, cancellationToken);

    /// <summary>Stops the actors: the node leaves its cluster and the actor system terminates.</summary>
    public async ValueTask DisposeAsync()
    {
        _materializer.Dispose();
        await StoreActorSystem.StopAsync(_system).ConfigureAwait(false);
        DirectoryLock.Dispose();
    }

    private async Task<(PendingImage Pending, ImageContents Contents, string Filename)> ReceiveAsync(ImportRequest request, CancellationToken cancellationToken)
    {
        var blobs = _context.Blobs;
        switch (request.Source)
        {
            case ImageSource.UnifiedFile file:
                {
                    var contents = Inspect(file.Path, null);
                    await using var stream = OpenRead(file.Path);
                    return (await HashAsync(stream, null, stream.Length, request.Progress, cancellationToken).ConfigureAwait(false), contents, Path.GetFileName(file.Path));
                }

            case ImageSource.SplitFiles split:
                {
                    var contents = Inspect(split.MetadataPath, split.RootfsPath);
                    await using var meta = OpenRead(split.MetadataPath);
                    await using var rootfs = OpenRead(split.RootfsPath);
                    return (await HashAsync(meta, rootfs, meta.Length + rootfs.Length, request.Progress, cancellationToken).ConfigureAwait(false), contents, Path.GetFileName(split.MetadataPath));
                }

            case ImageSource.Directory directory:
                {
                    var contents = Inspect(directory.Path, null);
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
                    var pending = await HashAsync(upload.Stream, null, null, request.Progress, cancellationToken).ConfigureAwait(false);
                    return (pending, InspectPending(pending), upload.Filename);
                }

            case ImageSource.SplitStreams upload:
                {
                    var pending = await HashAsync(upload.Metadata, upload.Rootfs, null, request.Progress, cancellationToken).ConfigureAwait(false);
                    return (pending, InspectPending(pending), upload.Filename);
                }

            default:
                throw new ArgumentException($"Unknown image source {request.Source.GetType().Name}.", nameof(request));
        }
    }

    private ImageContents InspectPending(PendingImage pending)
    {
        try
        {
            return Inspect(pending.Metadata.Path, pending.Rootfs?.Path);
        }
        catch
        {
            pending.Dispose();
            throw;
        }
    }

    private static ImageContents Inspect(string path, string? rootfs)
    {
        try
        {
            return ImageInspector.Inspect(path, rootfs);
        }
        catch (Exception e) when (e is Streaming.Images.InvalidImageException or Streaming.Formats.UnsupportedImageFormatException)
        {
            throw new Domain.InvalidImageException(e.Message, e);
        }
    }

    private async Task<PendingImage> HashAsync(Stream first, Stream? second, long? total, IProgress<ImageProgress>? progress, CancellationToken cancellationToken)
    {
        var blobs = _context.Blobs;
        var meta = blobs.CreatePending(total);
        try
        {
            await meta.AppendAsync(Report(first, progress, total, 0), cancellationToken: cancellationToken).ConfigureAwait(false);
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
            UploadedAt = _settings.Clock.GetUtcNow(),
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
