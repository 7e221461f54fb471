using ImageActors.Images.Domain;
using ImageActors.Remotes;

namespace ImageActors.Images.Remote;

/// <summary>
/// Auto-update's view of the remotes (spec §5.3): the alias an image was copied by is resolved again at its
/// recorded server; a different fingerprint is the newer image, fetched through the same verified path as a copy.
/// </summary>
public sealed class RemoteUpdateSource : IImageUpdateSource
{
    private readonly RemoteImageSources _sources;
    private readonly TimeProvider _clock;

    /// <summary>Creates the source over <paramref name="sources"/>.</summary>
    public RemoteUpdateSource(RemoteImageSources sources, TimeProvider? clock = null)
    {
        _sources = sources ?? throw new ArgumentNullException(nameof(sources));
        _clock = clock ?? TimeProvider.System;
    }

    /// <inheritdoc />
    /// <exception cref="ImageCopyException">The source cannot be reached or answers badly (an <see cref="IOException"/>, so one failing source does not stop the cycle).</exception>
    public async Task<(Streaming.Fingerprint Fingerprint, ImageFetch Fetch)?> FindNewerAsync(ImageRecord image, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(image);
        if (image.UpdateSource is not { Alias.Length: > 0 } recorded || recorded.Protocol == SourceProtocol.Direct)
        {
            return null;
        }

        var source = RemoteSource.From(recorded);
        var remote = _sources.Open(source);
        RemoteImage found;
        try
        {
            found = await remote.ResolveAliasAsync(recorded.Alias, recorded.ImageType.ToApiName(), cancellationToken).ConfigureAwait(false);
        }
        catch (Remotes.ImageNotFoundException)
        {
            return null;
        }
        catch (Exception e) when (e is RemoteException or HttpRequestException)
        {
            throw new ImageCopyException(recorded.Alias, remote.Server, e);
        }

        if (found.Fingerprint == image.Fingerprint)
        {
            return null;
        }

        // The store moves aliases, profiles, public and cached state over; the new record keeps the same source.
        var template = new RecordTemplate(image.Public, AutoUpdate: true, image.Cached, image.Profiles, recorded);
        var fetch = RemoteImageFetch.Create(remote, found, template, _clock, null);
        return (found.Fingerprint, new ImageFetch(async (blobs, token) =>
        {
            try
            {
                return await fetch.Fetch(blobs, token).ConfigureAwait(false);
            }
            catch (Exception e) when (e is RemoteException or HttpRequestException)
            {
                throw new ImageCopyException(recorded.Alias, remote.Server, e);
            }
        }, fetch.Description)
        { Progress = fetch.Progress });
    }
}
