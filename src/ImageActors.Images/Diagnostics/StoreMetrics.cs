using System.Diagnostics.Metrics;
using ImageActors.Images.Caching;

namespace ImageActors.Images.Diagnostics;

/// <summary>
/// The store's instruments on its <see cref="Meter"/> (named <see cref="ImageActorsDiagnostics.Name"/>): what it did
/// (imports, copies, downloads, evictions, cache hits and misses) as observable counters over interlocked counts, so
/// that every series exists from the start at zero, and how it is doing (images, aliases, mailbox depths) as gauges
/// read when a listener collects.
/// </summary>
internal sealed class StoreMetrics : IDisposable
{
    private static readonly KeyValuePair<string, object?> Success = new("result", "success");
    private static readonly KeyValuePair<string, object?> Failure = new("result", "failure");
    private static readonly EvictionReason[] Reasons = Enum.GetValues<EvictionReason>();

    private readonly bool _ownsMeter;
    private readonly long[] _evictions = new long[Reasons.Length];
    private long _importsSucceeded;
    private long _importsFailed;
    private long _copiesSucceeded;
    private long _copiesFailed;
    private long _downloadsSucceeded;
    private long _downloadsFailed;
    private long _downloadedBytes;

    // Images held by open exports and requests under way, and their bytes: [0] not cached, [1] cached.
    private readonly long[] _heldImages = new long[2];
    private readonly long[] _heldBytes = new long[2];

    /// <summary>Creates the meter (from <paramref name="meterFactory"/> when the host has one) and its instruments.</summary>
    public StoreMetrics(IMeterFactory? meterFactory, IStoreGauges gauges)
    {
        _ownsMeter = meterFactory is null;
        Meter = meterFactory?.Create(new MeterOptions(ImageActorsDiagnostics.Name)) ?? new Meter(ImageActorsDiagnostics.Name);
        Meter.CreateObservableCounter("imageactors.imports", () => Results(ref _importsSucceeded, ref _importsFailed), "{import}", "Image imports finished, by result.");
        Meter.CreateObservableCounter("imageactors.copies", () => Results(ref _copiesSucceeded, ref _copiesFailed), "{copy}", "Copies from remote servers and URLs finished, by result.");
        Meter.CreateObservableCounter("imageactors.downloads", () => Results(ref _downloadsSucceeded, ref _downloadsFailed), "{download}", "Image downloads from remote servers run by this store (joined requests not counted), by result.");
        Meter.CreateObservableCounter("imageactors.download.bytes", () => Interlocked.Read(ref _downloadedBytes), "By", "Bytes of images stored by successful downloads.");
        Meter.CreateObservableCounter("imageactors.evictions", Evictions, "{image}", "Images removed by the cache rules, by reason.");
        Meter.CreateObservableCounter<long>(
            "imageactors.cache.requests",
            () => [new(Cache.Hits, new KeyValuePair<string, object?>("result", "hit")), new(Cache.Misses, new KeyValuePair<string, object?>("result", "miss"))],
            "{request}",
            "Image requests answered from the store (hit) or fetched from an upstream or remote first (miss).");
        Meter.CreateObservableGauge("imageactors.images", gauges.ObserveImageCount, "{image}", "Images in the read model (all projects).");
        Meter.CreateObservableGauge("imageactors.aliases", gauges.ObserveAliasCount, "{alias}", "Aliases in the read model (all projects).");
        Meter.CreateObservableGauge("imageactors.catalog.ordering", gauges.ObserveCatalogOrdering, "{event}", "Journal position the read model has applied.");
        Meter.CreateObservableGauge("imageactors.cache.size", gauges.ObserveCachedBytes, "By", "Bytes of cached images (each file once) as the read model lists them: what images.cache_max_size bounds.");
        Meter.CreateObservableGauge("imageactors.images.held", () => HeldMeasurements(_heldImages), "{image}", "Images held by open exports and by requests under way (per project), by cached: the cache rules do not remove them.");
        Meter.CreateObservableGauge("imageactors.images.held.bytes", () => HeldMeasurements(_heldBytes), "By", "Bytes of the images held by open exports and by requests under way (per project), by cached.");
        Meter.CreateObservableGauge("imageactors.mailbox.depth", gauges.ObserveMailboxDepths, "{message}", "Messages queued for the store's actors, by kind (regions include their entities).");
    }

    /// <summary>The meter every instrument of the store is on.</summary>
    public Meter Meter { get; }

    /// <summary>Cache hits and misses of the store's copiers and pull-through resolvers.</summary>
    public CacheCounters Cache { get; } = new();

    public void ImportFinished(bool succeeded) => Interlocked.Increment(ref succeeded ? ref _importsSucceeded : ref _importsFailed);

    public void CopyFinished(bool succeeded) => Interlocked.Increment(ref succeeded ? ref _copiesSucceeded : ref _copiesFailed);

    public void DownloadFinished(bool succeeded, long bytes)
    {
        Interlocked.Increment(ref succeeded ? ref _downloadsSucceeded : ref _downloadsFailed);
        if (succeeded)
        {
            Interlocked.Add(ref _downloadedBytes, bytes);
        }
    }

    /// <summary>An image of <paramref name="bytes"/> (negative: no longer) held by open exports or requests.</summary>
    public void Held(bool cached, long images, long bytes)
    {
        Interlocked.Add(ref _heldImages[cached ? 1 : 0], images);
        Interlocked.Add(ref _heldBytes[cached ? 1 : 0], bytes);
    }

    public void Evicted(EvictionReason reason) => Interlocked.Increment(ref _evictions[Array.IndexOf(Reasons, reason)]);

    /// <summary>Disposes the meter when the store made it; a host's meter factory disposes its own.</summary>
    public void Dispose()
    {
        if (_ownsMeter)
        {
            Meter.Dispose();
        }
    }

    private static Measurement<long>[] Results(ref long succeeded, ref long failed) =>
        [new(Interlocked.Read(ref succeeded), Success), new(Interlocked.Read(ref failed), Failure)];

    private static Measurement<long>[] HeldMeasurements(long[] counts) =>
    [
        new(Interlocked.Read(ref counts[1]), new KeyValuePair<string, object?>("cached", "true")),
        new(Interlocked.Read(ref counts[0]), new KeyValuePair<string, object?>("cached", "false")),
    ];

    private IEnumerable<Measurement<long>> Evictions()
    {
        for (var i = 0; i < Reasons.Length; i++)
        {
            yield return new Measurement<long>(Interlocked.Read(ref _evictions[i]), new KeyValuePair<string, object?>("reason", ReasonName(Reasons[i])));
        }
    }

    private static string ReasonName(EvictionReason reason) => reason switch
    {
        EvictionReason.CacheExpired => "cache_expired",
        EvictionReason.PastExpiry => "past_expiry",
        EvictionReason.OverQuota => "over_quota",
        _ => reason.ToString(),
    };
}

/// <summary>What the store's gauges read; each returns nothing while the store is not running.</summary>
internal interface IStoreGauges
{
    IEnumerable<Measurement<long>> ObserveImageCount();

    IEnumerable<Measurement<long>> ObserveAliasCount();

    IEnumerable<Measurement<long>> ObserveCatalogOrdering();

    IEnumerable<Measurement<long>> ObserveCachedBytes();

    IEnumerable<Measurement<long>> ObserveMailboxDepths();
}
