namespace ImageActors.Images.Caching;

/// <summary>Why an image stays in the store, as the cache rules see it now, so that an operator can reason about the cache.</summary>
/// <param name="Cached">Fetched on a client's behalf: the cache rules apply. An image imported by hand is never removed by them.</param>
/// <param name="LastUsedAt">The last recorded use (export, file served), or null when never used.</param>
/// <param name="RemovableAfter">When the expiry rules remove it unless it is used again or pinned; null when they never do.</param>
/// <param name="RemovableBecause">Which rule sets <paramref name="RemovableAfter"/>: <c>unused for …</c> or <c>expires_at</c>.</param>
/// <param name="PinnedBy">Users' aliases pointing at it: while there is one, no rule removes it.</param>
/// <param name="FollowsImage">Aliases the store created when it fetched the image by that name: they go with it and keep nothing.</param>
/// <param name="SizeBounded">Whether <c>images.cache_max_size</c> may evict it (cached, unpinned, and a bound is set).</param>
public sealed record ImageRetention(
    bool Cached,
    DateTimeOffset? LastUsedAt,
    DateTimeOffset? RemovableAfter,
    string? RemovableBecause,
    IReadOnlyList<string> PinnedBy,
    IReadOnlyList<string> FollowsImage,
    bool SizeBounded)
{
    /// <summary>What the rules say of <paramref name="image"/> with these settings.</summary>
    public static ImageRetention Of(Domain.ImageRecord image, TimeSpan remoteCacheExpiry, long? cacheMaxSize)
    {
        ArgumentNullException.ThrowIfNull(image);
        var pinnedBy = CacheRules.PinningAliases(image).Select(a => a.Value).ToList();
        var follows = image.Aliases.Select(a => a.Name).Where(a => !CacheRules.Pins(image, a)).Select(a => a.Value).ToList();
        var after = CacheRules.RemovableAfter(image, remoteCacheExpiry);
        string? because = null;
        if (after is { } at)
        {
            because = image.HasExpiry && image.ExpiresAt == at
                ? "expires_at"
                : "unused for " + Describe(remoteCacheExpiry);
        }

        return new ImageRetention(
            image.Cached,
            image.WasUsed ? image.LastUsedAt : null,
            after,
            because,
            pinnedBy,
            follows,
            image.Cached && pinnedBy.Count == 0 && cacheMaxSize is > 0);
    }

    private static string Describe(TimeSpan span) =>
        span.TotalDays >= 1 && span.TotalDays == Math.Floor(span.TotalDays) ? $"{span.TotalDays:0}d"
        : span.TotalHours >= 1 && span.TotalHours == Math.Floor(span.TotalHours) ? $"{span.TotalHours:0}h"
        : span.TotalMinutes >= 1 && span.TotalMinutes == Math.Floor(span.TotalMinutes) ? $"{span.TotalMinutes:0}m"
        : $"{span.TotalSeconds:0.###}s";
}
