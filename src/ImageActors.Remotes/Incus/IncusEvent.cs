using System.Text.Json.Nodes;

namespace ImageActors.Remotes.Incus;

/// <summary>An event on <c>/1.0/events</c>: <c>{"type":"lifecycle","timestamp":...,"metadata":{...}}</c>.</summary>
public sealed record IncusEvent
{
    /// <summary><c>lifecycle</c>, <c>operation</c> or <c>logging</c>.</summary>
    public string Type { get; init; } = "lifecycle";

    /// <summary>When the event happened.</summary>
    public DateTimeOffset Timestamp { get; init; }

    /// <summary>The event payload (a <see cref="EventLifecycle"/> for lifecycle events).</summary>
    public JsonNode? Metadata { get; init; }

    /// <summary>Cluster member that emitted the event.</summary>
    public string Location { get; init; } = "none";

    /// <summary>Project of the event.</summary>
    public string Project { get; init; } = "default";
}

/// <summary>A lifecycle event payload, e.g. <c>image-created</c> with source <c>/1.0/images/&lt;fp&gt;</c>.</summary>
public sealed record EventLifecycle
{
    /// <summary><c>image-created</c>, <c>image-alias-renamed</c>, ...</summary>
    public string Action { get; init; } = "";

    /// <summary>URL of the resource (<c>?project=</c> added for non-default projects).</summary>
    public string Source { get; init; } = "";

    /// <summary>Extra facts, e.g. <c>{"type":"container"}</c> or <c>{"target":"&lt;fp&gt;"}</c>.</summary>
    public JsonObject? Context { get; init; }

    /// <summary>Who caused the event.</summary>
    public EventLifecycleRequestor? Requestor { get; init; }

    /// <summary>Name of the resource, when it has one.</summary>
    public string Name { get; init; } = "";

    /// <summary>Project of the resource.</summary>
    public string Project { get; init; } = "";
}

/// <summary>The <c>requestor</c> of a lifecycle event.</summary>
public sealed record EventLifecycleRequestor
{
    /// <summary>User name (certificate fingerprint for TLS).</summary>
    public string Username { get; init; } = "";

    /// <summary><c>unix</c>, <c>tls</c>, ...</summary>
    public string Protocol { get; init; } = "";

    /// <summary>Remote address.</summary>
    public string Address { get; init; } = "";
}

/// <summary>Lifecycle actions of the image subsystem.</summary>
public static class LifecycleActions
{
    /// <summary>An image was created.</summary>
    public const string ImageCreated = "image-created";

    /// <summary>An image was deleted.</summary>
    public const string ImageDeleted = "image-deleted";

    /// <summary>An image was updated.</summary>
    public const string ImageUpdated = "image-updated";

    /// <summary>An image was exported.</summary>
    public const string ImageRetrieved = "image-retrieved";

    /// <summary>An image was replaced by a newer one.</summary>
    public const string ImageRefreshed = "image-refreshed";

    /// <summary>A download secret was created.</summary>
    public const string ImageSecretCreated = "image-secret-created";

    /// <summary>An alias was created.</summary>
    public const string ImageAliasCreated = "image-alias-created";

    /// <summary>An alias was retargeted or described.</summary>
    public const string ImageAliasUpdated = "image-alias-updated";

    /// <summary>An alias was renamed.</summary>
    public const string ImageAliasRenamed = "image-alias-renamed";

    /// <summary>An alias was deleted.</summary>
    public const string ImageAliasDeleted = "image-alias-deleted";
}
