using System.Globalization;
using ImageActors.Remotes.Incus;

namespace ImageActors.Remotes.SimpleStreams;

/// <summary>
/// The images and aliases a SimpleStreams products file describes, built the way Incus builds them
/// (spec §3.2–3.3): one image per metadata item and root item (or per unified item), fingerprints
/// from the metadata item's <c>combined_*_sha256</c> fields, products of unknown architectures
/// dropped, aliases <c>A</c> and <c>A/&lt;arch&gt;</c> claimed by the newest serial with squashfs
/// preferred.
/// </summary>
public sealed class SimpleStreamsCatalog
{
    private static readonly string[] RootTypes = [FileTypes.Squashfs, FileTypes.RootTarXz, FileTypes.DiskKvmImg, FileTypes.Uefi1Img, FileTypes.Disk1Img];

    private readonly Dictionary<string, List<SimpleStreamsAlias>> _aliases;

    private SimpleStreamsCatalog(IReadOnlyList<SimpleStreamsImage> images, Dictionary<string, List<SimpleStreamsAlias>> aliases, string native)
    {
        Images = images;
        _aliases = aliases;
        NativeArchitecture = native;
    }

    /// <summary>Images in Incus' order: os, release, variant, newest serial first, architecture, root type preference.</summary>
    public IReadOnlyList<SimpleStreamsImage> Images { get; }

    /// <summary>The client architecture the short aliases were resolved for.</summary>
    public string NativeArchitecture { get; }

    /// <summary>Every alias entry.</summary>
    public IEnumerable<SimpleStreamsAlias> Aliases => _aliases.Values.SelectMany(list => list);

    /// <summary>Builds the catalog of one or more products files.</summary>
    /// <param name="products">The products files.</param>
    /// <param name="nativeArchitecture">Canonical architecture of the client (short aliases and preference).</param>
    public static SimpleStreamsCatalog Build(IEnumerable<ProductsFile> products, string? nativeArchitecture = null)
    {
        ArgumentNullException.ThrowIfNull(products);
        var native = nativeArchitecture ?? Architectures.Native;
        var images = new List<SimpleStreamsImage>();
        var seen = new HashSet<string>(StringComparer.Ordinal);
        foreach (var file in products)
        {
            // A null entry in a map is what Go reads as an empty one, which Incus then skips; so do we.
            foreach (var (key, product) in file.Products.Where(p => p.Value is not null).OrderBy(p => p.Key, StringComparer.Ordinal))
            {
                AddProduct(key, product, images, seen);
            }
        }

        var comparer = new ImageOrder(native);
        var sorted = images.Order(comparer).ToList();
        var aliases = new Dictionary<string, List<SimpleStreamsAlias>>(StringComparer.Ordinal);
        for (var i = 0; i < sorted.Count; i++)
        {
            sorted[i] = ApplyAliases(sorted[i], aliases, native);
        }

        return new SimpleStreamsCatalog(sorted, aliases, native);
    }

    /// <summary>
    /// Finds an alias. Without <paramref name="type"/>, container entries win over VM ones; among
    /// architectures the native one wins, then those it can run, then any.
    /// </summary>
    public SimpleStreamsAlias? FindAlias(string name, string? type = null)
    {
        if (!_aliases.TryGetValue(name, out var entries))
        {
            return null;
        }

        var personalities = Architectures.Personalities(NativeArchitecture);
        foreach (var wanted in type is { Length: > 0 } ? [type] : new[] { ImageTypes.Container, ImageTypes.VirtualMachine })
        {
            var match = entries.Where(e => e.Type == wanted)
                .OrderBy(e => e.Architecture == NativeArchitecture ? 0 : personalities.Contains(e.Architecture) ? 1 : 2)
                .FirstOrDefault();
            if (match is not null)
            {
                return match;
            }
        }

        return null;
    }

    /// <summary>Finds the image whose fingerprint starts with <paramref name="prefix"/>.</summary>
    /// <exception cref="InvalidOperationException">More than one image matches.</exception>
    public SimpleStreamsImage? FindFingerprint(string prefix)
    {
        if (!Streaming.Fingerprint.IsValidPrefix(prefix))
        {
            return null;
        }

        var matches = Images.Where(i => i.Info.Fingerprint.StartsWith(prefix, StringComparison.OrdinalIgnoreCase))
            .DistinctBy(i => i.Info.Fingerprint).Take(2).ToList();
        return matches.Count switch
        {
            0 => null,
            1 => matches[0],
            _ => throw new InvalidOperationException($"More than one image matches '{prefix}'"),
        };
    }

    private static void AddProduct(string key, Product product, List<SimpleStreamsImage> images, HashSet<string> seen)
    {
        // Unsupported architectures drop the whole product.
        if (!Architectures.TryGetCanonical(product.Architecture, out var architecture))
        {
            return;
        }

        foreach (var (serial, version) in product.Versions.Where(v => v.Value is not null).OrderBy(v => v.Key, StringComparer.Ordinal))
        {
            if (serial.Length < 8 || !DateTime.TryParseExact(serial.AsSpan(0, 8), "yyyyMMdd", CultureInfo.InvariantCulture, DateTimeStyles.AdjustToUniversal | DateTimeStyles.AssumeUniversal, out var created))
            {
                continue;
            }

            var items = version.Items.Where(i => i.Value is not null).OrderBy(i => i.Key, StringComparer.Ordinal).Select(i => i.Value).ToList();
            // Incus reads the incus.* items, LXD the lxd.* ones; a version may carry both (tailored
            // metadata for each): take Incus' when present.
            var incus = items.Any(i => i.FileType is FileTypes.IncusMetadata or FileTypes.IncusCombined);
            var (metadataType, combinedType) = incus ? (FileTypes.IncusMetadata, FileTypes.IncusCombined) : (FileTypes.LxdMetadata, FileTypes.LxdCombined);
            foreach (var item in items)
            {
                if (item.FileType == combinedType)
                {
                    Add(item, null);
                }
                else if (item.FileType == metadataType)
                {
                    foreach (var root in items.Where(r => RootTypes.Contains(r.FileType)))
                    {
                        Add(item, root);
                    }
                }
            }

            void Add(ProductVersionItem meta, ProductVersionItem? root)
            {
                var image = Synthesize(product, architecture, serial, new DateTimeOffset(created, TimeSpan.Zero), version, meta, root);
                // A server feeding both Incus and LXD lists the same files under both ftypes: one image.
                if (image is not null && seen.Add(image.Fingerprint))
                {
                    images.Add(new SimpleStreamsImage(image, meta, root, key, serial));
                }
            }
        }
    }

    /// <summary>The API image Incus derives from a metadata item and a root item (or a unified item).</summary>
    public static Image? Synthesize(Product product, string architecture, string serial, DateTimeOffset created, ProductVersion version, ProductVersionItem meta, ProductVersionItem? root)
    {
        ArgumentNullException.ThrowIfNull(product);
        ArgumentNullException.ThrowIfNull(version);
        ArgumentNullException.ThrowIfNull(meta);
        var fingerprint = root?.FileType switch
        {
            null => meta.Sha256,
            FileTypes.Squashfs => meta.CombinedSquashfsSha256,
            FileTypes.RootTarXz => string.IsNullOrEmpty(meta.CombinedRootXzSha256) ? meta.CombinedSha256 : meta.CombinedRootXzSha256,
            FileTypes.DiskKvmImg => meta.CombinedDiskKvmImgSha256,
            FileTypes.Disk1Img => meta.CombinedDisk1ImgSha256,
            FileTypes.Uefi1Img => meta.CombinedUefi1ImgSha256,
            _ => null,
        };
        if (string.IsNullOrEmpty(fingerprint) || string.IsNullOrEmpty(meta.Path) || !Streaming.Fingerprint.TryParse(fingerprint, out var parsed))
        {
            return null;
        }

        var description = string.Join(' ', product.OperatingSystem, product.ReleaseTitle ?? "", product.Architecture);
        if (product.Variant is { Length: > 0 } variant && variant != "default")
        {
            description += $" ({variant})";
        }

        if (version.Label is { Length: > 0 } label)
        {
            description += $" ({label})";
        }

        description += $" ({serial})";

        var properties = new Dictionary<string, string?>(StringComparer.Ordinal)
        {
            ["os"] = product.OperatingSystem,
            ["release"] = product.Release,
            ["version"] = product.Version,
            ["architecture"] = product.Architecture,
            ["label"] = version.Label,
            ["serial"] = serial,
            ["description"] = description,
            ["variant"] = product.Variant,
            ["type"] = root?.FileType ?? "tar.gz",
        };
        foreach (var (k, v) in product.Requirements ?? product.LxdRequirements ?? new Dictionary<string, string>())
        {
            properties["requirements." + k] = v;
        }

        var expires = DateTimeOffset.UnixEpoch;
        if (product.SupportEol is { Length: > 0 } eol
            && DateTime.TryParseExact(eol, "yyyy-MM-dd", CultureInfo.InvariantCulture, DateTimeStyles.AdjustToUniversal | DateTimeStyles.AssumeUniversal, out var eolDate))
        {
            expires = new DateTimeOffset(eolDate, TimeSpan.Zero);
        }

        var type = root is null
            ? meta.CombinedType == ImageTypes.VirtualMachine ? ImageTypes.VirtualMachine : ImageTypes.Container
            : root.FileType is FileTypes.Squashfs or FileTypes.RootTarXz ? ImageTypes.Container : ImageTypes.VirtualMachine;

        return new Image
        {
            Fingerprint = parsed.ToString(),
            Architecture = architecture,
            Public = true,
            Size = meta.Size + (root?.Size ?? 0),
            CreatedAt = created,
            UploadedAt = created,
            ExpiresAt = expires,
            Filename = meta.Path[(meta.Path.LastIndexOf('/') + 1)..],
            Type = type,
            Properties = properties.Where(p => !string.IsNullOrEmpty(p.Value)).ToDictionary(p => p.Key, p => p.Value!, StringComparer.Ordinal),
            Aliases = (product.Aliases ?? "").Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)
                .Select(a => new ImageAlias { Name = a }).ToList(),
            Profiles = [],
        };
    }

    private static SimpleStreamsImage ApplyAliases(SimpleStreamsImage image, Dictionary<string, List<SimpleStreamsAlias>> aliases, string native)
    {
        var info = image.Info;
        var own = new List<ImageAlias>();
        foreach (var alias in info.Aliases)
        {
            // Short alias: visible on the image only for the client's own architecture.
            if (Claim(alias.Name) && info.Architecture == native)
            {
                own.Add(new ImageAlias { Name = alias.Name });
            }

            var medium = $"{alias.Name}/{info.Properties.GetValueOrDefault("architecture", info.Architecture)}";
            if (Claim(medium))
            {
                own.Add(new ImageAlias { Name = medium });
            }
        }

        return image with { Info = info with { Aliases = own } };

        bool Claim(string name)
        {
            if (!aliases.TryGetValue(name, out var entries))
            {
                aliases[name] = entries = [];
            }

            // The first image in sort order claims each (name, type, architecture).
            if (entries.Any(e => e.Type == info.Type && e.Architecture == info.Architecture))
            {
                return false;
            }

            entries.Add(new SimpleStreamsAlias(name, info.Type, info.Architecture, image));
            return true;
        }
    }

    private sealed class ImageOrder(string native) : IComparer<SimpleStreamsImage>
    {
        public int Compare(SimpleStreamsImage? x, SimpleStreamsImage? y)
        {
            if (ReferenceEquals(x, y))
            {
                return 0;
            }

            if (x is null || y is null)
            {
                return x is null ? -1 : 1;
            }

            var a = x.Info.Properties;
            var b = y.Info.Properties;
            var c = string.CompareOrdinal(a.GetValueOrDefault("os"), b.GetValueOrDefault("os"));
            if (c == 0)
            {
                c = string.CompareOrdinal(a.GetValueOrDefault("release"), b.GetValueOrDefault("release"));
            }

            if (c == 0)
            {
                c = string.CompareOrdinal(a.GetValueOrDefault("variant"), b.GetValueOrDefault("variant"));
            }

            if (c == 0)
            {
                // Newest serial first: version keys sort lexicographically by time.
                c = string.CompareOrdinal(b.GetValueOrDefault("serial"), a.GetValueOrDefault("serial"));
            }

            if (c == 0 && x.Info.Architecture != y.Info.Architecture)
            {
                c = x.Info.Architecture == native ? -1 : y.Info.Architecture == native ? 1 : string.CompareOrdinal(x.Info.Architecture, y.Info.Architecture);
            }

            return c != 0 ? c : Precedence(a.GetValueOrDefault("type")).CompareTo(Precedence(b.GetValueOrDefault("type")));
        }

        private static int Precedence(string? rootType) => rootType switch
        {
            FileTypes.Squashfs => 0,
            FileTypes.RootTarXz => 1,
            FileTypes.DiskKvmImg => 2,
            FileTypes.Uefi1Img => 3,
            FileTypes.Disk1Img => 4,
            _ => 5,
        };
    }
}
