namespace ImageActors.Actors.Persistence;

/// <summary>One event as it is stored in a journal.</summary>
/// <param name="PersistenceId">The identity of the persistent actor that wrote it.</param>
/// <param name="SequenceNr">Its position in that actor's history, from 1, contiguous.</param>
/// <param name="Payload">The event itself (deserialized).</param>
/// <param name="WriterUuid">The incarnation of the actor that wrote it.</param>
/// <param name="Timestamp">When the journal accepted it.</param>
/// <param name="Tags">Tags for queries across persistence ids (read models).</param>
public sealed record PersistentRepresentation(
    string PersistenceId,
    long SequenceNr,
    object Payload,
    string WriterUuid,
    DateTimeOffset Timestamp,
    IReadOnlyList<string> Tags)
{
    /// <summary>True when the event was logically deleted (kept only to remember the highest sequence number).</summary>
    public bool IsDeleted { get; init; }
}

/// <summary>
/// Events of one persistence id that must be written all together or not at all
/// (one <c>Persist</c> call, or one <c>PersistAll</c> call).
/// </summary>
/// <param name="PersistenceId">The writer's persistence id; every event has it.</param>
/// <param name="Events">The events, in order, with contiguous sequence numbers.</param>
public sealed record AtomicWrite(string PersistenceId, IReadOnlyList<PersistentRepresentation> Events)
{
    /// <summary>The sequence number of the first event.</summary>
    public long LowestSequenceNr => Events[0].SequenceNr;

    /// <summary>The sequence number of the last event.</summary>
    public long HighestSequenceNr => Events[^1].SequenceNr;
}

/// <summary>An event read back by a query across persistence ids, in the journal's global order.</summary>
/// <param name="Ordering">The journal's global, monotonic position of the event (the offset to resume from).</param>
/// <param name="Event">The event.</param>
public sealed record EventEnvelope(long Ordering, PersistentRepresentation Event);

/// <summary>
/// The event journal. Implementations guarantee a single writer per persistence id: writing a
/// sequence number that already exists fails with <see cref="ConcurrencyException"/>.
/// </summary>
public interface IJournal
{
    /// <summary>
    /// Writes the events atomically. Throws <see cref="ConcurrencyException"/> when a sequence
    /// number is taken, <see cref="EventRejectedException"/> when the events cannot be stored
    /// (e.g. not serializable: nothing was written, the writer may go on), and any other
    /// exception when the store failed (the writer must stop).
    /// </summary>
    ValueTask WriteAsync(AtomicWrite write, CancellationToken cancellationToken = default);

    /// <summary>
    /// Replays the non-deleted events of <paramref name="persistenceId"/> with
    /// <paramref name="fromSequenceNr"/> ≤ seq ≤ <paramref name="toSequenceNr"/>, at most
    /// <paramref name="max"/> of them, in sequence order.
    /// </summary>
    IAsyncEnumerable<PersistentRepresentation> ReplayAsync(
        string persistenceId, long fromSequenceNr, long toSequenceNr, long max, CancellationToken cancellationToken = default);

    /// <summary>
    /// The highest sequence number ever written for <paramref name="persistenceId"/> (deleted
    /// events included), or 0 when none.
    /// </summary>
    ValueTask<long> ReadHighestSequenceNrAsync(string persistenceId, long fromSequenceNr = 0, CancellationToken cancellationToken = default);

    /// <summary>
    /// Deletes the events up to and including <paramref name="toSequenceNr"/>. The highest
    /// event is kept (marked deleted) so sequence numbers never go back.
    /// </summary>
    ValueTask DeleteMessagesToAsync(string persistenceId, long toSequenceNr, CancellationToken cancellationToken = default);
}

/// <summary>Queries across persistence ids, used to build and rebuild read models.</summary>
public interface IJournalQueries
{
    /// <summary>The current (non-deleted) events carrying <paramref name="tag"/>, with ordering &gt; <paramref name="afterOrdering"/>, in global order.</summary>
    IAsyncEnumerable<EventEnvelope> CurrentEventsByTagAsync(string tag, long afterOrdering, CancellationToken cancellationToken = default);

    /// <summary>Every persistence id that has written at least one event.</summary>
    IAsyncEnumerable<string> CurrentPersistenceIdsAsync(CancellationToken cancellationToken = default);

    /// <summary>The highest global ordering written so far, or 0.</summary>
    ValueTask<long> ReadHighestOrderingAsync(CancellationToken cancellationToken = default);
}

/// <summary>Identifies one snapshot.</summary>
/// <param name="PersistenceId">The owner.</param>
/// <param name="SequenceNr">The sequence number of the last event the snapshot includes.</param>
/// <param name="Timestamp">When it was taken.</param>
public sealed record SnapshotMetadata(string PersistenceId, long SequenceNr, DateTimeOffset Timestamp);

/// <summary>A snapshot found by <see cref="ISnapshotStore.LoadAsync"/>.</summary>
public sealed record SelectedSnapshot(SnapshotMetadata Metadata, object Snapshot);

/// <summary>Which snapshots an operation applies to (inclusive bounds).</summary>
/// <param name="MaxSequenceNr">Highest sequence number.</param>
/// <param name="MaxTimestamp">Latest timestamp.</param>
/// <param name="MinSequenceNr">Lowest sequence number.</param>
/// <param name="MinTimestamp">Earliest timestamp.</param>
public sealed record SnapshotSelectionCriteria(
    long MaxSequenceNr,
    DateTimeOffset MaxTimestamp,
    long MinSequenceNr = 0,
    DateTimeOffset MinTimestamp = default)
{
    /// <summary>The newest snapshot, whatever its sequence number.</summary>
    public static SnapshotSelectionCriteria Latest { get; } = new(long.MaxValue, DateTimeOffset.MaxValue);

    /// <summary>No snapshot at all (recovery from events only).</summary>
    public static SnapshotSelectionCriteria None { get; } = new(0, DateTimeOffset.MinValue);

    /// <summary>Whether <paramref name="metadata"/> is selected.</summary>
    public bool Matches(SnapshotMetadata metadata) =>
        metadata.SequenceNr <= MaxSequenceNr && metadata.Timestamp <= MaxTimestamp &&
        metadata.SequenceNr >= MinSequenceNr && metadata.Timestamp >= MinTimestamp;
}

/// <summary>The snapshot store.</summary>
public interface ISnapshotStore
{
    /// <summary>The newest snapshot of <paramref name="persistenceId"/> that matches <paramref name="criteria"/>, or null.</summary>
    ValueTask<SelectedSnapshot?> LoadAsync(string persistenceId, SnapshotSelectionCriteria criteria, CancellationToken cancellationToken = default);

    /// <summary>Saves (or replaces) the snapshot identified by <paramref name="metadata"/>.</summary>
    ValueTask SaveAsync(SnapshotMetadata metadata, object snapshot, CancellationToken cancellationToken = default);

    /// <summary>Deletes the snapshot with exactly this persistence id and sequence number.</summary>
    ValueTask DeleteAsync(SnapshotMetadata metadata, CancellationToken cancellationToken = default);

    /// <summary>Deletes every snapshot of <paramref name="persistenceId"/> that matches <paramref name="criteria"/>.</summary>
    ValueTask DeleteAsync(string persistenceId, SnapshotSelectionCriteria criteria, CancellationToken cancellationToken = default);
}

/// <summary>
/// Turns events and snapshots into stable (manifest, bytes) pairs and back. The manifest is a
/// stable name, never a CLR type name, so renaming a class cannot break an existing journal.
/// </summary>
public interface IEventSerializer
{
    /// <summary>Serializes <paramref name="value"/>; throws <see cref="EventRejectedException"/> for an unregistered type.</summary>
    (string Manifest, byte[] Payload) Serialize(object value);

    /// <summary>Deserializes a payload written under <paramref name="manifest"/>.</summary>
    object Deserialize(string manifest, ReadOnlySpan<byte> payload);
}

/// <summary>A write lost the race for a sequence number: another writer owns this persistence id.</summary>
public sealed class ConcurrencyException : Exception
{
    public ConcurrencyException(string persistenceId, long sequenceNr, Exception? inner = null)
        : base($"Sequence number {sequenceNr} of '{persistenceId}' was already written by another writer.", inner)
    {
        PersistenceId = persistenceId;
        SequenceNr = sequenceNr;
    }

    /// <summary>The contested persistence id.</summary>
    public string PersistenceId { get; }

    /// <summary>The first contested sequence number.</summary>
    public long SequenceNr { get; }
}

/// <summary>The journal refused the events before writing anything (e.g. they cannot be serialized).</summary>
public sealed class EventRejectedException : Exception
{
    public EventRejectedException(string message, Exception? inner = null) : base(message, inner) { }
}
