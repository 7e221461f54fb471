using System.Text.Json.Nodes;
using ImageActors.Images;
using ImageActors.Images.Domain;
using ImageActors.Remotes.Incus;
using ImageActors.Server.Trust;

namespace ImageActors.Server.Events;

/// <summary>
/// Publishes Incus lifecycle events (spec §5.6): those the API publishes for what a request did (with the caller as
/// requestor), and those the store raises for what it did by itself (eviction, auto-update, pull-through caching).
/// </summary>
public sealed class Lifecycle(EventHub hub, TimeProvider time)
{
    // Set for the flow of every HTTP request: its endpoint publishes the events of what it asked the store to do,
    // with its caller, so the store's own copies of them are not forwarded a second time.
    private static readonly AsyncLocal<bool> RequestPublishes = new();

    /// <summary>Marks the current flow (an HTTP request and the operations it starts) as publishing its own lifecycle events.</summary>
    public static void MarkRequestPublishes() => RequestPublishes.Value = true;

    /// <summary>
    /// Forwards the store's events raised in the current flow from here on (until the calling async method returns):
    /// for store work a request triggers but does not announce itself, such as pulling an image through from an upstream.
    /// </summary>
    public static void ForwardStoreEvents() => RequestPublishes.Value = false;

    /// <summary>
    /// Publishes a lifecycle event the store raised, unless the request it was raised for publishes its own. Its
    /// requestor is empty, as Incus' is for the daemon's background tasks.
    /// </summary>
    public void PublishFromStore(ImageLifecycleEvent storeEvent)
    {
        ArgumentNullException.ThrowIfNull(storeEvent);
        if (RequestPublishes.Value)
        {
            return;
        }

        const string aliases = "/1.0/images/aliases/";
        var path = storeEvent.Source.Split('?', 2)[0];
        var context = new JsonObject();
        foreach (var (key, value) in storeEvent.Context)
        {
            context[key] = value;
        }

        var payload = new EventLifecycle
        {
            Action = storeEvent.Action,
            Source = storeEvent.Source,
            Context = context,
            Requestor = new EventLifecycleRequestor(),
            Name = path.StartsWith(aliases, StringComparison.Ordinal) ? Uri.UnescapeDataString(path[aliases.Length..]) : string.Empty,
            Project = storeEvent.Project.Value,
        };
        hub.Publish(new ServerEvent(EventTypes.Lifecycle, time.GetUtcNow(), storeEvent.Project.Value, payload));
    }

    /// <summary>Publishes <paramref name="action"/> on <paramref name="source"/> (a URL; <c>?project=</c> is added outside <c>default</c>).</summary>
    public void Publish(string action, string source, ProjectName project, Caller caller, JsonObject? context = null, string name = "")
    {
        ArgumentNullException.ThrowIfNull(caller);
        var url = project == ProjectName.Default ? source : source + "?project=" + Uri.EscapeDataString(project.Value);
        var payload = new EventLifecycle
        {
            Action = action,
            Source = url,
            Context = context,
            Requestor = new EventLifecycleRequestor { Username = caller.Name, Protocol = caller.Method },
            Name = name,
            Project = project.Value,
        };
        hub.Publish(new ServerEvent(EventTypes.Lifecycle, time.GetUtcNow(), project.Value, payload));
    }
}
