using System.Collections.Concurrent;
using Akka.Actor;
using Akka.Persistence;
using ImageActors.Persistence.Database;

namespace ImageActors.Persistence;

/// <summary>
/// A write request of the journal protocol on its way through the group-commit writer, answered
/// as <c>AsyncWriteJournal</c> answers: <see cref="WriteMessagesSuccessful"/> then one
/// <see cref="WriteMessageSuccess"/> (or <see cref="WriteMessageRejected"/>) per event and one
/// <see cref="LoopMessageSuccess"/> per looped message, in the request's order; or
/// <see cref="WriteMessagesFailed"/> then one <see cref="WriteMessageFailure"/> per event.
/// </summary>
internal sealed class JournalWrite(
    string persistenceId,
    SerializedEvent[] events,
    Exception?[] rejections,
    WriteMessages? request,
    IActorRef journal,
    ConcurrentDictionary<string, Task> writesInProgress)
    : PendingWrite(persistenceId, events)
{
    /// <summary>Per atomic write of the request, why it was rejected (not written), or null.</summary>
    public Exception?[] Rejections { get; } = rejections;

    protected override void OnCompleted(Exception? failure)
    {
        if (Events.Length > 0)
        {
            writesInProgress.TryRemove(KeyValuePair.Create(PersistenceId, Completion));
        }

        if (request is null)
        {
            return;
        }

        var actor = request.PersistentActor;
        var instance = request.ActorInstanceId;
        if (failure is null)
        {
            actor.Tell(WriteMessagesSuccessful.Instance, journal);
        }
        else
        {
            actor.Tell(new WriteMessagesFailed(failure, Rejections.Length), journal);
        }

        var atomic = 0;
        foreach (var envelope in request.Messages)
        {
            if (envelope is not AtomicWrite write)
            {
                actor.Tell(new LoopMessageSuccess(envelope.Payload, instance), envelope.Sender);
                continue;
            }

            var rejection = Rejections[atomic++];
            foreach (var persistent in (IEnumerable<IPersistentRepresentation>)write.Payload)
            {
                IJournalResponse answer = failure is not null ? new WriteMessageFailure(persistent, failure, instance)
                    : rejection is not null ? new WriteMessageRejected(persistent, rejection, instance)
                    : new WriteMessageSuccess(persistent, instance);
                actor.Tell(answer, persistent.Sender);
            }
        }
    }
}
