namespace ImageActors.Images.Actors;

/// <summary>
/// The worker jobs of one store still running, so that a stop can wait for them to finish their own clean-up (a
/// cancelled download keeps or deletes its temp file as it ends) before the store sweeps what is left in <c>tmp/</c>.
/// </summary>
internal sealed class JobsInFlight
{
    private int _running;
    private TaskCompletionSource _none = NewNone(completed: true);

    /// <summary>A job started.</summary>
    public void Enter()
    {
        if (Interlocked.Increment(ref _running) == 1)
        {
            Interlocked.Exchange(ref _none, NewNone(completed: false));
        }
    }

    /// <summary>A job ended, however it ended.</summary>
    public void Leave()
    {
        if (Interlocked.Decrement(ref _running) == 0)
        {
            Volatile.Read(ref _none).TrySetResult();
        }
    }

    /// <summary>Completes when no job runs.</summary>
    public Task WhenNoneAsync() => Volatile.Read(ref _running) == 0 ? Task.CompletedTask : Volatile.Read(ref _none).Task;

    private static TaskCompletionSource NewNone(bool completed)
    {
        var none = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        if (completed)
        {
            none.SetResult();
        }

        return none;
    }
}
