using System.Collections.Concurrent;
using System.Threading.Channels;

namespace ImageActors.Server.Events;

/// <summary>Event type names of <c>/1.0/events</c>.</summary>
public static class EventTypes
{
    /// <summary>Lifecycle events (<c>image-created</c>, …).</summary>
    public const string Lifecycle = "lifecycle";

    /// <summary>Operation changes.</summary>
    public const string Operation = "operation";

    /// <summary>Log lines (not produced by the image server).</summary>
    public const string Logging = "logging";
}

/// <summary>One event for <c>/1.0/events</c> listeners.</summary>
/// <param name="Type">lifecycle or operation.</param>
/// <param name="Timestamp">When it happened.</param>
/// <param name="Project">The project it concerns.</param>
/// <param name="Payload">
/// The event's metadata: an <see cref="Operations.OperationSnapshot"/> for operation events, the
/// <c>EventLifecycle</c> (the remotes layer's wire type) for lifecycle events.
/// </param>
public sealed record ServerEvent(string Type, DateTimeOffset Timestamp, string Project, object Payload);

/// <summary>
/// Fan-out of server events to listeners. Each listener has a bounded queue that drops its oldest
/// events when the listener falls behind: a slow websocket must never slow an import.
/// </summary>
public sealed class EventHub
{
    private readonly ConcurrentDictionary<Subscription, byte> _subscriptions = new();

    /// <summary>Number of connected listeners.</summary>
    public int ListenerCount => _subscriptions.Count;

    /// <summary>Publishes to every listener that asked for the event's type.</summary>
    public void Publish(ServerEvent serverEvent)
    {
        ArgumentNullException.ThrowIfNull(serverEvent);
        foreach (var subscription in _subscriptions.Keys)
        {
            if (subscription.Wants(serverEvent.Type))
            {
                subscription.Queue.Writer.TryWrite(serverEvent);
            }
        }
    }

    /// <summary>Subscribes to the given types (all when empty); dispose to unsubscribe.</summary>
    public Subscription Subscribe(IReadOnlyCollection<string> types, int capacity = 1024)
    {
        ArgumentNullException.ThrowIfNull(types);
        var subscription = new Subscription(this, types, capacity);
        _subscriptions[subscription] = 0;
        return subscription;
    }

    /// <summary>One listener's queue.</summary>
    public sealed class Subscription : IDisposable
    {
        private readonly EventHub _hub;
        private readonly HashSet<string> _types;

        internal Subscription(EventHub hub, IReadOnlyCollection<string> types, int capacity)
        {
            _hub = hub;
            _types = new HashSet<string>(types, StringComparer.Ordinal);
            Queue = Channel.CreateBounded<ServerEvent>(new BoundedChannelOptions(capacity)
            {
                FullMode = BoundedChannelFullMode.DropOldest,
                SingleReader = true,
            });
        }

        /// <summary>The events, in publication order.</summary>
        public ChannelReader<ServerEvent> Reader => Queue.Reader;

        internal Channel<ServerEvent> Queue { get; }

        /// <inheritdoc />
        public void Dispose()
        {
            _hub._subscriptions.TryRemove(this, out _);
            Queue.Writer.TryComplete();
        }

        internal bool Wants(string type) => _types.Count == 0 || _types.Contains(type);
    }
}
