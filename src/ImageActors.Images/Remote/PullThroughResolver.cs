using System.Collections.Concurrent;
using System.Security.Authentication;
using ImageActors.Images.Caching;
using ImageActors.Images.Domain;
using ImageActors.Remotes;
using ImageActors.Remotes.Incus;

namespace ImageActors.Images.Remote;

/// <summary>
/// The cache appliance's fallback: an image the store lacks is looked for at the configured upstreams in order,
/// fetched once however many clients ask at once, stored as cached (so the cache rules may expire it), given the
/// asked-for alias locally, and served from the store from then on.
/// </summary>
public sealed class PullThroughResolver
{
    private readonly ImageStore _store;
    private readonly RemoteImageCopier _copier;
    private readonly RemoteImageSources _sources;
    private readonly TimeProvider _clock;
    // Export probes of Incus/LXD upstreams at once while a listing is fetched: a few headers-only requests, not a flood.
    private const int ExportProbeParallelism = 4;
    private readonly ConcurrentDictionary<Streaming.Fingerprint, Lazy<Task<ExportProbe>>> _exportProbes = new();
    private UpstreamListing? _listing;

    /// <summary>Creates the resolver.</summary>
    /// <param name="store">The local store, asked first.</param>
    /// <param name="copier">Fetches what the store lacks.</param>
    /// <param name="sources">The protocol clients.</param>
    /// <param name="upstreams">Upstream servers, asked in order.</param>
    /// <param name="catalogTtl">How long <see cref="ListUpstreamImagesAsync"/> reuses the upstreams' lists (<c>images.upstream_catalog_ttl</c>).</param>
    /// <param name="clock">Ages the lists; the system clock by default.</param>
    public PullThroughResolver(ImageStore store, RemoteImageCopier copier, RemoteImageSources sources, IReadOnlyList<RemoteSource> upstreams, TimeSpan? catalogTtl = null, TimeProvider? clock = null)
    {
        _store = store ?? throw new ArgumentNullException(nameof(store));
        _copier = copier ?? throw new ArgumentNullException(nameof(copier));
        _sources = sources ?? throw new ArgumentNullException(nameof(sources));
        Upstreams = upstreams ?? throw new ArgumentNullException(nameof(upstreams));
        CatalogTtl = catalogTtl ?? TimeSpan.FromMinutes(10);
        _clock = clock ?? TimeProvider.System;
    }

    /// <summary>The upstream servers, in the order they are asked.</summary>
    public IReadOnlyList<RemoteSource> Upstreams { get; }

    /// <summary>How long the upstreams' image lists are reused.</summary>
    public TimeSpan CatalogTtl { get; }

    /// <summary>Requests answered from the store (hits) and fetched from an upstream first (misses); shared with the copier.</summary>
    public CacheCounters Counters => _copier.Counters;

    /// <summary>The image named by an alias or fingerprint (prefix): from the store, or fetched from the first upstream that has it.</summary>
    /// <param name="project">The local project.</param>
    /// <param name="aliasOrFingerprint">What the client asked for.</param>
    /// <param name="type"><c>container</c> or <c>virtual-machine</c> to pick an alias' image of that type; null for either.</param>
    /// <param name="cancellationToken">Stops waiting (the shared download goes on for the others).</param>
    /// <exception cref="Domain.ImageNotFoundException">No upstream has it, and every upstream answered.</exception>
    /// <exception cref="ImageCopyException">An upstream has it but the fetch failed, or no upstream that answered has it and one could not be reached (the message says why, e.g. an untrusted certificate).</exception>
    public async Task<ImageRecord> GetOrFetchAsync(ProjectName project, string aliasOrFingerprint, string? type = null, CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrEmpty(aliasOrFingerprint);
        if (Local(project, aliasOrFingerprint) is { } local)
        {
            Counters.Hit();
            return local;
        }

        Counters.Miss();
        (RemoteSource Upstream, Exception Error)? unreachable = null;
        foreach (var upstream in Upstreams)
        {
            var remote = _sources.Open(upstream);
            RemoteImage image;
            try
            {
                image = await remote.FindImageAsync(aliasOrFingerprint, type, cancellationToken).ConfigureAwait(false);
            }
            catch (Remotes.ImageNotFoundException)
            {
                continue;
            }
            catch (Exception e) when (e is RemoteException or HttpRequestException)
            {
                // An upstream that is down must not hide the next one that may have the image.
                unreachable ??= (upstream, e);
                continue;
            }

            var byAlias = image.Alias is not null || !image.Fingerprint.StartsWith(aliasOrFingerprint);
            // Untrusted clients of the appliance see what untrusted clients of the upstream see.
            var request = new CopyRequest(upstream, aliasOrFingerprint) { Project = project, Cached = true, Type = type, Public = image.Info.Public, PublicWhenCached = true };
            var record = await _copier.StoreAsync(upstream, image, byAlias, request, cancellationToken).ConfigureAwait(false);
            if (byAlias && AliasName.TryParse(aliasOrFingerprint, out _))
            {
                // Many clients may race here; each one either creates it or finds it already naming this image.
                await _copier.PointAliasAsync(project, aliasOrFingerprint, record.Fingerprint, reuse: true, cancellationToken).ConfigureAwait(false);
                return _store.Catalog.Find(project, record.Fingerprint) ?? record;
            }

            return record;
        }

        if (unreachable is { } failed)
        {
            throw new ImageCopyException(aliasOrFingerprint, failed.Upstream.Server, Explain(failed.Upstream, failed.Error));
        }

        throw new Domain.ImageNotFoundException(aliasOrFingerprint);
    }

    /// <summary>
    /// The images the upstreams list, each with the upstream that lists it (the first one when several do), fetched
    /// at most once per <see cref="CatalogTtl"/> however many callers ask. An upstream that cannot be reached
    /// contributes nothing until the next fetch.
    /// </summary>
    public Task<IReadOnlyList<UpstreamImage>> ListUpstreamImagesAsync(CancellationToken cancellationToken = default)
    {
        while (true)
        {
            var current = Volatile.Read(ref _listing);
            if (current is not null && (!current.Images.IsCompleted || _clock.GetElapsedTime(current.StartedAt) < CatalogTtl) && !current.Images.IsFaulted)
            {
                return current.Images.WaitAsync(cancellationToken);
            }

            // Whoever swaps in the new listing fetches it; the others wait for that same fetch.
            var next = new UpstreamListing(_clock.GetTimestamp());
            if (Interlocked.CompareExchange(ref _listing, next, current) == current)
            {
                next.Start(FetchListingAsync());
                return next.Images.WaitAsync(cancellationToken);
            }
        }
    }

    private async Task<IReadOnlyList<UpstreamImage>> FetchListingAsync()
    {
        var lists = await Task.WhenAll(Upstreams.Select(async upstream =>
        {
            try
            {
                var remote = _sources.Open(upstream);
                if (remote is Remotes.SimpleStreams.SimpleStreamsRemote simpleStreams)
                {
                    // Its own catalog cache would otherwise outlive images.upstream_catalog_ttl.
                    simpleStreams.InvalidateCatalog();
                }

                var images = await remote.ListImagesAsync(CancellationToken.None).ConfigureAwait(false);
                if (remote is IncusRemote incus)
                {
                    images = await AnnounceUnifiedExportsAsync(incus, images).ConfigureAwait(false);
                }

                return images.Select(i => new UpstreamImage(upstream, i)).ToList();
            }
            catch (Exception e) when (e is RemoteException or HttpRequestException or TaskCanceledException)
            {
                return [];
            }
        })).ConfigureAwait(false);

        var seen = new HashSet<Streaming.Fingerprint>();
        return [.. lists.SelectMany(l => l).Where(i => seen.Add(i.Image.Fingerprint))];
    }

    // An Incus/LXD image record does not say whether its export is one file or two. A probe of the export's headers
    // does, once per fingerprint for the life of the process (an image's files never change); a unified image then
    // announces its one file (SHA-256 = fingerprint, the file's length), which SimpleStreams can describe. Split
    // images keep their export file: the sizes and hashes of their two files are known only from a download. A probe
    // that failed is forgotten, so the next fetch of the listing asks again.
    private async Task<IReadOnlyList<RemoteImage>> AnnounceUnifiedExportsAsync(IncusRemote remote, IReadOnlyList<RemoteImage> images)
    {
        var exports = images.Where(i => i.Files is [{ Role: RemoteFileRole.Export }]).DistinctBy(i => i.Fingerprint).ToList();
        var probes = new ConcurrentDictionary<Streaming.Fingerprint, ExportProbe>();
        await Parallel.ForEachAsync(exports, new ParallelOptions { MaxDegreeOfParallelism = ExportProbeParallelism }, async (image, _) =>
        {
            var once = _exportProbes.GetOrAdd(image.Fingerprint, _ => new Lazy<Task<ExportProbe>>(() => remote.ProbeExportAsync(image)));
            var probe = await once.Value.ConfigureAwait(false);
            if (probe.Shape == ExportShape.Unknown)
            {
                _exportProbes.TryRemove(KeyValuePair.Create(image.Fingerprint, once));
            }

            probes[image.Fingerprint] = probe;
        }).ConfigureAwait(false);

        return [.. images.Select(i => probes.TryGetValue(i.Fingerprint, out var probe) && probe.Shape == ExportShape.Unified && i.Files is [{ Role: RemoteFileRole.Export } export]
            ? i with
            {
                Files =
                [
                    new RemoteImageFile
                    {
                        Role = RemoteFileRole.Unified,
                        Sources = export.Sources,
                        Size = probe.Length ?? export.Size,
                        Sha256 = i.Fingerprint.ToString(),
                        FileName = probe.FileName ?? export.FileName,
                    },
                ],
            }
            : i)];
    }

    private static Exception Explain(RemoteSource upstream, Exception error)
    {
        for (var e = error; e is not null; e = e.InnerException)
        {
            if (e is AuthenticationException)
            {
                var advice = upstream.Certificate.Length > 0
                    ? "it does not match the certificate pinned for it in images.upstreams"
                    : "pin it with a certificate file in its images.upstreams entry ({ url, protocol, certificate })";
                return new RemoteException($"the TLS certificate of {upstream.Server} is not trusted; {advice}", upstream.Server, error);
            }
        }

        return error;
    }

    private ImageRecord? Local(ProjectName project, string aliasOrFingerprint)
    {
        try
        {
            return _store.Get(project, aliasOrFingerprint);
        }
        catch (Domain.ImageNotFoundException)
        {
            return null;
        }
    }

    private sealed class UpstreamListing(long startedAt)
    {
        private readonly TaskCompletionSource<IReadOnlyList<UpstreamImage>> _images = new(TaskCreationOptions.RunContinuationsAsynchronously);

        public long StartedAt { get; } = startedAt;

        public Task<IReadOnlyList<UpstreamImage>> Images => _images.Task;

        public void Start(Task<IReadOnlyList<UpstreamImage>> fetch) =>
            fetch.ContinueWith(
                static (t, state) =>
                {
                    var target = (TaskCompletionSource<IReadOnlyList<UpstreamImage>>)state!;
                    if (t.IsFaulted)
                    {
                        target.TrySetException(t.Exception!.InnerExceptions);
                    }
                    else
                    {
                        target.TrySetResult(t.Result);
                    }
                },
                _images,
                CancellationToken.None,
                TaskContinuationOptions.ExecuteSynchronously,
                TaskScheduler.Default);
    }
}

/// <summary>An image an upstream lists, and the upstream.</summary>
/// <param name="Upstream">The upstream server.</param>
/// <param name="Image">The image as it describes it, with its files.</param>
public sealed record UpstreamImage(RemoteSource Upstream, RemoteImage Image);
