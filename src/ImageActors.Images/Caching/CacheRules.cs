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
/// An image is <b>in use</b>, and no rule removes it, while an alias points at it, an export is
/// reading its files, or an unpack is reading them. Aliases are read from the record (the
/// read model fills <see cref="ImageRecord.Aliases"/>); exports and unpacks are passed in as
/// <c>pinned</c>. So an image past its <c>expires_at</c> stays while an alias names it:
/// auto-update moves aliases to the newer image, after which the old one goes.
/// </remarks>
public static class CacheRules
{
    /// <summary>Whether no rule may remove <paramref name="image"/>.</summary>
    public static bool InUse(ImageRecord image, Func<ImageRecord, bool>? pinned)
    {
        ArgumentNullException.ThrowIfNull(image);
        return image.Aliases.Length > 0 || (pinned?.Invoke(image) ?? false);
    }

    /// <summary>The time a cached image's age counts from: its last use, or its upload when never used.</summary>
    public static DateTimeOffset LastTouched(ImageRecord image)
    {
        ArgumentNullException.ThrowIfNull(image);
        return image.WasUsed ? image.LastUsedAt : image.UploadedAt;
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

    /// <summary>Images whose <c>expires_at</c> is set and not after <paramref name="now"/>.</summary>
    public static IReadOnlyList<ImageRecord> PastExpiry(IEnumerable<ImageRecord> images, DateTimeOffset now, Func<ImageRecord, bool>? pinned = null)
    {
        ArgumentNullException.ThrowIfNull(images);
        return [.. images.Where(i => i.HasExpiry && i.ExpiresAt <= now && !InUse(i, pinned))];
    }

    /// <summary>
    /// The cached images to remove, least recently used first, until the bytes on disk are at most
    /// <paramref name="cacheMaxSize"/>. Images shared by several projects count once (one file).
    /// Zero or negative disables the rule. Images not cached are never evicted for space: the
    /// user put them there.
    /// </summary>
    public static IReadOnlyList<ImageRecord> OverQuota(IEnumerable<ImageRecord> images, long cacheMaxSize, Func<ImageRecord, bool>? pinned = null)
    {
        ArgumentNullException.ThrowIfNull(images);
        if (cacheMaxSize <= 0)
        {
            return [];
        }

        var all = images.ToList();
        var byFingerprint = all.GroupBy(i => i.Fingerprint).ToList();
        var total = byFingerprint.Sum(g => g.First().Size);
        if (total <= cacheMaxSize)
        {
            return [];
        }

        // A file goes only when every project's record of it goes, so evict whole fingerprints.
        var candidates = byFingerprint
            .Where(g => g.All(i => i.Cached && !InUse(i, pinned)))
            .OrderBy(g => g.Max(LastTouched))
            .ThenBy(g => g.Key);
        var evicted = new List<ImageRecord>();
        foreach (var group in candidates)
        {
            if (total <= cacheMaxSize)
            {
                break;
            }

            evicted.AddRange(group);
            total -= group.First().Size;
        }

        return evicted;
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
