namespace ImageActors.Persistence;

/// <summary>
/// A write found its sequence number already in the journal: two actors (or two processes)
/// persist the same persistence id. The write fails and nothing of it is stored.
/// </summary>
public sealed class JournalConflictException : Exception
{
    /// <summary>Creates the exception for <paramref name="persistenceId"/> at <paramref name="sequenceNr"/>.</summary>
    public JournalConflictException(string persistenceId, long sequenceNr)
        : base($"Sequence number {sequenceNr} of '{persistenceId}' is already in the journal: another writer persists this id; run one actor per persistence id.")
    {
        PersistenceId = persistenceId;
        SequenceNr = sequenceNr;
    }

    /// <summary>The persistence id written by more than one writer.</summary>
    public string PersistenceId { get; }

    /// <summary>The sequence number that was taken.</summary>
    public long SequenceNr { get; }
}
