using System.Collections.Immutable;
using ImageActors.Images.Domain;
using ImageActors.Images.Events;
using ImageActors.Images.Filtering;
using ImageActors.Streaming;

namespace ImageActors.Images.ReadModel;

/// <summary>How a fingerprint prefix resolved.</summary>
public enum PrefixMatch
{
    /// <summary>No image starts with it.</summary>
    None,

    /// <summary>Exactly one image starts with it.</summary>
    Unique,

    /// <summary>More than one image starts with it.</summary>
    Ambiguous,
}

/// <summary>
/// The read model of images and aliases: a projection of the catalog events that answers list,
/// filter, prefix and alias queries without asking the entity actors.
/// </summary>
/// <remarks>
/// Readers see an immutable view (persistent AVL trees) that the writer replaces with one
/// reference swap, so a read never waits and never sees half an update. Exactly one writer
/// applies events (the feed); applying one event costs O(log n), a batch builds one new view.
/// </remarks>
public sealed class ImageCatalog
{
    private static readonly Fingerprint Highest = new([.. Enumerable.Repeat((byte)0xff, Fingerprint.ByteLength)]);

    private View _view;

    /// <summary>An empty catalog at ordering 0.</summary>
    public ImageCatalog()
        : this(new View(ImmutableSortedSet.Create<ImageRecord>(ImageKeyComparer.Instance), ImmutableSortedDictionary<AliasKey, AliasRecord>.Empty, 0))
    {
    }

    private ImageCatalog(View view) => _view = view;

    /// <summary>The journal ordering of the last event applied (the offset to resume from).</summary>
    public long Ordering => Volatile.Read(ref _view).Ordering;

    /// <summary>The ordering of the snapshot this catalog was built from (0 when it was built from the events alone).</summary>
    public long SnapshotOrdering { get; private init; }

    /// <summary>
    /// An opaque identity of the current view, compared by reference: it is replaced by every write that a
    /// reader could notice, so anything derived from a read made after taking it (a serialized list, say) may be
    /// reused for as long as <see cref="Version"/> still returns the same object.
    /// </summary>
    public object Version => Volatile.Read(ref _view);

    /// <summary>How many image records (all projects).</summary>
    public int ImageCount => Volatile.Read(ref _view).Images.Count;

    /// <summary>How many aliases (all projects).</summary>
    public int AliasCount => Volatile.Read(ref _view).Aliases.Count;

    /// <summary>Builds a catalog from a snapshot.</summary>
    public static ImageCatalog FromSnapshot(CatalogSnapshot snapshot)
    {
        ArgumentNullException.ThrowIfNull(snapshot);
        var images = ImmutableSortedSet.CreateRange(ImageKeyComparer.Instance, snapshot.Images);
        var aliases = ImmutableSortedDictionary.CreateRange(snapshot.Aliases.Select(a => KeyValuePair.Create(new AliasKey(a.Project, a.Name), a)));
        return new ImageCatalog(new View(images, aliases, snapshot.Ordering)) { SnapshotOrdering = snapshot.Ordering };
    }

    /// <summary>The current content, with the ordering it covers.</summary>
    public CatalogSnapshot ToSnapshot()
    {
        var view = Volatile.Read(ref _view);
        return new CatalogSnapshot(view.Ordering, [.. view.Sorted()], [.. view.Aliases.Values]);
    }

    /// <summary>Applies one journal event at its global <paramref name="ordering"/>; events at or below <see cref="Ordering"/> are skipped (already applied).</summary>
    public void Apply(long ordering, object payload) => ApplyBatch([(ordering, payload)]);

    /// <summary>Applies journal events (global ordering, event) in order and publishes the result as one new view.</summary>
    public void ApplyBatch(IEnumerable<(long Ordering, object Payload)> envelopes)
    {
        ArgumentNullException.ThrowIfNull(envelopes);
        var view = Volatile.Read(ref _view);
        var images = view.Images.ToBuilder();
        var aliases = view.Aliases.ToBuilder();
        var ordering = view.Ordering;
        foreach (var envelope in envelopes)
        {
            if (envelope.Ordering <= ordering)
            {
                continue;
            }

            ordering = envelope.Ordering;
            Project(images, aliases, envelope.Payload);
        }

        if (ordering != view.Ordering)
        {
            Volatile.Write(ref _view, new View(images.ToImmutable(), aliases.ToImmutable(), ordering));
        }
    }

    /// <summary>Applies events that carry no journal ordering (tests, in-process feeds); <see cref="Ordering"/> is unchanged.</summary>
    public void ApplyEvents(IEnumerable<object> events)
    {
        ArgumentNullException.ThrowIfNull(events);
        var view = Volatile.Read(ref _view);
        var images = view.Images.ToBuilder();
        var aliases = view.Aliases.ToBuilder();
        foreach (var e in events)
        {
            Project(images, aliases, e);
        }

        Volatile.Write(ref _view, new View(images.ToImmutable(), aliases.ToImmutable(), view.Ordering));
    }

    /// <summary>The image with exactly this fingerprint, or null.</summary>
    public ImageRecord? Find(ProjectName project, Fingerprint fingerprint) =>
        Volatile.Read(ref _view).Images.TryGetValue(ImageKeyComparer.Probe(project, fingerprint), out var found) ? found : null;

    /// <summary>Resolves a fingerprint prefix (1–64 hex digits) within a project.</summary>
    /// <exception cref="InvalidFingerprintException">The prefix is not hex.</exception>
    public PrefixMatch MatchPrefix(ProjectName project, string prefix, out ImageRecord? image)
    {
        ArgumentNullException.ThrowIfNull(prefix);
        image = null;
        if (!Fingerprint.IsValidPrefix(prefix))
        {
            throw new InvalidFingerprintException(prefix);
        }

        var images = Volatile.Read(ref _view).Images;
        var lower = LowerBound(prefix);
        var index = images.IndexOf(ImageKeyComparer.Probe(project, lower));
        if (index < 0)
        {
            index = ~index;
        }

        var hits = 0;
        for (; index < images.Count && hits < 2; index++)
        {
            var candidate = images[index];
            if (candidate.Project != project || !candidate.Fingerprint.StartsWith(prefix))
            {
                break;
            }

            image ??= candidate;
            hits++;
        }

        return hits switch
        {
            0 => PrefixMatch.None,
            1 => PrefixMatch.Unique,
            _ => PrefixMatch.Ambiguous,
        };
    }

    /// <summary>The one image whose fingerprint starts with <paramref name="prefix"/>.</summary>
    /// <exception cref="ImageNotFoundException">None does (or the prefix is not hex).</exception>
    /// <exception cref="AmbiguousFingerprintException">Several do.</exception>
    public ImageRecord GetByPrefix(ProjectName project, string prefix)
    {
        ArgumentNullException.ThrowIfNull(prefix);
        if (!Fingerprint.IsValidPrefix(prefix))
        {
            throw new ImageNotFoundException(prefix);
        }

        return MatchPrefix(project, prefix, out var image) switch
        {
            PrefixMatch.Unique => image!,
            PrefixMatch.Ambiguous => throw new AmbiguousFingerprintException(prefix),
            _ => throw new ImageNotFoundException(prefix),
        };
    }

    /// <summary>
    /// Resolves what a user typed: an alias name first (as the Incus client does), then a
    /// fingerprint or unique prefix.
    /// </summary>
    public ImageRecord Resolve(ProjectName project, string fingerprintOrAlias)
    {
        ArgumentNullException.ThrowIfNull(fingerprintOrAlias);
        if (AliasName.TryParse(fingerprintOrAlias, out var name) && FindAlias(project, name) is { } alias &&
            Find(project, alias.Target) is { } target)
        {
            return target;
        }

        return GetByPrefix(project, fingerprintOrAlias);
    }

    /// <summary>The images of <paramref name="project"/> (or of every project when null) that match <paramref name="filter"/>, by fingerprint.</summary>
    public IReadOnlyList<ImageRecord> List(ProjectName? project = null, ImageFilter? filter = null)
    {
        var all = Volatile.Read(ref _view).Sorted();
        var range = new ArraySegment<ImageRecord>(all);
        if (project is { } p)
        {
            var start = Array.BinarySearch(all, ImageKeyComparer.Probe(p, default), ImageKeyComparer.Instance);
            start = start < 0 ? ~start : start;
            var end = start;
            while (end < all.Length && all[end].Project == p)
            {
                end++;
            }

            range = new ArraySegment<ImageRecord>(all, start, end - start);
        }

        return filter is null ? [.. range] : [.. range.Where(filter.Matches)];
    }

    /// <summary>The projects holding a record of <paramref name="fingerprint"/> (they share its files).</summary>
    public IReadOnlyList<ProjectName> ProjectsHolding(Fingerprint fingerprint)
    {
        var images = Volatile.Read(ref _view).Images;
        var projects = new List<ProjectName>();
        var index = 0;
        while (index < images.Count)
        {
            // Hop from project to project: O(projects · log n), not a scan of every image.
            var project = images[index].Project;
            if (images.Contains(ImageKeyComparer.Probe(project, fingerprint)))
            {
                projects.Add(project);
            }

            var last = images.IndexOf(ImageKeyComparer.Probe(project, Highest));
            index = last < 0 ? ~last : last + 1;
        }

        return projects;
    }

    /// <summary>The alias, or null.</summary>
    public AliasRecord? FindAlias(ProjectName project, AliasName name) =>
        Volatile.Read(ref _view).Aliases.TryGetValue(new AliasKey(project, name), out var alias) ? alias : null;

    /// <summary>The aliases of <paramref name="project"/> (or of every project when null), by name.</summary>
    public IReadOnlyList<AliasRecord> ListAliases(ProjectName? project = null)
    {
        var aliases = Volatile.Read(ref _view).Aliases;
        return project is { } p ? [.. aliases.Values.Where(a => a.Project == p)] : [.. aliases.Values];
    }

    private static Fingerprint LowerBound(string prefix)
    {
        Span<char> hex = stackalloc char[Fingerprint.HexLength];
        hex.Fill('0');
        prefix.AsSpan().CopyTo(hex);
        return Fingerprint.TryParse(hex, out var fp) ? fp : default;
    }

    private static void Project(ImmutableSortedSet<ImageRecord>.Builder images, ImmutableSortedDictionary<AliasKey, AliasRecord>.Builder aliases, object payload)
    {
        switch (payload)
        {
            case ImageStored stored:
                {
                    var probe = ImageKeyComparer.Probe(stored.Project, stored.Fingerprint);
                    var aliasRefs = images.TryGetValue(probe, out var existing) ? existing.Aliases : [];
                    images.Remove(probe);
                    images.Add(stored.Image with { Aliases = aliasRefs });
                    break;
                }

            case ImageUsed used:
                Replace(images, used.Project, used.Fingerprint, r => r with { LastUsedAt = used.At });
                break;
            case ImageUpdated u:
                Replace(images, u.Project, u.Fingerprint, r => r with
                {
                    Public = u.Public,
                    AutoUpdate = u.AutoUpdate,
                    Properties = u.Properties,
                    ExpiresAt = u.ExpiresAt,
                    Profiles = u.Profiles,
                });
                break;
            case ImageCacheStateChanged c:
                Replace(images, c.Project, c.Fingerprint, r => r with { Cached = c.Cached, LastUsedAt = c.LastUsedAt });
                break;
            case ImageCacheAliasRecorded a:
                Replace(images, a.Project, a.Fingerprint, r => r.WithCacheAlias(a.Alias));
                break;
            case ImageDeleted deleted:
                images.Remove(ImageKeyComparer.Probe(deleted.Project, deleted.Fingerprint));
                break;
            case AliasCreated created:
                PutAlias(images, aliases, new AliasRecord(created.Project, created.Name, created.Target, created.Description, created.Type));
                break;
            case AliasRetargeted retargeted:
                PutAlias(images, aliases, new AliasRecord(retargeted.Project, retargeted.Name, retargeted.Target, retargeted.Description, retargeted.Type));
                break;
            case AliasRenamed renamed:
                // The new name is the new name's own entity: its AliasCreated (from the take-over) put it here, and a
                // delete of it may already have been recorded before this event; adding it again would bring it back.
                RemoveAlias(images, aliases, renamed.Project, renamed.Name);
                break;
            case AliasDeleted deleted:
                RemoveAlias(images, aliases, deleted.Project, deleted.Name);
                break;
            default:
                // Download start/abandon change nothing a reader can see.
                break;
        }
    }

    private static void Replace(ImmutableSortedSet<ImageRecord>.Builder images, ProjectName project, Fingerprint fingerprint, Func<ImageRecord, ImageRecord> change)
    {
        var probe = ImageKeyComparer.Probe(project, fingerprint);
        if (images.TryGetValue(probe, out var existing))
        {
            images.Remove(probe);
            images.Add(change(existing));
        }
    }

    private static void PutAlias(ImmutableSortedSet<ImageRecord>.Builder images, ImmutableSortedDictionary<AliasKey, AliasRecord>.Builder aliases, AliasRecord alias)
    {
        RemoveAlias(images, aliases, alias.Project, alias.Name);
        aliases[new AliasKey(alias.Project, alias.Name)] = alias;
        Replace(images, alias.Project, alias.Target, r =>
        {
            var refs = r.Aliases.Add(new ImageAliasRef(alias.Name, alias.Description));
            return r with { Aliases = [.. refs.OrderBy(a => a.Name)] };
        });
    }

    private static void RemoveAlias(ImmutableSortedSet<ImageRecord>.Builder images, ImmutableSortedDictionary<AliasKey, AliasRecord>.Builder aliases, ProjectName project, AliasName name)
    {
        var key = new AliasKey(project, name);
        if (aliases.TryGetValue(key, out var old))
        {
            aliases.Remove(key);
            Replace(images, project, old.Target, r => r with { Aliases = r.Aliases.RemoveAll(a => a.Name == name) });
        }
    }

    private sealed record View(ImmutableSortedSet<ImageRecord> Images, ImmutableSortedDictionary<AliasKey, AliasRecord> Aliases, long Ordering)
    {
        private ImageRecord[]? _sorted;

        /// <summary>
        /// The images as a flat sorted array, built on the first list of this view and shared by
        /// later lists until the next write (reads far outnumber writes; two racing readers may
        /// both build it, and either result is correct).
        /// </summary>
        public ImageRecord[] Sorted()
        {
            var sorted = Volatile.Read(ref _sorted);
            if (sorted is null)
            {
                sorted = [.. Images];
                Volatile.Write(ref _sorted, sorted);
            }

            return sorted;
        }
    }
}
