using Akka.Actor;

namespace ImageActors.Images.Actors;

/// <summary>Reads how many messages wait in an actor's mailbox and in those of its descendants (a region: its shards and entities).</summary>
internal static class Mailboxes
{
    public static long Depth(IActorRef actor) =>
        actor is ActorRefWithCell local ? local.Underlying.NumberOfMessages + local.Children.Sum(Depth) : 0;
}
