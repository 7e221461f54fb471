namespace ImageActors.Images.Caching;

/// <summary>
/// How often a request for an image was answered from the store (a hit) and how often the image had to come from an
/// upstream or remote server first (a miss). Interlocked counters, read by the metrics.
/// </summary>
public sealed class CacheCounters
{
    private long _hits;
    private long _misses;

    /// <summary>Requests answered from the store.</summary>
    public long Hits => Interlocked.Read(ref _hits);

    /// <summary>Requests that went to an upstream or remote server.</summary>
    public long Misses => Interlocked.Read(ref _misses);

    /// <summary>Counts a request answered from the store.</summary>
    public void Hit() => Interlocked.Increment(ref _hits);

    /// <summary>Counts a request that went to an upstream or remote server.</summary>
    public void Miss() => Interlocked.Increment(ref _misses);
}
