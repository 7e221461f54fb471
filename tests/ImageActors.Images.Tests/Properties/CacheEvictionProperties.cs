using System.Collections.Immutable;
using CsCheck;
using ImageActors.Images.Caching;
using ImageActors.Images.Domain;
using ImageActors.Streaming;

namespace ImageActors.Images.Tests.Properties;

/// <summary>
/// The size bound's plan (<see cref="CacheRules.OverQuota"/>, the candidates the eviction pass walks) over generated
/// caches, against a model: files whose every record is cached and none pinned by a user's alias or held by an
/// export go, least recently used first, and no more once the cached bytes are within the bound.
/// </summary>
public sealed class CacheEvictionProperties
{
    private static readonly ProjectName Other = ProjectName.Parse("other");
    private static readonly AliasName StoreAlias = AliasName.Parse("fetched");
    private static readonly UpdateSource Upstream = new("https://upstream.invalid", SourceProtocol.SimpleStreams, StoreAlias.Value, string.Empty, ImageType.Container);

    /// <summary>One project's record of a file.</summary>
    private sealed record Holder(bool Cached, int? UsedMinute, bool UserAlias, bool StoreCreatedAlias, bool Held);

    /// <summary>One file: its size, when it was stored, and the projects holding it (one or two).</summary>
    private sealed record CachedFile(int Id, long Size, int UploadedMinute, Holder[] Holders);

    private static readonly Gen<Holder> GenHolder = Gen.Select(
        Gen.Frequency((4, Gen.Const(true)), (1, Gen.Const(false))),
        Gen.Frequency((3, Gen.Int[0, 20].Select(m => (int?)m)), (1, Gen.Const((int?)null))),
        Gen.Frequency((1, Gen.Const(true)), (5, Gen.Const(false))),
        Gen.Bool,
        Gen.Frequency((1, Gen.Const(true)), (5, Gen.Const(false))),
        (cached, used, user, store, held) => new Holder(cached, used, user, store, held));

    private static readonly Gen<CachedFile[]> GenCache =
        Gen.Select(Gen.Long[1, 50], Gen.Int[0, 20], GenHolder.Array[1, 2])
        .Array[0, 10]
        .Select(files => files.Select((f, i) => new CachedFile(i, f.Item1, f.Item2, f.Item3)).ToArray());

    [Fact]
    public void The_size_bound_takes_the_least_recently_used_unpinned_unheld_files_first_and_stops_once_within_the_bound()
    {
        Gen.Select(GenCache, Gen.Long[1, 300]).Sample(
            (files, bound) =>
            {
                var (records, held) = Records(files);
                var planned = CacheRules.OverQuota(records, bound, held.Contains);
                var expected = ModelPlan(files, bound);

                // Whole files, in the model's order; each file's records together.
                Assert.Equal(expected, planned.Select(r => r.Fingerprint).Distinct().ToList());
                Assert.Equal(planned.Count, planned.Select(r => (r.Project, r.Fingerprint)).Distinct().Count());
                foreach (var fp in expected)
                {
                    Assert.Equal(records.Count(r => r.Fingerprint == fp), planned.Count(r => r.Fingerprint == fp));
                }

                // The full plan of the rules (no expiry set) gives the same images, each for the size bound.
                var full = CacheRules.Plan(records, TimeSpan.Zero, bound, Images.Epoch.AddDays(1), held.Contains);
                Assert.All(full, e => Assert.Equal(EvictionReason.OverQuota, e.Reason));
                Assert.Equal(planned.Select(r => (r.Project, r.Fingerprint)), full.Select(e => (e.Image.Project, e.Image.Fingerprint)));
            },
            iter: 2000,
            print: t => $"bound {t.Item2}: [{string.Join("; ", t.Item1.Select(f => $"#{f.Id} {f.Size} B up {f.UploadedMinute} [{string.Join(", ", f.Holders.Select(h => h.ToString()))}]"))}]");
    }

    private static Fingerprint FingerprintOf(int id) => Images.Fp("e", id.ToString(System.Globalization.CultureInfo.InvariantCulture));

    private static DateTimeOffset At(int minute) => Images.Epoch.AddMinutes(minute);

    private static (List<ImageRecord> Records, HashSet<ImageRecord> Held) Records(CachedFile[] files)
    {
        var records = new List<ImageRecord>();
        var held = new HashSet<ImageRecord>(ReferenceEqualityComparer.Instance);
        foreach (var file in files)
        {
            for (var h = 0; h < file.Holders.Length; h++)
            {
                var holder = file.Holders[h];
                var aliases = ImmutableArray.CreateBuilder<ImageAliasRef>();
                if (holder.StoreCreatedAlias)
                {
                    aliases.Add(new ImageAliasRef(StoreAlias, string.Empty));
                }

                if (holder.UserAlias)
                {
                    aliases.Add(new ImageAliasRef(AliasName.Parse("mine"), string.Empty));
                }

                var record = Images.Record(
                    FingerprintOf(file.Id),
                    project: h == 0 ? ProjectName.Default.Value : Other.Value,
                    cached: holder.Cached,
                    size: file.Size,
                    uploaded: At(file.UploadedMinute),
                    lastUsed: holder.UsedMinute is { } used ? At(used) : null) with
                {
                    Aliases = aliases.ToImmutable(),
                    UpdateSource = holder.StoreCreatedAlias ? Upstream : null,
                };
                records.Add(record);
                if (holder.Held)
                {
                    held.Add(record);
                }
            }
        }

        return (records, held);
    }

    // The model: cached bytes count files every holder caches; a file may go when every holder caches it and none
    // pins it (a user's alias, or an export) — the alias the store made for a cached fetch does not pin.
    private static List<Fingerprint> ModelPlan(CachedFile[] files, long bound)
    {
        static bool AllCached(CachedFile f) => f.Holders.All(h => h.Cached);
        static DateTimeOffset Touched(CachedFile f) => f.Holders.Max(h => h.UsedMinute is { } used ? At(used) : At(f.UploadedMinute));
        var total = files.Where(AllCached).Sum(f => f.Size);
        var candidates = files
            .Where(f => AllCached(f) && f.Holders.All(h => !h.UserAlias && !h.Held))
            .OrderBy(Touched)
            .ThenBy(f => FingerprintOf(f.Id))
            .ToList();
        var plan = new List<Fingerprint>();
        foreach (var file in candidates)
        {
            if (total <= bound)
            {
                break;
            }

            plan.Add(FingerprintOf(file.Id));
            total -= file.Size;
        }

        return plan;
    }
}
