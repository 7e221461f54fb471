using ImageActors.Actors.Persistence;

namespace ImageActors.Persistence.Sql;

/// <summary>One serialized event waiting in the group-commit queue.</summary>
internal readonly record struct SerializedEvent(long SequenceNr, string Manifest, byte[] Payload, string? Tags, IReadOnlyList<string> TagList);

/// <summary>An atomic write, already serialized, waiting in the group-commit queue.</summary>
internal sealed class PendingWrite(AtomicWrite write, SerializedEvent[] events, string writerUuid)
{
    public string PersistenceId { get; } = write.PersistenceId;

    /// <summary>
    /// The integer key of <see cref="PersistenceId"/> in <c>journal_persistence_ids</c>, set by
    /// the journal inside the transaction that inserts the write (again for every attempt).
    /// </summary>
    public long PersistenceKey { get; set; }

    public string WriterUuid { get; } = writerUuid;

    public SerializedEvent[] Events { get; } = events;

    public TaskCompletionSource Completion { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

    /// <summary>
    /// Set by <see cref="SqlStore.InsertEventsAsync"/> to the sequence number that another write
    /// holds already; the write is then failed alone and the batch committed again without it.
    /// </summary>
    public long ConflictingSequenceNr { get; set; }
}
