namespace ImageActors.Actors.Supervision;

/// <summary>
/// How a parent handles a failing child: a decider maps the exception to a <see cref="Directive"/>,
/// and restarts beyond <see cref="MaxNrOfRetries"/> within <see cref="WithinTimeRange"/> stop the child.
/// </summary>
public abstract class SupervisorStrategy
{
    protected SupervisorStrategy(int maxNrOfRetries, TimeSpan withinTimeRange, Func<Exception, Directive>? decider)
    {
        MaxNrOfRetries = maxNrOfRetries;
        WithinTimeRange = withinTimeRange;
        Decider = decider ?? DefaultDecider;
    }

    /// <summary>Restarts allowed within the window; negative for no limit.</summary>
    public int MaxNrOfRetries { get; }

    /// <summary>The window the retries are counted in; zero or infinite counts them forever.</summary>
    public TimeSpan WithinTimeRange { get; }

    /// <summary>Maps an exception to a directive.</summary>
    public Func<Exception, Directive> Decider { get; }

    /// <summary>Stop on initialization failures and <see cref="Kill"/>; restart on anything else.</summary>
    public static Directive DefaultDecider(Exception exception) => exception switch
    {
        ActorInitializationException => Directive.Stop,
        ActorKilledException => Directive.Stop,
        _ => Directive.Restart,
    };

    /// <summary>One-for-one, unlimited restarts, <see cref="DefaultDecider"/>.</summary>
    public static SupervisorStrategy Default { get; } = new OneForOneStrategy(DefaultDecider);

    /// <summary>Stops any failing child.</summary>
    public static SupervisorStrategy Stopping { get; } = new OneForOneStrategy(static _ => Directive.Stop);

    internal void HandleFailure(ActorCell parent, ChildStats failed, Exception cause)
    {
        var directive = Decider(cause);
        switch (directive)
        {
            case Directive.Resume:
                failed.Child.SendSystem(new ResumeActor());
                break;
            case Directive.Restart:
                if (failed.RequestRestartPermission(MaxNrOfRetries, WithinTimeRange, parent.System.Settings.Clock))
                {
                    Restart(parent, failed, cause);
                }
                else
                {
                    StopChildren(parent, failed);
                }

                break;
            case Directive.Stop:
                StopChildren(parent, failed);
                break;
            default:
                parent.Escalate(cause);
                break;
        }
    }

    /// <summary>Restarts the failed child (and, for all-for-one, its siblings).</summary>
    private protected abstract void Restart(ActorCell parent, ChildStats failed, Exception cause);

    /// <summary>Stops the failed child (and, for all-for-one, its siblings).</summary>
    private protected abstract void StopChildren(ActorCell parent, ChildStats failed);
}

/// <summary>Applies the directive to the failed child only.</summary>
public sealed class OneForOneStrategy : SupervisorStrategy
{
    /// <summary>A strategy with a retry budget within a time window.</summary>
    public OneForOneStrategy(int maxNrOfRetries, TimeSpan withinTimeRange, Func<Exception, Directive> decider)
        : base(maxNrOfRetries, withinTimeRange, decider) { }

    /// <summary>A strategy without a retry limit.</summary>
    public OneForOneStrategy(Func<Exception, Directive> decider) : base(-1, Timeout.InfiniteTimeSpan, decider) { }

    private protected override void Restart(ActorCell parent, ChildStats failed, Exception cause) =>
        failed.Child.SendSystem(new RecreateActor(cause));

    private protected override void StopChildren(ActorCell parent, ChildStats failed) => parent.Stop(failed.Child);
}

/// <summary>Applies the directive to all children of the supervisor when one fails.</summary>
public sealed class AllForOneStrategy : SupervisorStrategy
{
    /// <summary>A strategy with a retry budget within a time window.</summary>
    public AllForOneStrategy(int maxNrOfRetries, TimeSpan withinTimeRange, Func<Exception, Directive> decider)
        : base(maxNrOfRetries, withinTimeRange, decider) { }

    /// <summary>A strategy without a retry limit.</summary>
    public AllForOneStrategy(Func<Exception, Directive> decider) : base(-1, Timeout.InfiniteTimeSpan, decider) { }

    private protected override void Restart(ActorCell parent, ChildStats failed, Exception cause)
    {
        foreach (var stats in parent.ChildStatsSnapshot())
        {
            stats.Child.SendSystem(new RecreateActor(cause));
        }
    }

    private protected override void StopChildren(ActorCell parent, ChildStats failed)
    {
        foreach (var stats in parent.ChildStatsSnapshot())
        {
            parent.Stop(stats.Child);
        }
    }
}
