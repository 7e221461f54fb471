using System.Text.Json.Nodes;
using ImageActors.Images.Domain;
using ImageActors.Remotes.Incus;
using ImageActors.Server.Trust;

namespace ImageActors.Server.Events;

/// <summary>Publishes Incus lifecycle events (spec §5.6) for what the API did.</summary>
public sealed class Lifecycle(EventHub hub, TimeProvider time)
{
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
