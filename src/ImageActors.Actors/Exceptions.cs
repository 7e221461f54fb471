namespace ImageActors.Actors;

/// <summary>An <c>Ask</c> got no reply within its timeout.</summary>
public sealed class AskTimeoutException : TimeoutException
{
    public AskTimeoutException(ActorPath target, TimeSpan timeout, Type messageType)
        : base($"Ask of {target} with {messageType.Name} timed out after {timeout}.")
    {
        Target = target;
        Timeout = timeout;
    }

    /// <summary>The actor that did not answer.</summary>
    public ActorPath Target { get; }

    /// <summary>The timeout that elapsed.</summary>
    public TimeSpan Timeout { get; }
}

/// <summary>Thrown inside an actor that received <see cref="Kill"/>.</summary>
public sealed class ActorKilledException : Exception
{
    public ActorKilledException(string message) : base(message) { }
}

/// <summary>An actor's constructor or PreStart threw; by default its supervisor stops it.</summary>
public sealed class ActorInitializationException : Exception
{
    public ActorInitializationException(ActorPath path, Exception inner)
        : base($"{path} failed to start: {inner.Message}", inner) => Path = path;

    /// <summary>The actor that could not start.</summary>
    public ActorPath Path { get; }
}

/// <summary>An actor name is malformed or already taken by a sibling.</summary>
public sealed class InvalidActorNameException : Exception
{
    public InvalidActorNameException(string message) : base(message) { }
}
