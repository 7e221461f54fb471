namespace ImageActors.Persistence.Database;

/// <summary>One event as its row is written: the payload serialized as the stock plugin serializes it.</summary>
internal readonly record struct SerializedEvent(long SequenceNr, long CreatedTicks, byte[] Message, string Manifest, int Identifier, string[] Tags);

/// <summary>
/// The events of one write request of one persistent actor (its atomic writes that serialized),
/// all committed in one transaction or none.
/// </summary>
internal sealed class PendingWrite(string persistenceId, SerializedEvent[] events)
{
    public string PersistenceId { get; } = persistenceId;

    public SerializedEvent[] Events { get; } = events;

    public TaskCompletionSource Completion { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

    /// <summary>Set by the insert when a row's (persistence_id, sequence_number) exists already.</summary>
    public long ConflictingSequenceNr { get; set; }
}
