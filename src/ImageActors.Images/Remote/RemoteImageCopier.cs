using ImageActors.Images.Caching;
using ImageActors.Images.Configuration;
using ImageActors.Images.Diagnostics;
using ImageActors.Images.Domain;
using ImageActors.Remotes;
using ImageActors.Streaming;
using Microsoft.Extensions.Logging;
using IncusRemote = ImageActors.Remotes.Incus.IncusRemote;

namespace ImageActors.Images.Remote;

/// <summary>
/// Copies images from remote image servers (Incus/LXD REST, SimpleStreams, plain URLs) into the store, with
/// Incus' rules: the alias or fingerprint is resolved at the source, the files are downloaded once per image
/// however many copies ask at once (the image's actor runs one fetch and the others wait for it), verified,
/// and committed; then the local aliases are created.
/// </summary>
public sealed partial class RemoteImageCopier
{
    private readonly ImageStore _store;
    private readonly RemoteImageSources _sources;
    private readonly ImagesOptions? _options;
    private readonly TimeProvider _clock;
    private readonly ILogger? _logger;

    /// <summary>Creates the copier.</summary>
    /// <param name="store">Where images go.</param>
    /// <param name="sources">The protocol clients.</param>
    /// <param name="options">For <c>images.auto_update_cached</c>; null reads the store's options when a copy needs them.</param>
    /// <param name="clock">For upload and last-use times; the system clock by default.</param>
    /// <param name="logger">Where failed copies are logged; null logs through the store's logger factory, if it has one.</param>
    public RemoteImageCopier(ImageStore store, RemoteImageSources sources, ImagesOptions? options = null, TimeProvider? clock = null, ILogger<RemoteImageCopier>? logger = null)
    {
        _store = store ?? throw new ArgumentNullException(nameof(store));
        _sources = sources ?? throw new ArgumentNullException(nameof(sources));
        _options = options;
        _clock = clock ?? TimeProvider.System;
        _logger = logger;
    }

    /// <summary>
    /// Copies and pull-through requests answered from the store (hits) and fetched from a remote first (misses): the
    /// store's counts, shared by every copier of the store and published on its meter as <c>imageactors.cache.requests</c>.
    /// </summary>
    public CacheCounters Counters => _store.Metrics.Cache;

    /// <summary>Copies the image and creates its aliases; returns the stored record (with its aliases).</summary>
    /// <exception cref="ImageCopyException">The source does not have it, cannot be reached, or sent other bytes than announced; nothing was stored.</exception>
    /// <exception cref="AliasExistsException">A requested alias exists for another image and <see cref="CopyRequest.Reuse"/> is off.</exception>
    public async Task<ImageRecord> CopyAsync(CopyRequest request, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(request);
        return await TrackAsync(request, async () =>
        {
            var remote = _sources.Open(request.Source);
            var (image, byAlias) = await ResolveAsync(remote, request, cancellationToken).ConfigureAwait(false);
            if (_store.Catalog.Find(request.Project, image.Fingerprint) is null)
            {
                Counters.Miss();
            }
            else
            {
                Counters.Hit();
            }

            return await StoreAsync(remote, image, byAlias, request, cancellationToken).ConfigureAwait(false);
        }).ConfigureAwait(false);
    }

    /// <summary>
    /// Imports the image a URL names (Incus' <c>image import &lt;URL&gt;</c>, spec §4): a HEAD gives its hash and
    /// file URL; the file is downloaded only when the fingerprint is not stored yet. No update source is kept.
    /// </summary>
    public Task<ImageRecord> ImportUrlAsync(Uri url, ProjectName project, IReadOnlyList<string>? aliases = null, bool isPublic = false, CancellationToken cancellationToken = default) =>
        CopyAsync(new CopyRequest(new RemoteSource(url, "direct"), url.ToString()) { Project = project, Aliases = aliases ?? [], Public = isPublic }, cancellationToken);

    /// <summary>
    /// Stores an image already resolved at <paramref name="source"/> and holds it for the caller (the pull-through
    /// path): the hold is taken as soon as the image is stored, so that no eviction takes it before the caller used it.
    /// The hold is null when it was deleted even so; aliases are the caller's to point.
    /// </summary>
    internal Task<(ImageRecord Record, ImageExport? Held)> StoreAndHoldAsync(RemoteSource source, RemoteImage image, bool byAlias, CopyRequest request, CancellationToken cancellationToken) =>
        TrackAsync(request, () => DownloadAsync(_sources.Open(source), image, byAlias, request, hold: true, cancellationToken), stored => stored.Record);

    // One copy: its activity, its count by result, and a failure logged with the image and its source.
    private Task<ImageRecord> TrackAsync(CopyRequest request, Func<Task<ImageRecord>> copy) => TrackAsync(request, copy, record => record);

    private async Task<T> TrackAsync<T>(CopyRequest request, Func<Task<T>> copy, Func<T, ImageRecord> recordOf)
    {
        using var activity = ImageActorsDiagnostics.Source.StartActivity(ImageActorsDiagnostics.CopyActivity);
        activity?.SetTag(ImageActorsDiagnostics.ProjectTag, request.Project.Value);
        activity?.SetTag(ImageActorsDiagnostics.SourceTag, request.Source.Server.ToString());
        activity?.SetTag("imageactors.image", request.Image);
        try
        {
            var copied = await copy().ConfigureAwait(false);
            activity?.SetTag(ImageActorsDiagnostics.FingerprintTag, recordOf(copied).Fingerprint.ToString());
            _store.Metrics.CopyFinished(succeeded: true);
            return copied;
        }
        catch (Exception e)
        {
            ImageActorsDiagnostics.Failed(activity, e);
            _store.Metrics.CopyFinished(succeeded: false);
            if (e is ImageCopyException copyFailed && (_logger ?? _store.LoggerFactory?.CreateLogger<RemoteImageCopier>()) is { } logger)
            {
                LogCopyFailed(logger, request.Image, request.Source.Server, copyFailed.InnerException?.Message ?? copyFailed.Message);
            }

            throw;
        }
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "Copy of image \"{Image}\" from {Source} failed: {Error}")]
    private static partial void LogCopyFailed(ILogger logger, string image, Uri source, string error);

    private async Task<ImageRecord> StoreAsync(IImageRemote remote, RemoteImage image, bool byAlias, CopyRequest request, CancellationToken cancellationToken)
    {
        var (record, _) = await DownloadAsync(remote, image, byAlias, request, hold: false, cancellationToken).ConfigureAwait(false);
        var names = request.Aliases.ToList();
        if (request.CopyAliases)
        {
            names.AddRange(image.Info.Aliases.Select(a => a.Name));
        }

        foreach (var name in names.Distinct(StringComparer.Ordinal))
        {
            await PointAliasAsync(request.Project, name, record.Fingerprint, request.Reuse, cancellationToken).ConfigureAwait(false);
        }

        return names.Count == 0 ? record : _store.Catalog.Find(request.Project, record.Fingerprint) ?? record;
    }

    private async Task<(ImageRecord Record, ImageExport? Held)> DownloadAsync(IImageRemote remote, RemoteImage image, bool byAlias, CopyRequest request, bool hold, CancellationToken cancellationToken)
    {
        // Incus records where an image came from only when it was asked for by alias: only then can a newer one be found.
        var updateSource = byAlias && request.Source.Protocol != "direct"
            ? new UpdateSource(request.Source.Server.ToString(), request.Source.RecordedProtocol, image.Alias ?? request.Image, request.Source.Certificate, ImageTypes.Parse(image.Type))
            : null;
        var template = new RecordTemplate(
            request.Public && (!request.Cached || request.PublicWhenCached),
            // A cached copy auto-updates only when asked for by alias (Incus' rule): a fingerprint names one image for ever.
            request.Cached ? (_options ?? _store.Settings.Options).AutoUpdateCached && updateSource is not null : request.AutoUpdate,
            request.Cached,
            request.Profiles,
            updateSource);
        var fetch = RemoteImageFetch.Create(remote, request.Download is null ? image : image with { DownloadSettings = request.Download }, template, _clock, request.Progress);
        try
        {
            return await _store.DownloadAsync(request.Project, image.Fingerprint, fetch, hold, cancellationToken).ConfigureAwait(false);
        }
        catch (Exception e) when (e is RemoteException or Streaming.Storage.HashMismatchException or Streaming.Storage.InsufficientStorageException or HttpRequestException or OperationStalledException)
        {
            throw new ImageCopyException(request.Image, remote.Server, e);
        }
    }

    /// <summary>Creates the alias; an alias already naming the image is fine, one naming another moves only with <paramref name="reuse"/>.</summary>
    internal async Task<AliasRecord> PointAliasAsync(ProjectName project, string name, Fingerprint fingerprint, bool reuse, CancellationToken cancellationToken)
    {
        try
        {
            return await _store.CreateAliasAsync(project, name, fingerprint.ToString(), string.Empty, cancellationToken).ConfigureAwait(false);
        }
        catch (AliasExistsException)
        {
            var existing = _store.GetAlias(project, name);
            if (existing.Target == fingerprint)
            {
                return existing;
            }

            if (!reuse)
            {
                throw;
            }

            return await _store.RetargetAliasAsync(project, name, fingerprint.ToString(), cancellationToken: cancellationToken).ConfigureAwait(false);
        }
    }

    private static async Task<(RemoteImage Image, bool ByAlias)> ResolveAsync(IImageRemote remote, CopyRequest request, CancellationToken cancellationToken)
    {
        try
        {
            if (remote.Protocol == "direct")
            {
                return (await remote.ResolveAliasAsync(request.Image, null, cancellationToken).ConfigureAwait(false), false);
            }

            if (request.Secret is { Length: > 0 } secret)
            {
                // A private image: only its fingerprint opens it, with the secret (the daemon skips aliases then).
                var remoteWithSecrets = remote as IncusRemote
                    ?? throw new ImageCopyException(request.Image, remote.Server, new RemoteException($"A secret opens images only on Incus or LXD servers, not over {remote.Protocol}", remote.Server));
                return (await remoteWithSecrets.GetImageAsync(request.Image, secret, cancellationToken).ConfigureAwait(false), false);
            }

            var image = await remote.FindImageAsync(request.Image, request.Type, cancellationToken).ConfigureAwait(false);
            var byAlias = image.Alias is not null || !image.Fingerprint.ToString().StartsWith(request.Image, StringComparison.OrdinalIgnoreCase);
            return (image, byAlias);
        }
        catch (Exception e) when (e is RemoteException or HttpRequestException)
        {
            throw new ImageCopyException(request.Image, remote.Server, e);
        }
    }
}
