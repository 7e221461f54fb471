namespace ImageActors.Server.Api;

/// <summary>
/// The slots image uploads run in (<c>server.max_concurrent_uploads</c>): the memory uploads hold is bounded by the
/// number of slots, not by the number of clients. An upload without a free slot waits, its body unread (so it holds
/// only what the connection has buffered), for at most <c>server.upload_queue_timeout</c>; then it is refused.
/// </summary>
public sealed class UploadSlots : IDisposable
{
    private readonly SemaphoreSlim _slots;
    private readonly TimeSpan _queueTimeout;
    private int _waiting;

    /// <summary>Creates <paramref name="count"/> slots.</summary>
    public UploadSlots(int count, TimeSpan queueTimeout)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(count);
        Count = count;
        // SemaphoreSlim waits at most int.MaxValue milliseconds (24 days): anything longer is for ever.
        _queueTimeout = queueTimeout.TotalMilliseconds >= int.MaxValue ? Timeout.InfiniteTimeSpan : queueTimeout;
        _slots = new SemaphoreSlim(count, count);
    }

    /// <summary>The number of slots.</summary>
    public int Count { get; }

    /// <summary>Uploads running now.</summary>
    public int Running => Count - _slots.CurrentCount;

    /// <summary>Uploads waiting for a slot now.</summary>
    public int Waiting => Volatile.Read(ref _waiting);

    /// <summary>
    /// Takes a slot, waiting for one up to the queue timeout; dispose the result to give it back. Null when none came
    /// free in time.
    /// </summary>
    public async Task<IDisposable?> TakeAsync(CancellationToken cancellationToken)
    {
        if (_slots.Wait(0, CancellationToken.None))
        {
            return new Slot(_slots);
        }

        if (_queueTimeout == TimeSpan.Zero)
        {
            return null;
        }

        Interlocked.Increment(ref _waiting);
        try
        {
            return await _slots.WaitAsync(_queueTimeout, cancellationToken).ConfigureAwait(false) ? new Slot(_slots) : null;
        }
        finally
        {
            Interlocked.Decrement(ref _waiting);
        }
    }

    /// <inheritdoc />
    public void Dispose() => _slots.Dispose();

    private sealed class Slot(SemaphoreSlim slots) : IDisposable
    {
        private int _released;

        public void Dispose()
        {
            if (Interlocked.Exchange(ref _released, 1) == 0)
            {
                slots.Release();
            }
        }
    }
}
