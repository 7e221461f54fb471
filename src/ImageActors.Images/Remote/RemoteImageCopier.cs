using ImageActors.Images.Caching;
using ImageActors.Images.Configuration;
using ImageActors.Images.Domain;
using ImageActors.Remotes;
using ImageActors.Streaming;
using IncusRemote = ImageActors.Remotes.Incus.IncusRemote;

namespace ImageActors.Images.Remote;

/// <summary>
/// Copies images from remote image servers (Incus/LXD REST, SimpleStreams, plain URLs) into the store, with
/// Incus' rules: the alias or fingerprint is resolved at the source, the files are downloaded once per image
/// however many copies ask at once (the image's actor runs one fetch and the others wait for it), verified,
/// and committed; then the local aliases are created.
/// </summary>
public sealed class RemoteImageCopier
{
    private readonly ImageStore _store;
    private readonly RemoteImageSources _sources;
    private readonly ImagesOptions? _options;
    private readonly TimeProvider _clock;

    /// <summary>Creates the copier.</summary>
    /// <param name="store">Where images go.</param>
    /// <param name="sources">The protocol clients.</param>
    /// <param name="options">For <c>images.auto_update_cached</c>; null reads the store's options when a copy needs them.</param>
    /// <param name="clock">For upload and last-use times; the system clock by default.</param>
    public RemoteImageCopier(ImageStore store, RemoteImageSources sources, ImagesOptions? options = null, TimeProvider? clock = null)
    {
        _store = store ?? throw new ArgumentNullException(nameof(store));
        _sources = sources ?? throw new ArgumentNullException(nameof(sources));
        _options = options;
        _clock = clock ?? TimeProvider.System;
    }

    /// <summary>Copies and pull-through requests answered from the store (hits) and fetched from a remote first (misses).</summary>
    public CacheCounters Counters { get; } = new();

    /// <summary>Copies the image and creates its aliases; returns the stored record (with its aliases).</summary>
    /// <exception cref="ImageCopyException">The source does not have it, cannot be reached, or sent other bytes than announced; nothing was stored.</exception>
    /// <exception cref="AliasExistsException">A requested alias exists for another image and <see cref="CopyRequest.Reuse"/> is off.</exception>
    public async Task<ImageRecord> CopyAsync(CopyRequest request, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(request);
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
    internal async Task<(ImageRecord Record, ImageExport? Held)> StoreAndHoldAsync(RemoteSource source, RemoteImage image, bool byAlias, CopyRequest request, CancellationToken cancellationToken)
    {
        var remote = _sources.Open(source);
        return await DownloadAsync(remote, image, byAlias, request, hold: true, cancellationToken).ConfigureAwait(false);
    }

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
