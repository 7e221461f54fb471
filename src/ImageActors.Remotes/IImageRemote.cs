namespace ImageActors.Remotes;

/// <summary>
/// A remote image server, whatever its protocol (Incus/LXD REST, SimpleStreams, plain URL):
/// resolve an alias or fingerprint to an image, list images, and download an image's files.
/// </summary>
public interface IImageRemote : IDisposable
{
    /// <summary>The server URL.</summary>
    Uri Server { get; }

    /// <summary>Protocol name as Incus records it: <c>incus</c>, <c>lxd</c>, <c>simplestreams</c> or <c>direct</c>.</summary>
    string Protocol { get; }

    /// <summary>Resolves an alias; with <paramref name="type"/> only an alias of that image type matches.</summary>
    /// <exception cref="ImageNotFoundException">No such alias.</exception>
    Task<RemoteImage> ResolveAliasAsync(string alias, string? type = null, CancellationToken cancellationToken = default);

    /// <summary>Finds an image by full fingerprint or unique prefix.</summary>
    /// <exception cref="ImageNotFoundException">No image matches.</exception>
    Task<RemoteImage> GetImageAsync(string fingerprint, CancellationToken cancellationToken = default);

    /// <summary>Lists the images the remote shows us.</summary>
    Task<IReadOnlyList<RemoteImage>> ListImagesAsync(CancellationToken cancellationToken = default);

    /// <summary>
    /// Downloads the image's files into <paramref name="tempDirectory"/>, verified against their
    /// hashes and the fingerprint. The caller commits or deletes the files.
    /// </summary>
    Task<DownloadedImage> DownloadAsync(RemoteImage image, string tempDirectory, IProgress<Download.DownloadProgress>? progress = null, CancellationToken cancellationToken = default);
}

/// <summary>Resolution the way the daemon does it: as an alias first, then as a fingerprint prefix.</summary>
public static class ImageRemoteExtensions
{
    /// <summary>Resolves <paramref name="aliasOrFingerprint"/> as an alias, and when there is none as a fingerprint.</summary>
    public static async Task<RemoteImage> FindImageAsync(this IImageRemote remote, string aliasOrFingerprint, string? type = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(remote);
        try
        {
            return await remote.ResolveAliasAsync(aliasOrFingerprint, type, cancellationToken).ConfigureAwait(false);
        }
        catch (ImageNotFoundException) when (Streaming.Fingerprint.IsValidPrefix(aliasOrFingerprint))
        {
            return await remote.GetImageAsync(aliasOrFingerprint, cancellationToken).ConfigureAwait(false);
        }
    }
}
