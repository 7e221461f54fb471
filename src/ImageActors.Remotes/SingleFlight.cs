using System.Collections.Concurrent;

namespace ImageActors.Remotes;

/// <summary>
/// Merges identical requests in flight: while a lookup for a key runs, further callers for the same key wait for
/// its result instead of sending their own request. Nothing is cached; the next call after it ended asks again.
/// </summary>
/// <remarks>
/// The shared lookup does not take any one caller's cancellation (one caller giving up must not fail the others);
/// it is bounded by the request timeout of the client it runs on, and each caller stops waiting on its own token.
/// </remarks>
/// <typeparam name="TKey">What identifies identical requests.</typeparam>
/// <typeparam name="TResult">The lookup's result.</typeparam>
public sealed class SingleFlight<TKey, TResult>
    where TKey : notnull
{
    private readonly ConcurrentDictionary<TKey, Lazy<Task<TResult>>> _inFlight;

    /// <summary>Creates the set of flights; keys compare with <paramref name="comparer"/>.</summary>
    public SingleFlight(IEqualityComparer<TKey>? comparer = null) => _inFlight = new(comparer);

    /// <summary>Lookups running now.</summary>
    public int Count => _inFlight.Count;

    /// <summary>Joins the running lookup for <paramref name="key"/>, or starts <paramref name="lookup"/> when there is none.</summary>
    public Task<TResult> RunAsync(TKey key, Func<TKey, Task<TResult>> lookup, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(lookup);
        var flight = new Lazy<Task<TResult>>(() => RunAndLeaveAsync(key, lookup), LazyThreadSafetyMode.ExecutionAndPublication);
        var task = _inFlight.GetOrAdd(key, flight).Value;
        return cancellationToken.CanBeCanceled ? task.WaitAsync(cancellationToken) : task;
    }

    private async Task<TResult> RunAndLeaveAsync(TKey key, Func<TKey, Task<TResult>> lookup)
    {
        try
        {
            // Yield first so that the lookup never runs inside the dictionary's Lazy and a synchronous failure is still a faulted task.
            await Task.Yield();
            return await lookup(key).ConfigureAwait(false);
        }
        finally
        {
            _inFlight.TryRemove(key, out _);
        }
    }
}
