namespace ImageActors.Actors;

/// <summary>An ordered list of typed handlers; the first that accepts a message handles it.</summary>
internal sealed class HandlerTable
{
    private Handler[] _handlers = [];

    public void Add(Handler handler)
    {
        var copy = new Handler[_handlers.Length + 1];
        _handlers.CopyTo(copy, 0);
        copy[^1] = handler;
        _handlers = copy;
    }

    public bool IsEmpty => _handlers.Length == 0;

    /// <summary>Returns true when a handler took the message; <paramref name="pending"/> is its task when it is asynchronous.</summary>
    public bool TryInvoke(object message, out Task? pending)
    {
        var handlers = _handlers;
        for (var i = 0; i < handlers.Length; i++)
        {
            if (handlers[i].TryInvoke(message, out pending))
            {
                return true;
            }
        }

        pending = null;
        return false;
    }
}

internal abstract class Handler
{
    public abstract bool TryInvoke(object message, out Task? pending);
}

internal sealed class SyncHandler<T> : Handler
{
    private readonly Action<T> _action;
    private readonly Predicate<T>? _predicate;

    public SyncHandler(Action<T> action, Predicate<T>? predicate)
    {
        _action = action;
        _predicate = predicate;
    }

    public override bool TryInvoke(object message, out Task? pending)
    {
        pending = null;
        if (message is T typed && (_predicate is null || _predicate(typed)))
        {
            _action(typed);
            return true;
        }

        return false;
    }
}

internal sealed class AsyncHandler<T> : Handler
{
    private readonly Func<T, Task> _action;
    private readonly Predicate<T>? _predicate;

    public AsyncHandler(Func<T, Task> action, Predicate<T>? predicate)
    {
        _action = action;
        _predicate = predicate;
    }

    public override bool TryInvoke(object message, out Task? pending)
    {
        if (message is T typed && (_predicate is null || _predicate(typed)))
        {
            pending = _action(typed);
            return true;
        }

        pending = null;
        return false;
    }
}
