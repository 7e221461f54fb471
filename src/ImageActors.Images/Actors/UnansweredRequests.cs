using Akka.Actor;
using Akka.Event;
using ImageActors.Images.Domain;

namespace ImageActors.Images.Actors;

/// <summary>A message to an entity whose sender waits for a reply (a record, an acknowledgement or a failure).</summary>
internal interface IEntityRequest;

/// <summary>
/// Published by an entity that stops on a journal failure (its state could not be read, or a change could not be
/// written), so that the requests it leaves unanswered are answered with the cause.
/// </summary>
internal sealed record EntityFailed(ActorPath Entity, string Subject, Exception Cause, bool WhileLoading) : INoSerializationVerificationNeeded;

/// <summary>
/// Answers the requests an entity will never answer. An entity whose recovery fails, or that stops after a failed
/// write, drops the commands it had stashed or queued to dead letters; their senders (an ask, a progress waiter) would
/// wait out their whole bound for nothing. This actor hears those dead letters and tells each sender why, as a mail
/// server bounces a letter it cannot deliver.
/// </summary>
internal sealed class UnansweredRequests : ReceiveActor
{
    // Causes are kept for the last entities that failed; a dead letter for any other entity gets the generic answer.
    private const int CausesKept = 1024;
    private readonly Dictionary<ActorPath, EntityFailed> _causes = [];
    private readonly Queue<ActorPath> _order = new();

    public UnansweredRequests()
    {
        Receive<EntityFailed>(failed =>
        {
            if (_causes.TryAdd(failed.Entity, failed))
            {
                _order.Enqueue(failed.Entity);
                if (_order.Count > CausesKept)
                {
                    _causes.Remove(_order.Dequeue());
                }
            }
            else
            {
                _causes[failed.Entity] = failed;
            }
        });
        Receive<DeadLetter>(letter =>
        {
            if (letter.Message is not IEntityRequest || letter.Sender is null || letter.Sender.IsNobody() || letter.Recipient is null)
            {
                return;
            }

            Exception answer = _causes.TryGetValue(letter.Recipient.Path, out var failed)
                ? failed.WhileLoading
                    ? new JournalReadFailedException(failed.Subject, failed.Cause)
                    : new EntityStoppedException(failed.Subject, letter.Message.GetType().Name, failed.Cause)
                : new EntityStoppedException(SubjectOf(letter.Recipient.Path), letter.Message.GetType().Name, null);
            letter.Sender.Tell(new Status.Failure(answer));
        });
    }

    public static Props Props() => Akka.Actor.Props.Create(() => new UnansweredRequests());

    protected override void PreStart()
    {
        Context.System.EventStream.Subscribe(Self, typeof(DeadLetter));
        Context.System.EventStream.Subscribe(Self, typeof(EntityFailed));
    }

    protected override void PostStop() => Context.System.EventStream.Unsubscribe(Self);

    // A sharded entity's path ends in <region>/<shard>/<escaped id>, e.g. image/29/default%7C2b23….
    private static string SubjectOf(ActorPath path) =>
        path.Parent?.Parent is { } region ? $"{region.Name} {Uri.UnescapeDataString(path.Name)}" : path.ToString();
}
