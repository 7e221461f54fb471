using Akka.Actor;
using ImageActors.Images.Domain;

namespace ImageActors.Images.Actors;

/// <summary>Tells whoever waits for some work that it moved (bytes arrived, a queue ahead of it moved).</summary>
internal interface IProgressNotice;

/// <summary>
/// Waits for the answer to a request whose work takes as long as it takes (a download, a commit, an unpack): the wait
/// lasts while the work reports progress and ends with <see cref="OperationStalledException"/> only when nothing moved
/// for the stall bound (never when there is none), or when the caller cancels. One short-lived actor per wait, so that
/// the answer and the progress notices reach it as messages from any node.
/// </summary>
internal sealed class ProgressWaiter : ReceiveActor, IWithTimers
{
    private readonly TaskCompletionSource<object> _answer;
    private readonly Action<IActorRef> _send;
    private readonly string _work;
    private readonly TimeSpan? _stallAfter;

    public ProgressWaiter(TaskCompletionSource<object> answer, Action<IActorRef> send, string work, TimeSpan? stallAfter)
    {
        _answer = answer;
        _send = send;
        _work = work;
        _stallAfter = stallAfter;
        Receive<IProgressNotice>(_ => ExpectProgress());
        Receive<Stalled>(_ => End(() => _answer.TrySetException(new OperationStalledException(_work, _stallAfter!.Value))));
        Receive<Cancel>(c => End(() => _answer.TrySetCanceled(c.Token)));
        Receive<Status.Failure>(f => End(() => _answer.TrySetException(f.Cause)));
        ReceiveAny(reply => End(() => _answer.TrySetResult(reply)));
    }

    /// <inheritdoc />
    public ITimerScheduler Timers { get; set; } = null!;

    /// <summary>
    /// Sends a request with <paramref name="send"/> (given the waiter to name as sender) and waits for its answer while
    /// the work makes progress.
    /// </summary>
    /// <param name="factory">Where the waiter lives (the actor system).</param>
    /// <param name="send">Sends the request with the waiter as its sender.</param>
    /// <param name="work">What is waited for and from where, for the stall error.</param>
    /// <param name="stallAfter">How long the work may go without a progress notice; null waits until it ends.</param>
    /// <param name="cancellationToken">Stops waiting (the work goes on unless its owner stops it).</param>
    public static async Task<T> AskAsync<T>(IActorRefFactory factory, Action<IActorRef> send, string work, TimeSpan? stallAfter, CancellationToken cancellationToken)
    {
        cancellationToken.ThrowIfCancellationRequested();
        var answer = new TaskCompletionSource<object>(TaskCreationOptions.RunContinuationsAsynchronously);
        var waiter = factory.ActorOf(Props.Create<ProgressWaiter>(answer, send, work, stallAfter));
        object reply;
        using (cancellationToken.Register(() => waiter.Tell(new Cancel(cancellationToken))))
        {
            reply = await answer.Task.ConfigureAwait(false);
        }

        return reply is T typed ? typed : throw new InvalidOperationException($"{work}: expected {typeof(T).Name}, got {reply.GetType().Name}");
    }

    protected override void PreStart()
    {
        ExpectProgress();
        _send(Self);
    }

    protected override void PostStop() =>
        _answer.TrySetException(new InvalidOperationException($"{_work}: the store stopped before it ended"));

    private void ExpectProgress()
    {
        if (_stallAfter is { } bound)
        {
            Timers.StartSingleTimer(Stalled.Instance, Stalled.Instance, bound);
        }
    }

    private void End(Action complete)
    {
        complete();
        Context.Stop(Self);
    }

    private sealed class Stalled
    {
        public static Stalled Instance { get; } = new();
    }

    private sealed record Cancel(CancellationToken Token);
}
