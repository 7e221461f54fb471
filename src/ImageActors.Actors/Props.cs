using ImageActors.Actors.Supervision;

namespace ImageActors.Actors;

/// <summary>How an actor's mailbox behaves.</summary>
/// <param name="Capacity">
/// Null for an unbounded mailbox. With a capacity, <see cref="IActorRef.Tell"/> on a full mailbox
/// sends the message to dead letters, and <see cref="IActorRef.TellAsync"/> waits for room.
/// </param>
/// <param name="Throughput">Messages processed per turn before the actor yields its thread (fairness); null for the system default.</param>
public sealed record MailboxOptions(int? Capacity = null, int? Throughput = null)
{
    /// <summary>An unbounded mailbox with the system's throughput.</summary>
    public static MailboxOptions Default { get; } = new();
}

/// <summary>The recipe to create (and re-create, on restart) an actor.</summary>
public sealed class Props
{
    private Props(Func<ActorBase> factory, Type actorType, MailboxOptions mailbox, SupervisorStrategy? strategy)
    {
        Factory = factory;
        ActorType = actorType;
        Mailbox = mailbox;
        SupervisorStrategy = strategy;
    }

    /// <summary>Creates a new actor instance; called once per incarnation.</summary>
    public Func<ActorBase> Factory { get; }

    /// <summary>The type of actor created.</summary>
    public Type ActorType { get; }

    /// <summary>The mailbox options.</summary>
    public MailboxOptions Mailbox { get; }

    /// <summary>How this actor supervises its children, unless the actor overrides <c>SupervisorStrategy()</c>.</summary>
    public SupervisorStrategy? SupervisorStrategy { get; }

    /// <summary>Props that create actors with <paramref name="factory"/>.</summary>
    public static Props Create<T>(Func<T> factory) where T : ActorBase
    {
        ArgumentNullException.ThrowIfNull(factory);
        return new Props(factory, typeof(T), MailboxOptions.Default, null);
    }

    /// <summary>Props for an actor with a public parameterless constructor.</summary>
    public static Props Create<T>() where T : ActorBase, new() => new(static () => new T(), typeof(T), MailboxOptions.Default, null);

    /// <summary>A copy with other mailbox options.</summary>
    public Props WithMailbox(MailboxOptions mailbox)
    {
        ArgumentNullException.ThrowIfNull(mailbox);
        if (mailbox.Capacity is < 1 || mailbox.Throughput is < 1)
        {
            throw new ArgumentOutOfRangeException(nameof(mailbox), mailbox, "Capacity and throughput must be at least 1.");
        }

        return new(Factory, ActorType, mailbox, SupervisorStrategy);
    }

    /// <summary>A copy with a bounded mailbox of <paramref name="capacity"/> messages.</summary>
    public Props WithBoundedMailbox(int capacity)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(capacity, 1);
        return WithMailbox(Mailbox with { Capacity = capacity });
    }

    /// <summary>A copy with another supervisor strategy for the actor's children.</summary>
    public Props WithSupervisorStrategy(SupervisorStrategy strategy) => new(Factory, ActorType, Mailbox, strategy ?? throw new ArgumentNullException(nameof(strategy)));
}
