namespace ImageActors.Actors;

/// <summary>
/// An actor that declares typed handlers in its constructor (<c>Receive&lt;T&gt;(...)</c>); the first
/// handler whose type (and predicate) matches handles the message.
/// </summary>
public abstract class ReceiveActor : ActorBase
{
    private HandlerTable _handlers = new();
    private Stack<HandlerTable>? _stacked;

    /// <summary>Handles messages of type <typeparamref name="T"/>.</summary>
    protected void Receive<T>(Action<T> handler) => _handlers.Add(new SyncHandler<T>(handler ?? throw new ArgumentNullException(nameof(handler)), null));

    /// <summary>Handles messages of type <typeparamref name="T"/> that satisfy <paramref name="predicate"/>.</summary>
    protected void Receive<T>(Predicate<T> predicate, Action<T> handler) =>
        _handlers.Add(new SyncHandler<T>(handler ?? throw new ArgumentNullException(nameof(handler)), predicate ?? throw new ArgumentNullException(nameof(predicate))));

    /// <summary>
    /// Handles messages of type <typeparamref name="T"/> asynchronously: the mailbox is suspended
    /// until the task finishes, so the actor still handles one message at a time.
    /// </summary>
    protected void ReceiveAsync<T>(Func<T, Task> handler, Predicate<T>? predicate = null) =>
        _handlers.Add(new AsyncHandler<T>(handler ?? throw new ArgumentNullException(nameof(handler)), predicate));

    /// <summary>Handles any message the earlier handlers did not take.</summary>
    protected void ReceiveAny(Action<object> handler) => _handlers.Add(new SyncHandler<object>(handler ?? throw new ArgumentNullException(nameof(handler)), null));

    /// <summary>Replaces all handlers with those <paramref name="configure"/> declares.</summary>
    protected void Become(Action configure)
    {
        ArgumentNullException.ThrowIfNull(configure);
        _handlers = Build(configure);
    }

    /// <summary>Installs the handlers <paramref name="configure"/> declares, keeping the current ones for <see cref="UnbecomeStacked"/>.</summary>
    protected void BecomeStacked(Action configure)
    {
        ArgumentNullException.ThrowIfNull(configure);
        (_stacked ??= new()).Push(_handlers);
        _handlers = Build(configure);
    }

    /// <summary>Returns to the handlers that were current before the last <see cref="BecomeStacked"/>.</summary>
    protected void UnbecomeStacked()
    {
        if (_stacked is { Count: > 0 })
        {
            _handlers = _stacked.Pop();
        }
    }

    private HandlerTable Build(Action configure)
    {
        var previous = _handlers;
        var built = new HandlerTable();
        _handlers = built;
        try
        {
            configure();
        }
        finally
        {
            _handlers = previous;
        }

        return built;
    }

    internal sealed override Task? InvokeReceive(object message)
    {
        if (_handlers.TryInvoke(message, out var pending))
        {
            return pending;
        }

        Unhandled(message);
        return null;
    }
}
