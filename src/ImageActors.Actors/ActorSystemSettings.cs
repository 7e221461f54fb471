using ImageActors.Actors.Persistence;

namespace ImageActors.Actors;

/// <summary>Settings of an <see cref="ActorSystem"/>.</summary>
public sealed record ActorSystemSettings
{
    /// <summary>The defaults: system clock, 100 messages per turn, in-memory persistence.</summary>
    public static ActorSystemSettings Default { get; } = new();

    /// <summary>The source of time for timers, the scheduler, asks, supervision windows and passivation; tests inject a fake clock.</summary>
    public TimeProvider Clock { get; init; } = TimeProvider.System;

    /// <summary>Messages an actor processes per turn before yielding its thread to other actors.</summary>
    public int Throughput { get; init; } = 100;

    /// <summary>The journal, snapshot store and recovery limits used by persistent actors.</summary>
    public PersistenceSettings Persistence { get; init; } = new();
}
