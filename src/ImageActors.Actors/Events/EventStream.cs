namespace ImageActors.Actors.Events;

/// <summary>
/// A publish/subscribe bus inside one actor system. A subscriber to a type receives every
/// published event of that type or of a type derived from it.
/// </summary>
public sealed class EventStream
{
    private readonly Lock _gate = new();
    private volatile Subscription[] _subscriptions = [];

    private readonly record struct Subscription(IActorRef Subscriber, Type Channel);

    /// <summary>Subscribes <paramref name="subscriber"/> to <paramref name="channel"/> (and its subtypes); false if it already was.</summary>
    public bool Subscribe(IActorRef subscriber, Type channel)
    {
        ArgumentNullException.ThrowIfNull(subscriber);
        ArgumentNullException.ThrowIfNull(channel);
        lock (_gate)
        {
            var current = _subscriptions;
            foreach (var s in current)
            {
                if (s.Subscriber.Equals(subscriber) && s.Channel == channel)
                {
                    return false;
                }
            }

            _subscriptions = [.. current, new Subscription(subscriber, channel)];
            return true;
        }
    }

    /// <summary>Removes the subscription of <paramref name="subscriber"/> to <paramref name="channel"/>.</summary>
    public bool Unsubscribe(IActorRef subscriber, Type channel)
    {
        lock (_gate)
        {
            var current = _subscriptions;
            var kept = Array.FindAll(current, s => !(s.Subscriber.Equals(subscriber) && s.Channel == channel));
            _subscriptions = kept;
            return kept.Length != current.Length;
        }
    }

    /// <summary>Removes every subscription of <paramref name="subscriber"/>.</summary>
    public void Unsubscribe(IActorRef subscriber)
    {
        lock (_gate)
        {
            _subscriptions = Array.FindAll(_subscriptions, s => !s.Subscriber.Equals(subscriber));
        }
    }

    /// <summary>Sends <paramref name="event"/> to every subscriber of its type or a base type.</summary>
    public void Publish(object @event)
    {
        ArgumentNullException.ThrowIfNull(@event);
        var subscriptions = _subscriptions;
        var type = @event.GetType();
        for (var i = 0; i < subscriptions.Length; i++)
        {
            if (subscriptions[i].Channel.IsAssignableFrom(type))
            {
                subscriptions[i].Subscriber.Tell(@event);
            }
        }
    }
}
