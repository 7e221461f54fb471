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
        await using var pulled = await OpenOrFetchAsync(project, aliasOrFingerprint, type, cancellationToken).ConfigureAwait(false);
        return pulled.Image;
    }

    /// <summary>
    /// As <see cref="GetOrFetchAsync"/>, and the image is held for the caller until the result is disposed: its files
    /// are open and the cache rules leave it alone, so a request answered from it (an alias, the image's record, an
    /// export) never finds it evicted between the lookup and the answer, however busy the cache is.
    /// </summary>
    /// <remarks>
    /// What the read model lists is only a hint: the image's actor decides whether it is here. An image the read model
    /// still lists but an eviction has just removed is fetched again, as is one evicted between its fetch and its hold
    /// (a few times at most: the cache is then far too small for its load, and the error says so).
    /// </remarks>
    /// <exception cref="Domain.ImageNotFoundException">No upstream has it, and every upstream answered.</exception>
    /// <exception cref="ImageCopyException">An upstream has it but the fetch failed (or it kept being evicted before it could be held), or no upstream that answered has it and one could not be reached.</exception>
    public async Task<PulledImage> OpenOrFetchAsync(ProjectName project, string aliasOrFingerprint, string? type = null, CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrEmpty(aliasOrFingerprint);
        if (Local(project, aliasOrFingerprint) is { } local && await HoldAsync(project, local.Image, cancellationToken).ConfigureAwait(false) is { } found)
        {
            Counters.Hit();
            return new PulledImage(local.Image, local.Alias, found, Fetched: false);
        }

        Counters.Miss();
        for (var attempt = 1; ; attempt++)
        {
            var (upstream, record, alias, fetched) = await FetchAsync(project, aliasOrFingerprint, type, cancellationToken).ConfigureAwait(false);
            if (fetched is { } export)
            {
                try
                {
                    AliasRecord? named = null;
                    if (alias is not null)
                    {
                        // The alias is the cache's, not a user's: the image learns so before the alias exists, or the
                        // alias would keep it for ever when its record names no upstream alias (fetched by fingerprint
                        // first) or another one.
                        if (record.Cached && AliasName.TryParse(alias, out var name) && CacheRules.Pins(record, name))
                        {
                            record = await _store.RecordCacheAliasAsync(project, record.Fingerprint, name, cancellationToken).ConfigureAwait(false);
                        }

                        // Many clients may race here; each one either creates it or finds it already naming this image.
                        named = await _copier.PointAliasAsync(project, alias, record.Fingerprint, reuse: true, cancellationToken).ConfigureAwait(false);
                    }

                    return new PulledImage(_store.Catalog.Find(project, record.Fingerprint) ?? record, named, export, Fetched: true);
                }
                catch
                {
                    await export.DisposeAsync().ConfigureAwait(false);
                    throw;
                }
            }

            if (attempt == MaxFetchAttempts)
            {
                throw new ImageCopyException(aliasOrFingerprint, upstream.Server, new InvalidOperationException(
                    $"the image was removed {attempt} times as soon as it was fetched, before this request could use it; try again"));
            }
        }
    }

    // Fetches after a delete took the image between its fetch and its hold.
    private const int MaxFetchAttempts = 3;

    // Finds the image at the first upstream that has it and stores it (once, however many callers ask at once), held
    // for the caller from the moment it is stored; the alias to give it here, when it was asked for by one.
    private async Task<(RemoteSource Upstream, ImageRecord Record, string? Alias, ImageExport? Held)> FetchAsync(ProjectName project, string aliasOrFingerprint, string? type, CancellationToken cancellationToken)
    {
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
            var (record, held) = await _copier.StoreAndHoldAsync(upstream, image, byAlias, request, cancellationToken).ConfigureAwait(false);
            return (upstream, record, byAlias && AliasName.TryParse(aliasOrFingerprint, out _) ? aliasOrFingerprint : null, held);
        }

        if (unreachable is { } failed)
        {
            throw new ImageCopyException(aliasOrFingerprint, failed.Upstream.Server, Explain(failed.Upstream, failed.Error));
        }

        throw new Domain.ImageNotFoundException(aliasOrFingerprint);
    }

    // Holds the image if its actor has it now; null when it is gone (an eviction or a delete got there first).
    private async Task<ImageExport?> HoldAsync(ProjectName project, ImageRecord image, CancellationToken cancellationToken)
    {
        try
        {
            return await _store.HoldAsync(project, image.Fingerprint, cancellationToken).ConfigureAwait(false);
        }
        catch (Domain.ImageNotFoundException)
        {
            return null;
        }
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

    // What the read model says the project holds under this name: the image, and the alias when the name is one.
    private (ImageRecord Image, AliasRecord? Alias)? Local(ProjectName project, string aliasOrFingerprint)
    {
        ImageRecord image;
        try
        {
            image = _store.Get(project, aliasOrFingerprint);
        }
        catch (Domain.ImageNotFoundException)
        {
            return null;
        }

        var alias = AliasName.TryParse(aliasOrFingerprint, out var name) ? _store.Catalog.FindAlias(project, name) : null;
        return (image, alias is not null && alias.Target == image.Fingerprint ? alias : null);
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

/// <summary>
/// An image a pull-through request found or fetched, held for the request (files open, safe from the cache rules) until
/// disposed.
/// </summary>
/// <param name="Image">The image's record.</param>
/// <param name="Alias">The alias the request named, as it now points at the image; null when it named a fingerprint.</param>
/// <param name="Export">The image's files, open; they stay until this is disposed.</param>
/// <param name="Fetched">Whether this request fetched it from an upstream (a cache miss) rather than finding it here.</param>
public sealed record PulledImage(ImageRecord Image, AliasRecord? Alias, ImageExport Export, bool Fetched) : IAsyncDisposable
{
    /// <inheritdoc />
    public ValueTask DisposeAsync() => Export.DisposeAsync();
}

/// <summary>An image an upstream lists, and the upstream.</summary>
/// <param name="Upstream">The upstream server.</param>
/// <param name="Image">The image as it describes it, with its files.</param>
public sealed record UpstreamImage(RemoteSource Upstream, RemoteImage Image);
