using Akka.Actor;
using Akka.Pattern;
using ImageActors.Images.Domain;
using ImageActors.Remotes;
using ImageActors.Streaming.Archives;
using ImageActors.Streaming.Compression;
using ImageActors.Streaming.Formats;
using ImageActors.Streaming.Storage;
using HashMismatchException = ImageActors.Streaming.Storage.HashMismatchException;

namespace ImageActors.Images.Actors;

/// <summary>
/// How the workers of a <see cref="WorkerPool"/> are supervised, stated as data: an ordered table from exception type to
/// directive (the first rule whose type the exception is wins), a retry budget inside a time window, and the backoff a
/// restarted worker waits before it takes work again. Every failure is told to the job's requester first; the
/// directive only decides what becomes of the worker.
/// </summary>
/// <param name="MinBackoff">The first restart's wait.</param>
/// <param name="MaxBackoff">The longest wait (the delay doubles per restart up to it); also how long a stopped worker's place stays empty.</param>
/// <param name="RandomFactor">Jitter added to each wait (0.2 = up to 20 % more), so that workers do not come back in step.</param>
/// <param name="MaxRestarts">Restarts allowed inside <paramref name="Window"/>; one more stops the worker.</param>
/// <param name="Window">The time window of the retry budget.</param>
internal sealed record WorkerSupervision(TimeSpan MinBackoff, TimeSpan MaxBackoff, double RandomFactor, int MaxRestarts, TimeSpan Window)
{
    /// <summary>A worker rests 1 s after its first failure, up to 30 s, and may fail 10 times a minute.</summary>
    public static WorkerSupervision Default { get; } = new(TimeSpan.FromSeconds(1), TimeSpan.FromSeconds(30), 0.2, 10, TimeSpan.FromMinutes(1));

    /// <summary>
    /// The directives, most specific first. Resume: the job failed for a reason of its own (bad bytes, a refusing source,
    /// a requester that gave up) and the worker is fine. Restart, with backoff: the cause may persist (a full or failing
    /// disk, an unreachable server) or is unknown, so the worker rests before it tries more work. Stop: the worker
    /// cannot be made to work.
    /// </summary>
    public static IReadOnlyList<(Type Exception, Directive Directive)> Rules { get; } =
    [
        (typeof(OperationCanceledException), Directive.Resume),
        (typeof(ImageStoreException), Directive.Resume),
        (typeof(RemoteException), Directive.Resume),
        (typeof(Remote.ImageCopyException), Directive.Resume),
        (typeof(HashMismatchException), Directive.Resume),
        (typeof(UnsupportedImageFormatException), Directive.Resume),
        (typeof(Streaming.Images.InvalidImageException), Directive.Resume),
        (typeof(TruncatedStreamException), Directive.Resume),
        (typeof(CorruptStreamException), Directive.Resume),
        (typeof(UnsafeArchiveEntryException), Directive.Resume),
        (typeof(InvalidTarHeaderException), Directive.Resume),
        (typeof(InvalidDataException), Directive.Resume),
        (typeof(InsufficientStorageException), Directive.Restart),
        (typeof(IOException), Directive.Restart),
        (typeof(UnauthorizedAccessException), Directive.Restart),
        (typeof(HttpRequestException), Directive.Restart),
        (typeof(TimeoutException), Directive.Restart),
        (typeof(ActorInitializationException), Directive.Stop),
        (typeof(ActorKilledException), Directive.Stop),
        (typeof(Exception), Directive.Restart),
    ];

    /// <summary>The directive for <paramref name="cause"/>: the first rule it matches.</summary>
    public static Directive Decide(Exception cause) =>
        Rules.First(rule => rule.Exception.IsInstanceOfType(cause)).Directive;

    /// <summary>The strategy a worker's backoff supervisor applies: <see cref="Decide"/> within the retry budget.</summary>
    public OneForOneStrategy Strategy() =>
        new(MaxRestarts, Window, Decide);

    /// <summary>A worker under a backoff supervisor that applies <see cref="Strategy"/> and waits before each restart.</summary>
    public Props Supervised(Props worker, string name) =>
        BackoffSupervisor.Props(
            Backoff.OnFailure(worker, name, MinBackoff, MaxBackoff, RandomFactor, MaxRestarts)
                .WithSupervisorStrategy(Strategy()));
}
