using ImageActors.Images.Caching;
using ImageActors.Images.Domain;

namespace ImageActors.Images.Tests.Caching;

public sealed class CacheRulesTests
{
    private static readonly DateTimeOffset Now = Images.Epoch.AddDays(30);
    private static readonly TimeSpan TenDays = TimeSpan.FromDays(10);

    [Fact]
    public void Cached_images_unused_for_longer_than_the_expiry_are_pruned_by_last_use()
    {
        var stale = Images.Record(Images.Fp("01"), cached: true, lastUsed: Now.AddDays(-11));
        var fresh = Images.Record(Images.Fp("02"), cached: true, lastUsed: Now.AddDays(-9));
        var neverUsedOld = Images.Record(Images.Fp("03"), cached: true, uploaded: Now.AddDays(-11));
        var neverUsedNew = Images.Record(Images.Fp("04"), cached: true, uploaded: Now.AddDays(-1));
        var notCached = Images.Record(Images.Fp("05"), cached: false, uploaded: Now.AddDays(-100));

        var expired = CacheRules.ExpiredCached([stale, fresh, neverUsedOld, neverUsedNew, notCached], TenDays, Now);

        Assert.Equal([stale, neverUsedOld], expired);
    }

    [Fact]
    public void A_zero_expiry_disables_pruning() =>
        Assert.Empty(CacheRules.ExpiredCached([Images.Record(Images.Fp("01"), cached: true, uploaded: Now.AddYears(-1))], TimeSpan.Zero, Now));

    [Fact]
    public void Cached_images_past_their_expires_at_are_removed_but_images_imported_by_hand_are_not()
    {
        var past = Images.Record(Images.Fp("01"), cached: true, expires: Now.AddSeconds(-1));
        var future = Images.Record(Images.Fp("02"), cached: true, expires: Now.AddDays(1));
        var never = Images.Record(Images.Fp("03"), cached: true);
        var mine = Images.Record(Images.Fp("04"), cached: false, expires: Now.AddDays(-1));
        Assert.Equal([past], CacheRules.PastExpiry([past, future, never, mine], Now));
    }

    [Fact]
    public void The_alias_the_store_created_for_a_cached_fetch_does_not_keep_the_image_but_a_users_alias_does()
    {
        var source = new UpdateSource("https://upstream", SourceProtocol.Incus, "debian/12", "", ImageType.Container);
        var fetched = Images.Record(Images.Fp("01"), cached: true, size: 10, uploaded: Now.AddDays(-50)) with
        {
            UpdateSource = source,
            Aliases = [new ImageAliasRef(AliasName.Parse("debian/12"), "")],
        };
        var pinned = fetched with { Fingerprint = Images.Fp("02"), Aliases = [.. fetched.Aliases, new ImageAliasRef(AliasName.Parse("mine"), "")] };

        Assert.Equal([fetched], CacheRules.ExpiredCached([fetched, pinned], TenDays, Now));
        Assert.Equal([fetched], CacheRules.OverQuota([fetched, pinned], 15));
        Assert.Equal(["mine"], CacheRules.PinningAliases(pinned).Select(a => a.Value));
    }

    [Fact]
    public void An_alias_the_cache_made_for_an_image_first_fetched_by_fingerprint_does_not_keep_it_but_a_users_alias_does()
    {
        // Fetched by fingerprint (no update source), later named by the upstream alias the cache fetched it for.
        var fetched = Images.Record(Images.Fp("01"), cached: true, size: 10, uploaded: Now.AddDays(-50)) with
        {
            Aliases = [new ImageAliasRef(AliasName.Parse("debian/12"), "")],
            CacheAliases = [AliasName.Parse("debian/12")],
        };
        var pinned = fetched with { Fingerprint = Images.Fp("02"), Aliases = [.. fetched.Aliases, new ImageAliasRef(AliasName.Parse("mine"), "")] };
        var handImported = fetched with { Fingerprint = Images.Fp("03"), Cached = false };

        Assert.False(CacheRules.Pins(fetched, AliasName.Parse("debian/12")));
        Assert.Equal([fetched], CacheRules.ExpiredCached([fetched, pinned, handImported], TenDays, Now));
        Assert.Equal([fetched], CacheRules.OverQuota([fetched, pinned, handImported], 15));
        Assert.Equal(["mine"], CacheRules.PinningAliases(pinned).Select(a => a.Value));
        Assert.Equal(["debian/12"], CacheRules.PinningAliases(handImported).Select(a => a.Value));
    }

    [Fact]
    public void Images_in_use_are_never_removed()
    {
        var aliased = Images.Record(Images.Fp("01"), cached: true, uploaded: Now.AddDays(-50), expires: Now.AddDays(-1)) with
        {
            Aliases = [new ImageAliasRef(AliasName.Parse("keep"), "")],
        };
        var exported = Images.Record(Images.Fp("02"), cached: true, uploaded: Now.AddDays(-50), expires: Now.AddDays(-1));
        bool Pinned(ImageRecord r) => r.Fingerprint == exported.Fingerprint;

        Assert.Empty(CacheRules.ExpiredCached([aliased, exported], TenDays, Now, Pinned));
        Assert.Empty(CacheRules.PastExpiry([aliased, exported], Now, Pinned));
        Assert.Empty(CacheRules.OverQuota([aliased, exported], 1, Pinned));
        Assert.Empty(CacheRules.Plan([aliased, exported], TenDays, 1, Now, Pinned));
    }

    [Fact]
    public void Over_quota_evicts_least_recently_used_cached_images_until_under()
    {
        var oldest = Images.Record(Images.Fp("01"), cached: true, size: 40, lastUsed: Now.AddDays(-3));
        var middle = Images.Record(Images.Fp("02"), cached: true, size: 40, lastUsed: Now.AddDays(-2));
        var newest = Images.Record(Images.Fp("03"), cached: true, size: 40, lastUsed: Now.AddDays(-1));
        var mine = Images.Record(Images.Fp("04"), cached: false, size: 40, uploaded: Now.AddDays(-100));

        // 120 cached bytes against a 70-byte bound: two cached images go, oldest first; the user's own neither goes nor counts.
        Assert.Equal([oldest, middle], CacheRules.OverQuota([newest, mine, middle, oldest], 70));
        Assert.Equal([oldest], CacheRules.OverQuota([newest, mine, middle, oldest], 90));
        Assert.Empty(CacheRules.OverQuota([newest, mine, middle, oldest], 120));
        Assert.Empty(CacheRules.OverQuota([newest, mine, middle, oldest], 0));
    }

    [Fact]
    public void A_file_shared_by_two_projects_counts_once_and_goes_only_with_both_records()
    {
        var fp = Images.Fp("01");
        var inDefault = Images.Record(fp, cached: true, size: 100, lastUsed: Now.AddDays(-5));
        var inOther = Images.Record(fp, project: "other", cached: false, size: 100);
        var other = Images.Record(Images.Fp("02"), cached: true, size: 50, lastUsed: Now.AddDays(-1));

        // The shared file is one project's own (held uncached there): it neither goes nor counts; 50 cached bytes remain.
        Assert.Equal([other], CacheRules.OverQuota([inDefault, inOther, other], 40));
        Assert.Empty(CacheRules.OverQuota([inDefault, inOther, other], 50));
        Assert.Equal(50, CacheRules.CachedSize([inDefault, inOther, other]));

        // Cached in both projects, the file counts once and goes with both records.
        var cachedInOther = inOther with { Cached = true };
        Assert.Equal(150, CacheRules.CachedSize([inDefault, cachedInOther, other]));
        Assert.Equal([inDefault, cachedInOther], CacheRules.OverQuota([inDefault, cachedInOther, other], 120));
    }

    [Fact]
    public void The_plan_names_each_image_once_with_its_reason()
    {
        var expired = Images.Record(Images.Fp("01"), cached: true, size: 10, uploaded: Now.AddDays(-20), expires: Now.AddDays(-1));
        var pastEol = Images.Record(Images.Fp("02"), cached: true, size: 10, lastUsed: Now.AddDays(-1), expires: Now.AddDays(-1));
        var lru = Images.Record(Images.Fp("03"), cached: true, size: 100, lastUsed: Now.AddDays(-2));
        var recent = Images.Record(Images.Fp("04"), cached: true, size: 100, lastUsed: Now.AddDays(-1));

        var plan = CacheRules.Plan([expired, pastEol, lru, recent], TenDays, 150, Now);

        Assert.Equal(
            [(expired, EvictionReason.CacheExpired), (pastEol, EvictionReason.PastExpiry), (lru, EvictionReason.OverQuota)],
            plan.Select(p => (p.Image, p.Reason)));
    }
}
