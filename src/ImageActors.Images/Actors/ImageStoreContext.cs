using ImageActors.Actors;
using ImageActors.Actors.Sharding;
using ImageActors.Images.Domain;
using ImageActors.Images.ReadModel;
using ImageActors.Streaming;
using ImageActors.Streaming.Storage;

namespace ImageActors.Images.Actors;

/// <summary>What the image, alias and file actors share: the files, the worker pools, the regions and the read model.</summary>
internal sealed class ImageStoreContext(BlobStore blobs, ImageCatalog catalog, TimeProvider clock, TimeSpan askTimeout)
{
    public BlobStore Blobs { get; } = blobs;

    public ImageCatalog Catalog { get; } = catalog;

    public TimeProvider Clock { get; } = clock;

    public TimeSpan AskTimeout { get; } = askTimeout;

    /// <summary>Events between two snapshots of an entity.</summary>
    public int SnapshotEvery { get; init; } = 50;

    /// <summary>An entity with nothing in flight stops after this long without writes; null keeps entities running.</summary>
    public TimeSpan? PassivateIdleAfter { get; init; }

    public IActorRef FilePool { get; set; } = null!;

    public IActorRef DownloadPool { get; set; } = null!;

    public IActorRef ImageRegion { get; set; } = null!;

    public IActorRef AliasRegion { get; set; } = null!;

    /// <summary>One <see cref="ImageFilesActor"/> per fingerprint: the files that projects holding it share.</summary>
    public IActorRef FilesRegion { get; set; } = null!;

    public IActorRef Feed { get; set; } = null!;

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

    public void TellImage(ProjectName project, Fingerprint fingerprint, object message, IActorRef? sender = null) =>
        ImageRegion.Tell(new EntityEnvelope(ImageEntityId(project, fingerprint), message), sender);

    public Task<T> AskImage<T>(ProjectName project, Fingerprint fingerprint, object message, CancellationToken cancellationToken = default) =>
        ImageRegion.Ask<T>(new EntityEnvelope(ImageEntityId(project, fingerprint), message), AskTimeout, cancellationToken);

    public void TellAlias(ProjectName project, AliasName name, object message, IActorRef? sender = null) =>
        AliasRegion.Tell(new EntityEnvelope(AliasEntityId(project, name), message), sender);

    public Task<T> AskAlias<T>(ProjectName project, AliasName name, object message, CancellationToken cancellationToken = default) =>
        AliasRegion.Ask<T>(new EntityEnvelope(AliasEntityId(project, name), message), AskTimeout, cancellationToken);

    public void TellFiles(Fingerprint fingerprint, object message, IActorRef? sender = null) =>
        FilesRegion.Tell(new EntityEnvelope(fingerprint.ToString(), message), sender);

    public Task<T> AskFiles<T>(Fingerprint fingerprint, object message, CancellationToken cancellationToken = default) =>
        FilesRegion.Ask<T>(new EntityEnvelope(fingerprint.ToString(), message), AskTimeout, cancellationToken);
}

/// <summary>The API paths lifecycle events name as their source (<c>?project=</c> outside the default project).</summary>
internal static class LifecycleSources
{
    public static string Image(ProjectName project, Fingerprint fingerprint) => WithProject($"/1.0/images/{fingerprint}", project);

    public static string Alias(ProjectName project, AliasName name) => WithProject($"/1.0/images/aliases/{name.Value}", project);

    private static string WithProject(string path, ProjectName project) => project == ProjectName.Default ? path : $"{path}?project={project.Value}";
}
