namespace ImageActors.Actors.Persistence;

/// <summary>Which stores persistent actors use, and how many may recover at once.</summary>
public sealed record PersistenceSettings
{
    /// <summary>The event journal; null for a fresh <see cref="InMemoryJournal"/>.</summary>
    public IJournal? Journal { get; init; }

    /// <summary>The snapshot store; null for a fresh <see cref="InMemorySnapshotStore"/>.</summary>
    public ISnapshotStore? SnapshotStore { get; init; }

    /// <summary>Recoveries running at the same time across the system; the rest wait their turn.</summary>
    public int MaxConcurrentRecoveries { get; init; } = 50;

    /// <summary>Events read per replay request during recovery.</summary>
    public long ReplayBatchSize { get; init; } = long.MaxValue;
}

/// <summary>The persistence plumbing of one actor system.</summary>
public sealed class PersistenceExtension
{
    internal PersistenceExtension(PersistenceSettings settings)
    {
        ArgumentNullException.ThrowIfNull(settings);
        ArgumentOutOfRangeException.ThrowIfLessThan(settings.MaxConcurrentRecoveries, 1);
        Settings = settings;
        Journal = settings.Journal ?? new InMemoryJournal();
        SnapshotStore = settings.SnapshotStore ?? new InMemorySnapshotStore();
        RecoveryPermits = new SemaphoreSlim(settings.MaxConcurrentRecoveries, settings.MaxConcurrentRecoveries);
    }

    /// <summary>The settings it was built from.</summary>
    public PersistenceSettings Settings { get; }

    /// <summary>The journal.</summary>
    public IJournal Journal { get; }

    /// <summary>The snapshot store.</summary>
    public ISnapshotStore SnapshotStore { get; }

    /// <summary>Limits concurrent recoveries; waited on asynchronously, so no thread blocks.</summary>
    internal SemaphoreSlim RecoveryPermits { get; }

    /// <summary>Recoveries in progress right now.</summary>
    public int RecoveriesInProgress => Settings.MaxConcurrentRecoveries - RecoveryPermits.CurrentCount;
}
