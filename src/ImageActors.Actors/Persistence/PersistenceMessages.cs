namespace ImageActors.Actors.Persistence;

/// <summary>Delivered to the recovery handlers after the last replayed event.</summary>
public sealed class RecoveryCompleted
{
    private RecoveryCompleted() { }

    /// <summary>The one instance.</summary>
    public static RecoveryCompleted Instance { get; } = new();
}

/// <summary>Delivered to the recovery handlers first when a snapshot was found.</summary>
/// <param name="Metadata">Which snapshot.</param>
/// <param name="Snapshot">The state saved with <c>SaveSnapshot</c>.</param>
public sealed record SnapshotOffer(SnapshotMetadata Metadata, object Snapshot);

/// <summary>What recovery reads.</summary>
/// <param name="FromSnapshot">Which snapshot to start from (<see cref="SnapshotSelectionCriteria.None"/> for events only).</param>
/// <param name="ToSequenceNr">The last event to replay.</param>
/// <param name="ReplayMax">At most this many events.</param>
public sealed record Recovery(SnapshotSelectionCriteria FromSnapshot, long ToSequenceNr = long.MaxValue, long ReplayMax = long.MaxValue)
{
    /// <summary>The latest snapshot, then every later event.</summary>
    public static Recovery Default { get; } = new(SnapshotSelectionCriteria.Latest);
}

/// <summary>An event with tags for queries across persistence ids; the journal stores <see cref="Payload"/> with <see cref="Tags"/>.</summary>
/// <param name="Payload">The event.</param>
/// <param name="Tags">Its tags.</param>
public sealed record Tagged(object Payload, IReadOnlyList<string> Tags);

/// <summary>A snapshot was saved.</summary>
public sealed record SaveSnapshotSuccess(SnapshotMetadata Metadata);

/// <summary>A snapshot could not be saved.</summary>
public sealed record SaveSnapshotFailure(SnapshotMetadata Metadata, Exception Cause);

/// <summary>Events up to <paramref name="ToSequenceNr"/> were deleted.</summary>
public sealed record DeleteMessagesSuccess(long ToSequenceNr);

/// <summary>Deleting events failed.</summary>
public sealed record DeleteMessagesFailure(long ToSequenceNr, Exception Cause);

/// <summary>Snapshots matching <paramref name="Criteria"/> were deleted.</summary>
public sealed record DeleteSnapshotsSuccess(SnapshotSelectionCriteria Criteria);

/// <summary>Deleting snapshots failed.</summary>
public sealed record DeleteSnapshotsFailure(SnapshotSelectionCriteria Criteria, Exception Cause);
