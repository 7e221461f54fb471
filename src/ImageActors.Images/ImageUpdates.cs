using ImageActors.Images.Domain;
using ImageActors.Streaming.Storage;

namespace ImageActors.Images;

/// <summary>Fetches an image whose fingerprint is known into the blob store (a download), returning its files and record.</summary>
/// <param name="Fetch">Writes and commits the files; the record it returns is stored as is.</param>
/// <param name="Description">What is fetched from where, for errors.</param>
public sealed record ImageFetch(Func<BlobStore, CancellationToken, Task<(StoredImage Files, ImageRecord Record)>> Fetch, string Description)
{
    /// <summary>
    /// Where the fetch reports how far it got. Callers wait for a download as long as it moves: a fetch that reports
    /// nothing must end within the store's stall bound.
    /// </summary>
    public ProgressMeter Progress { get; init; } = new();
}

/// <summary>Counts the moves of a piece of work (bytes received, entries written), so that whoever waits for it can tell a slow job from a stuck one.</summary>
public sealed class ProgressMeter
{
    private long _processed = -1;
    private long _moves;

    /// <summary>The work reached <paramref name="processed"/> (bytes or items; a new file may start again from zero).</summary>
    public void Report(long processed)
    {
        if (Interlocked.Exchange(ref _processed, processed) != processed)
        {
            Interlocked.Increment(ref _moves);
        }
    }

    /// <summary>How many times the work moved so far; a waiter compares two readings.</summary>
    public long Moves => Interlocked.Read(ref _moves);
}

/// <summary>The writable set of an image (Incus' <c>ImagePut</c>).</summary>
/// <param name="Public">Visible to untrusted clients.</param>
/// <param name="AutoUpdate">Refreshed by auto-update.</param>
/// <param name="Properties">Replaces all properties.</param>
/// <param name="ExpiresAt">Expiry; <see cref="DateTimeOffset.MinValue"/> keeps the existing value, as Incus does.</param>
/// <param name="Profiles">Profiles; null means <c>["default"]</c>.</param>
public sealed record ImagePut(bool Public, bool AutoUpdate, IReadOnlyDictionary<string, string> Properties, DateTimeOffset ExpiresAt = default, IReadOnlyList<string>? Profiles = null);

/// <summary>A partial update (Incus' PATCH): only the given keys change; properties are merged.</summary>
/// <param name="Public">New <c>public</c>, or null to keep.</param>
/// <param name="AutoUpdate">New <c>auto_update</c>, or null to keep.</param>
/// <param name="Properties">Properties to set (others are kept), or null.</param>
public sealed record ImagePatch(bool? Public = null, bool? AutoUpdate = null, IReadOnlyDictionary<string, string>? Properties = null);

/// <summary>
/// Where auto-update looks for newer images (the remotes layer implements it: it resolves the
/// image's <c>update_source</c> alias at its server).
/// </summary>
public interface IImageUpdateSource
{
    /// <summary>The newest image the source's alias names now, with how to fetch it; null when the source has nothing.</summary>
    Task<(Streaming.Fingerprint Fingerprint, ImageFetch Fetch)?> FindNewerAsync(ImageRecord image, CancellationToken cancellationToken);
}
