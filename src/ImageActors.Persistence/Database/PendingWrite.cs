namespace ImageActors.Persistence.Database;

/// <summary>One event as its row is written: the payload serialized as the stock plugin serializes it.</summary>
internal readonly record struct SerializedEvent(long SequenceNr, long CreatedTicks, byte[] Message, string Manifest, int Identifier, string[] Tags);

/// <summary>
/// The events of one write request of one persistent actor (its atomic writes that serialized),
/// all committed in one transaction or none. A request with no events (all rejected, or only
/// looped messages) still goes through the queue, so that its answer keeps its place.
/// </summary>
internal class PendingWrite(string persistenceId, SerializedEvent[] events)
{
    private readonly TaskCompletionSource _completion = new(TaskCreationOptions.RunContinuationsAsynchronously);

    public string PersistenceId { get; } = persistenceId;

    public SerializedEvent[] Events { get; } = events;

    /// <summary>Completes when the writer is done with the write: committed, or failed with why not.</summary>
    public Task Completion => _completion.Task;

    /// <summary>Set by the insert when a row's (persistence_id, sequence_number) exists already.</summary>
    public long ConflictingSequenceNr { get; set; }

    /// <summary>Called once by the writer, in queue order: <paramref name="failure"/> is null when the write committed.</summary>
    public void Complete(Exception? failure)
    {
        try
        {
            OnCompleted(failure);
        }
        finally
        {
            if (failure is null)
            {
                _completion.TrySetResult();
            }
            else
            {
                _completion.TrySetException(failure);
            }
        }
    }

    /// <summary>What the requester is told; runs on the writer's thread, so it must be quick and must not block.</summary>
    protected virtual void OnCompleted(Exception? failure)
    {
    }
}
