using ImageActors.Images.Domain;

namespace ImageActors.Images.Caching;

/// <summary>Why an image is to be removed by the cache rules.</summary>
public enum EvictionReason
{
    /// <summary>A cached image unused for longer than <c>images.remote_cache_expiry</c>.</summary>
    CacheExpired,

    /// <summary>Its <c>expires_at</c> has passed (Incus documents this but does not enforce it; we do).</summary>
    PastExpiry,

    /// <summary>The store is over <c>images.cache_max_size</c> and it is the least recently used cached image.</summary>
    OverQuota,
}

/// <summary>One image the cache rules remove, and why.</summary>
public sealed record Eviction(ImageRecord Image, EvictionReason Reason);

/// <summary>
/// The cache rules of spec §5.2 as pure functions over image records.
/// </summary>
/// <remarks>
/// Every rule is a rule for <b>cached</b> images (fetched from a remote on a client's behalf): an image a user imported
/// or copied by hand is never removed behind their back. A cached image is <b>in use</b>, and no rule removes it, while
/// a user's alias points at it or an export or unpack is reading its files (passed in as <c>pinned</c>). An alias the
/// store itself created when it fetched the image by that alias (<see cref="UpdateSource.Alias"/>, or one of
/// <see cref="ImageRecord.CacheAliases"/> when the image was first fetched otherwise) is not a user's: it follows its
/// image's fate. So an image past its <c>expires_at</c> stays while a user's alias names it: auto-update
/// moves aliases to the newer image, after which the old one goes.
/// </remarks>
public static class CacheRules
{
    /// <summary>
    /// Whether <paramref name="alias"/> keeps <paramref name="image"/>: every alias does, except those the store created
    /// for a cached fetch (the alias the image was fetched by, and any the cache later named it by for an upstream alias).
    /// </summary>
    public static bool Pins(ImageRecord image, AliasName alias)
    {
        ArgumentNullException.ThrowIfNull(image);
        return !(image.Cached && (FetchedBy(image, alias) || image.CacheAliases.Contains(alias)));
    }

    private static bool FetchedBy(ImageRecord image, AliasName alias) =>
        image.UpdateSource is { Alias.Length: > 0 } source && string.Equals(source.Alias, alias.Value, StringComparison.Ordinal);

    /// <summary>The aliases that keep <paramref name="image"/> (users' aliases), by name.</summary>
    public static IReadOnlyList<AliasName> PinningAliases(ImageRecord image)
    {
        ArgumentNullException.ThrowIfNull(image);
        return [.. image.Aliases.Select(a => a.Name).Where(a => Pins(image, a))];
    }

    /// <summary>Whether no rule may remove <paramref name="image"/>.</summary>
    public static bool InUse(ImageRecord image, Func<ImageRecord, bool>? pinned)
    {
        ArgumentNullException.ThrowIfNull(image);
        return image.Aliases.Any(a => Pins(image, a.Name)) || (pinned?.Invoke(image) ?? false);
    }

    /// <summary>The time a cached image's age counts from: its last use, or its upload when never used.</summary>
    public static DateTimeOffset LastTouched(ImageRecord image)
    {
        ArgumentNullException.ThrowIfNull(image);
        return image.WasUsed ? image.LastUsedAt : image.UploadedAt;
    }

    /// <summary>
    /// When the expiry rules would remove <paramref name="image"/> if it is not used again (the earlier of last use +
    /// <paramref name="remoteCacheExpiry"/> and its <c>expires_at</c>), or null when no rule applies (not cached, or
    /// neither rule set). Says nothing of aliases or exports that keep it.
    /// </summary>
    public static DateTimeOffset? RemovableAfter(ImageRecord image, TimeSpan remoteCacheExpiry)
    {
        ArgumentNullException.ThrowIfNull(image);
        if (!image.Cached)
        {
            return null;
        }

        DateTimeOffset? unused = remoteCacheExpiry > TimeSpan.Zero ? LastTouched(image) + remoteCacheExpiry : null;
        DateTimeOffset? expires = image.HasExpiry ? image.ExpiresAt : null;
        return unused is { } u && expires is { } e ? (u < e ? u : e) : unused ?? expires;
    }

    /// <summary>
    /// Cached images whose last use (or upload) is more than <paramref name="remoteCacheExpiry"/>
    /// ago. A zero or negative expiry disables the rule, as in Incus.
    /// </summary>
    public static IReadOnlyList<ImageRecord> ExpiredCached(IEnumerable<ImageRecord> images, TimeSpan remoteCacheExpiry, DateTimeOffset now, Func<ImageRecord, bool>? pinned = null)
    {
        ArgumentNullException.ThrowIfNull(images);
        if (remoteCacheExpiry <= TimeSpan.Zero)
        {
            return [];
        }

        return [.. images.Where(i => i.Cached && LastTouched(i) + remoteCacheExpiry < now && !InUse(i, pinned))];
    }

    /// <summary>Cached images whose <c>expires_at</c> is set and not after <paramref name="now"/>.</summary>
    public static IReadOnlyList<ImageRecord> PastExpiry(IEnumerable<ImageRecord> images, DateTimeOffset now, Func<ImageRecord, bool>? pinned = null)
    {
        ArgumentNullException.ThrowIfNull(images);
        return [.. images.Where(i => i.Cached && i.HasExpiry && i.ExpiresAt <= now && !InUse(i, pinned))];
    }

    /// <summary>
    /// The bytes the cache holds: the files of cached images, each file once (several projects may share one). A file
    /// some project holds uncached is that user's, not the cache's, and does not count.
    /// </summary>
    public static long CachedSize(IEnumerable<ImageRecord> images)
    {
        ArgumentNullException.ThrowIfNull(images);
        return images.GroupBy(i => i.Fingerprint).Where(g => g.All(i => i.Cached)).Sum(g => g.First().Size);
    }

    /// <summary>
    /// The cached images to remove, least recently used first, until the cached bytes (<see cref="CachedSize"/>) are at
    /// most <paramref name="cacheMaxSize"/>. Zero or negative disables the rule. Images not cached are never evicted
    /// for space, and do not count against it: the user put them there.
    /// </summary>
    public static IReadOnlyList<ImageRecord> OverQuota(IEnumerable<ImageRecord> images, long cacheMaxSize, Func<ImageRecord, bool>? pinned = null)
    {
        ArgumentNullException.ThrowIfNull(images);
        if (cacheMaxSize <= 0)
        {
            return [];
        }

        var total = CachedSize(images);
        var evicted = new List<ImageRecord>();
        foreach (var group in SizeCandidates(images, pinned))
        {
            if (total <= cacheMaxSize)
            {
                break;
            }

            evicted.AddRange(group);
            total -= group[0].Size;
        }

        return evicted;
    }

    /// <summary>
    /// The cached files the size bound may take, least recently used first: each fingerprint's records together (a file
    /// goes only when every project's record of it goes), none of them in use.
    /// </summary>
    public static IReadOnlyList<IReadOnlyList<ImageRecord>> SizeCandidates(IEnumerable<ImageRecord> images, Func<ImageRecord, bool>? pinned = null)
    {
        ArgumentNullException.ThrowIfNull(images);
        return [.. images.GroupBy(i => i.Fingerprint)
            .Where(g => g.All(i => i.Cached && !InUse(i, pinned)))
            .OrderBy(g => g.Max(LastTouched))
            .ThenBy(g => g.Key)
            .Select(g => (IReadOnlyList<ImageRecord>)[.. g])];
    }

    /// <summary>All three rules together, each image once, with the first reason that applies.</summary>
    public static IReadOnlyList<Eviction> Plan(IReadOnlyCollection<ImageRecord> images, TimeSpan remoteCacheExpiry, long cacheMaxSize, DateTimeOffset now, Func<ImageRecord, bool>? pinned = null)
    {
        ArgumentNullException.ThrowIfNull(images);
        var plan = new List<Eviction>();
        var chosen = new HashSet<(ProjectName, Streaming.Fingerprint)>();
        foreach (var image in ExpiredCached(images, remoteCacheExpiry, now, pinned))
        {
            if (chosen.Add((image.Project, image.Fingerprint)))
            {
                plan.Add(new Eviction(image, EvictionReason.CacheExpired));
            }
        }

        foreach (var image in PastExpiry(images, now, pinned))
        {
            if (chosen.Add((image.Project, image.Fingerprint)))
            {
                plan.Add(new Eviction(image, EvictionReason.PastExpiry));
            }
        }

        var remaining = images.Where(i => !chosen.Contains((i.Project, i.Fingerprint))).ToList();
        foreach (var image in OverQuota(remaining, cacheMaxSize, pinned))
        {
            if (chosen.Add((image.Project, image.Fingerprint)))
            {
                plan.Add(new Eviction(image, EvictionReason.OverQuota));
            }
        }

        return plan;
    }
}
