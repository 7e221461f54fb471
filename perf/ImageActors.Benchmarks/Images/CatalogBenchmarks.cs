using System.Diagnostics;
using BenchmarkDotNet.Attributes;
using ImageActors.Images.Domain;
using ImageActors.Images.Events;
using ImageActors.Images.Filtering;
using ImageActors.Images.ReadModel;
using ImageActors.Streaming;

namespace ImageActors.Benchmarks.Images;

/// <summary>
/// The image read model at 100,000 images and 100,000 aliases. Budgets (issue 5): list of all
/// ≤ 300 ms, get by prefix p99 ≤ 1 ms, recovery ≤ 5 s with snapshots. Per-call p50/p99 of
/// gets are measured one call at a time in the global setup and printed, since BenchmarkDotNet
/// reports per-iteration statistics only.
/// </summary>
[MemoryDiagnoser]
public class CatalogBenchmarks
{
    private ImageCatalog _catalog = null!;
    private CatalogSnapshot _snapshot = null!;
    private (long Ordering, object Payload)[] _history = [];
    private string[] _prefixes = [];
    private Fingerprint[] _fingerprints = [];
    private ImageFilter _filter = null!;
    private int _next;

    /// <summary>Images (and aliases) in the catalog.</summary>
    [Params(100_000)]
    public int Images { get; set; }

    [GlobalSetup]
    public void Setup()
    {
        var before = GC.GetTotalMemory(forceFullCollection: true);
        _history = [.. CatalogData.History(Images).Select((e, i) => ((long)(i + 1), e))];
        _catalog = new ImageCatalog();
        _catalog.ApplyBatch(_history);
        _snapshot = _catalog.ToSnapshot();
        _fingerprints = [.. Enumerable.Range(0, Images).Select(CatalogData.FingerprintOf)];
        _prefixes = [.. _fingerprints.Select(f => f.ToShortString(12))];
        _filter = ImageFilter.Parse("properties.os eq Debian and public eq true");
        var after = GC.GetTotalMemory(forceFullCollection: true);
        Console.WriteLine($"// catalog of {Images} images + {Images} aliases, with its event history and snapshot: {(after - before) / (1024.0 * 1024.0):F1} MiB managed");
        PrintGetLatencies();
    }

    /// <summary>Exact lookup by full fingerprint: what a prefix lookup is measured against.</summary>
    [Benchmark(Baseline = true)]
    public ImageRecord? Find_exact() => _catalog.Find(ProjectName.Default, _fingerprints[Next()]);

    /// <summary>Unique-prefix lookup with a 12-digit prefix (what listings show and users paste).</summary>
    [Benchmark]
    public ImageRecord Get_by_prefix() => _catalog.GetByPrefix(ProjectName.Default, _prefixes[Next()]);

    /// <summary>Resolve by alias name.</summary>
    [Benchmark]
    public ImageRecord Resolve_alias() => _catalog.Resolve(ProjectName.Default, "os/" + Next());

    /// <summary>Listing every image (GET /1.0/images?recursion=1).</summary>
    [Benchmark]
    public int List_all() => _catalog.List(ProjectName.Default).Count;

    /// <summary>Listing with a filter expression.</summary>
    [Benchmark]
    public int List_filtered() => _catalog.List(ProjectName.Default, _filter).Count;

    /// <summary>Read-model recovery from its snapshot (no newer events).</summary>
    [Benchmark]
    public int Rebuild_from_snapshot() => ImageCatalog.FromSnapshot(_snapshot).ImageCount;

    /// <summary>Read-model recovery by replaying all 200,000 events (no snapshot).</summary>
    [Benchmark]
    public int Rebuild_from_events()
    {
        var catalog = new ImageCatalog();
        catalog.ApplyBatch(_history);
        return catalog.ImageCount;
    }

    /// <summary>Applying one mark-used event (O(log n), publishes a new view).</summary>
    [Benchmark]
    public long Apply_image_used()
    {
        var i = Next();
        var ordering = _catalog.Ordering + 1;
        _catalog.Apply(ordering, new ImageUsed(ProjectName.Default, _fingerprints[i], CatalogData.Epoch.AddSeconds(ordering)));
        return ordering;
    }

    private int Next()
    {
        var i = _next++;
        if (_next >= _fingerprints.Length)
        {
            _next = 0;
        }

        return i;
    }

    private void PrintGetLatencies()
    {
        var samples = new double[_prefixes.Length];
        for (var round = 0; round < 2; round++)
        {
            for (var i = 0; i < _prefixes.Length; i++)
            {
                var start = Stopwatch.GetTimestamp();
                _ = _catalog.GetByPrefix(ProjectName.Default, _prefixes[i]);
                samples[i] = Stopwatch.GetElapsedTime(start).TotalMicroseconds;
            }
        }

        Array.Sort(samples);
        Console.WriteLine($"// get by prefix, one call at a time over {samples.Length} images: p50 {samples[samples.Length / 2]:F2} µs, p99 {samples[(int)(samples.Length * 0.99)]:F2} µs, max {samples[^1]:F2} µs");
        var list = Stopwatch.StartNew();
        var count = _catalog.List(ProjectName.Default).Count;
        Console.WriteLine($"// list all ({count}): {list.Elapsed.TotalMilliseconds:F1} ms (one cold call)");
    }
}
