using ImageActors.Images.Domain;
using ImageActors.Remotes;

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

    /// <summary>Creates the resolver.</summary>
    /// <param name="store">The local store, asked first.</param>
    /// <param name="copier">Fetches what the store lacks.</param>
    /// <param name="sources">The protocol clients.</param>
    /// <param name="upstreams">Upstream servers, asked in order.</param>
    public PullThroughResolver(ImageStore store, RemoteImageCopier copier, RemoteImageSources sources, IReadOnlyList<RemoteSource> upstreams)
    {
        _store = store ?? throw new ArgumentNullException(nameof(store));
        _copier = copier ?? throw new ArgumentNullException(nameof(copier));
        _sources = sources ?? throw new ArgumentNullException(nameof(sources));
        Upstreams = upstreams ?? throw new ArgumentNullException(nameof(upstreams));
    }

    /// <summary>The upstream servers, in the order they are asked.</summary>
    public IReadOnlyList<RemoteSource> Upstreams { get; }

    /// <summary>The image named by an alias or fingerprint (prefix): from the store, or fetched from the first upstream that has it.</summary>
    /// <param name="project">The local project.</param>
    /// <param name="aliasOrFingerprint">What the client asked for.</param>
    /// <param name="type"><c>container</c> or <c>virtual-machine</c> to pick an alias' image of that type; null for either.</param>
    /// <param name="cancellationToken">Stops waiting (the shared download goes on for the others).</param>
    /// <exception cref="Domain.ImageNotFoundException">No upstream has it either.</exception>
    /// <exception cref="ImageCopyException">An upstream has it but the fetch failed.</exception>
    public async Task<ImageRecord> GetOrFetchAsync(ProjectName project, string aliasOrFingerprint, string? type = null, CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrEmpty(aliasOrFingerprint);
        if (Local(project, aliasOrFingerprint) is { } local)
        {
            return local;
        }

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

        throw new Domain.ImageNotFoundException(aliasOrFingerprint);
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
}
