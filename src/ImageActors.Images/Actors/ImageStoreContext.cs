using Akka.Actor;
using Akka.Cluster.Sharding;
using ImageActors.Images.Domain;
using ImageActors.Images.ReadModel;
using ImageActors.Streaming;
using ImageActors.Streaming.Storage;

namespace ImageActors.Images.Actors;

/// <summary>What the image, alias and file actors share: the files, the worker pools, the regions and the read model.</summary>
/// <param name="blobs">The image files.</param>
/// <param name="catalog">The read model.</param>
/// <param name="clock">The clock.</param>
/// <param name="askTimeout">How long a short request to an entity (a record, an alias, a delete) waits for its answer.</param>
internal sealed class ImageStoreContext(BlobStore blobs, ImageCatalog catalog, TimeProvider clock, TimeSpan askTimeout)
{
    public BlobStore Blobs { get; } = blobs;

    /// <summary>The worker jobs still running, which a stop waits for.</summary>
    public JobsInFlight Jobs { get; } = new();

    public ImageCatalog Catalog { get; } = catalog;

    public TimeProvider Clock { get; } = clock;

    public TimeSpan AskTimeout { get; } = askTimeout;

    /// <summary>
    /// How long a caller waits for a download or an import that reports no progress (<see cref="ImageProtocol.IFollowsProgress"/>);
    /// null waits until it ends.
    /// </summary>
    public TimeSpan? StallAfter { get; init; }

    /// <summary>Where the waiters of long requests live (the actor system).</summary>
    public IActorRefFactory Waiters { get; set; } = null!;

    /// <summary>Events between two snapshots of an entity.</summary>
    public int SnapshotEvery { get; init; } = 50;

    /// <summary>An entity with nothing in flight stops after this long without writes; null keeps entities running.</summary>
    public TimeSpan? PassivateIdleAfter { get; init; }

    /// <summary>The shortest time between two recorded uses of one image (<c>images.last_used_interval</c>).</summary>
    public TimeSpan LastUsedInterval { get; init; }

    /// <summary>The store's counts behind its instruments (evictions are counted by the eviction actor).</summary>
    public Diagnostics.StoreMetrics Metrics { get; init; } = null!;

    /// <summary>The downloads requested on this node, named in messages by ticket.</summary>
    public FetchTable Fetches { get; } = new();

    public IActorRef FilePool { get; set; } = null!;

    public IActorRef DownloadPool { get; set; } = null!;

    public IActorRef ImageRegion { get; set; } = null!;

    public IActorRef AliasRegion { get; set; } = null!;

    /// <summary>One <see cref="ImageFilesActor"/> per fingerprint: the files that projects holding it share.</summary>
    public IActorRef FilesRegion { get; set; } = null!;

    public IActorRef Feed { get; set; } = null!;

    /// <summary>The proxy to the eviction singleton: image actors tell it what the read model does not show yet.</summary>
    public IActorRef Eviction { get; set; } = ActorRefs.Nobody;

    /// <summary>Raises a lifecycle event on the store (set once the store exists; events before that have no listener).</summary>
    public Action<ImageLifecycleEvent>? RaiseLifecycle { get; set; }

    /// <summary>Raises <paramref name="action"/> on an image's API path (what the store's own work did: eviction, auto-update).</summary>
    public void RaiseImage(string action, ImageRecord image, params (string Key, string Value)[] context) =>
        RaiseLifecycle?.Invoke(new ImageLifecycleEvent(action, LifecycleSources.Image(image.Project, image.Fingerprint), image.Project, context.ToDictionary(c => c.Key, c => c.Value)));

    /// <summary>Raises <paramref name="action"/> on an alias' API path.</summary>
    public void RaiseAlias(string action, ProjectName project, AliasName name, params (string Key, string Value)[] context) =>
        RaiseLifecycle?.Invoke(new ImageLifecycleEvent(action, LifecycleSources.Alias(project, name), project, context.ToDictionary(c => c.Key, c => c.Value)));

    public static string ImageEntityId(ProjectName project, Fingerprint fingerprint) => $"{project.Value}|{fingerprint}";

    public static string AliasEntityId(ProjectName project, AliasName name) => $"{project.Value}|{name.Value}";

    /// <summary>
    /// When set, every message sent to an entity is serialized and deserialized with it first and the copy is
    /// sent, as a region does for an entity on another node: a message that is not plain data fails at once.
    /// (Akka's own <c>serialize-messages</c> also checks the persistence plugins' internal messages, some of
    /// which are not serializable, so tests turn this on instead.)
    /// </summary>
    public Akka.Serialization.Serialization? VerifyMessages { get; set; }

    public void TellImage(ProjectName project, Fingerprint fingerprint, object message, IActorRef? sender = null) =>
        ImageRegion.Tell(Envelope(ImageEntityId(project, fingerprint), message), sender ?? ActorRefs.NoSender);

    /// <summary>
    /// Asks an image: a download or an import waits while it makes progress (see <see cref="StallAfter"/>), anything
    /// else for <see cref="AskTimeout"/>.
    /// </summary>
    public Task<T> AskImage<T>(ProjectName project, Fingerprint fingerprint, object message, CancellationToken cancellationToken = default)
    {
        var envelope = Envelope(ImageEntityId(project, fingerprint), message);
        return message is ImageProtocol.IFollowsProgress longRunning
            ? ProgressWaiter.AskAsync<T>(Waiters, waiter => ImageRegion.Tell(envelope, waiter), longRunning.Describe(fingerprint), StallAfter, cancellationToken)
            : ImageRegion.Ask<T>(envelope, AskTimeout, cancellationToken);
    }

    public void TellAlias(ProjectName project, AliasName name, object message, IActorRef? sender = null) =>
        AliasRegion.Tell(Envelope(AliasEntityId(project, name), message), sender ?? ActorRefs.NoSender);

    public Task<T> AskAlias<T>(ProjectName project, AliasName name, object message, CancellationToken cancellationToken = default) =>
        AliasRegion.Ask<T>(Envelope(AliasEntityId(project, name), message), AskTimeout, cancellationToken);

    public void TellFiles(Fingerprint fingerprint, object message, IActorRef? sender = null) =>
        FilesRegion.Tell(Envelope(fingerprint.ToString(), message), sender ?? ActorRefs.NoSender);

    public Task<T> AskFiles<T>(Fingerprint fingerprint, object message, CancellationToken cancellationToken = default) =>
        FilesRegion.Ask<T>(Envelope(fingerprint.ToString(), message), AskTimeout, cancellationToken);

    private ShardingEnvelope Envelope(string entityId, object message)
    {
        if (VerifyMessages is { } serialization)
        {
            var serializer = serialization.FindSerializerFor(message);
            var bytes = serializer.ToBinary(message);
            message = serialization.Deserialize(bytes, serializer.Identifier, Akka.Serialization.Serialization.ManifestFor(serializer, message));
        }

        return new ShardingEnvelope(entityId, message);
    }
}

/// <summary>The API paths lifecycle events name as their source (<c>?project=</c> outside the default project).</summary>
internal static class LifecycleSources
{
    public static string Image(ProjectName project, Fingerprint fingerprint) => WithProject($"/1.0/images/{fingerprint}", project);

    public static string Alias(ProjectName project, AliasName name) => WithProject($"/1.0/images/aliases/{name.Value}", project);

    private static string WithProject(string path, ProjectName project) => project == ProjectName.Default ? path : $"{path}?project={project.Value}";
}
