using ImageActors.Actors.Scheduling;

namespace ImageActors.Actors;

/// <summary>What an actor may see and do about itself while it handles a message.</summary>
public interface IActorContext
{
    /// <summary>The actor's own reference.</summary>
    IActorRef Self { get; }

    /// <summary>The sender of the current message, or the dead letters reference when there is none.</summary>
    IActorRef Sender { get; }

    /// <summary>The supervisor (null only for the root).</summary>
    IActorRef? Parent { get; }

    /// <summary>The system the actor belongs to.</summary>
    ActorSystem System { get; }

    /// <summary>The live children.</summary>
    IReadOnlyList<IActorRef> Children { get; }

    /// <summary>The actor's keyed timers; all are cancelled when it stops or restarts.</summary>
    ITimerScheduler Timers { get; }

    /// <summary>Creates a child. Names are unique among live siblings; null generates one.</summary>
    IActorRef ActorOf(Props props, string? name = null);

    /// <summary>The live child called <paramref name="name"/>, or null.</summary>
    IActorRef? Child(string name);

    /// <summary>Stops <paramref name="actor"/> (a child, or the actor itself) after its current message.</summary>
    void Stop(IActorRef actor);

    /// <summary>Delivers <see cref="Terminated"/> when <paramref name="actor"/> stops (at once if it already has).</summary>
    IActorRef Watch(IActorRef actor);

    /// <summary>Stops watching <paramref name="actor"/>; no <see cref="Terminated"/> is delivered afterwards.</summary>
    IActorRef Unwatch(IActorRef actor);

    /// <summary>Replaces the actor's behaviour with <paramref name="receive"/> until <see cref="Unbecome"/> or a restart.</summary>
    void Become(Receive receive);

    /// <summary>Returns to the behaviour the actor was created with.</summary>
    void Unbecome();
}
