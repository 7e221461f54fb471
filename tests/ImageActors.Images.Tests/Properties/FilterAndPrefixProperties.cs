using System.Collections.Immutable;
using CsCheck;
using ImageActors.Images.Domain;
using ImageActors.Images.Events;
using ImageActors.Images.Filtering;
using ImageActors.Images.ReadModel;
using ImageActors.Streaming;

namespace ImageActors.Images.Tests.Properties;

/// <summary>
/// <c>image list</c> filters and fingerprint prefixes over generated catalogs, against a model that evaluates the
/// same expression tree directly (joins left to right, as Incus does) and scans every fingerprint for a prefix.
/// </summary>
public sealed class FilterAndPrefixProperties
{
    private static readonly string[] Systems = ["debian", "ubuntu", "alpine"];
    private static readonly string[] Architectures = ["x86_64", "aarch64"];
    private static readonly string[] AliasNames = ["web", "db", "cache"];

    private static readonly ProjectName Other = ProjectName.Parse("other");

    /// <summary>A generated image: what the filters look at.</summary>
    private sealed record Sample(int Id, string? Os, string Architecture, bool Public, bool Cached, string[] Aliases)
    {
        public override string ToString() => $"#{Id} os {Os ?? "(none)"}, {Architecture}, public {Public}, cached {Cached}, aliases [{string.Join(", ", Aliases)}]";
    }

    /// <summary>A filter expression as a tree, rendered to Incus' syntax and evaluated by the model.</summary>
    private abstract record Expr
    {
        public abstract string Render();

        public abstract bool Eval(Sample image);
    }

    private sealed record Clause(string Field, bool Equal, string Value) : Expr
    {
        public override string Render() => $"{Field} {(Equal ? "eq" : "ne")} {Value}";

        public override bool Eval(Sample image)
        {
            bool Text(string actual) => Value.EndsWith(".*", StringComparison.Ordinal)
                ? actual.StartsWith(Value[..^2], StringComparison.Ordinal)
                : actual == Value;
            var matches = Field switch
            {
                "properties.os" => Text(image.Os ?? string.Empty),
                "architecture" => Text(image.Architecture),
                "public" => image.Public == bool.Parse(Value),
                "cached" => image.Cached == bool.Parse(Value),
                "aliases" => image.Aliases.Any(a => Text(a + image.Id.ToString(System.Globalization.CultureInfo.InvariantCulture))),
                _ => throw new InvalidOperationException(Field),
            };
            return matches == Equal;
        }
    }

    private sealed record Negation(Expr Inner) : Expr
    {
        public override string Render() => "not " + Inner.Render();

        public override bool Eval(Sample image) => !Inner.Eval(image);
    }

    /// <summary>Clauses joined left to right with no precedence; parenthesised unless it is the whole expression.</summary>
    private sealed record Chain(Expr First, (bool And, Expr Next)[] Rest, bool Grouped) : Expr
    {
        public override string Render()
        {
            var text = First.Render() + string.Concat(Rest.Select(r => (r.And ? " and " : " or ") + r.Next.Render()));
            return Grouped ? "(" + text + ")" : text;
        }

        public override bool Eval(Sample image) =>
            Rest.Aggregate(First.Eval(image), (acc, r) => r.And ? acc && r.Next.Eval(image) : acc || r.Next.Eval(image));
    }

    private static readonly Gen<Clause> GenClause = Gen.OneOf(
        Gen.Select(Gen.Bool, Gen.OneOf([.. Systems, "deb.*", "u.*"]), (eq, v) => new Clause("properties.os", eq, v)),
        Gen.Select(Gen.Bool, Gen.OneOf([.. Architectures, "x86.*"]), (eq, v) => new Clause("architecture", eq, v)),
        Gen.Select(Gen.Bool, Gen.Bool, (eq, v) => new Clause("public", eq, v ? "true" : "false")),
        Gen.Select(Gen.Bool, Gen.Bool, (eq, v) => new Clause("cached", eq, v ? "true" : "false")),
        Gen.Select(Gen.Bool, Gen.OneOf("web.*", "db.*", "d.*", "web0", "cache1"), (eq, v) => new Clause("aliases", eq, v)));

    private static Gen<Expr> GenExpr(int depth, bool grouped)
    {
        var term = depth == 0
            ? GenClause.Select(c => (Expr)c)
            : Gen.Frequency(
                (3, GenClause.Select(c => (Expr)c)),
                (1, GenClause.Select(c => (Expr)new Negation(c))),
                (1, GenExpr(depth - 1, grouped: true)),
                (1, GenExpr(depth - 1, grouped: true).Select(e => (Expr)new Negation(e))));
        return Gen.Select(term, Gen.Select(Gen.Bool, term).Array[0, 3], (first, rest) => (Expr)new Chain(first, rest, grouped));
    }

    private static readonly Gen<Sample[]> GenImages =
        Gen.Select(
            Gen.OneOf<string?>([null, .. Systems]),
            Gen.OneOf(Architectures),
            Gen.Bool,
            Gen.Bool,
            Gen.OneOf(AliasNames).ArrayUnique[0, 2])
        .Array[0, 8]
        .Select(rows => rows.Select((r, i) => new Sample(i, r.Item1, r.Item2, r.Item3, r.Item4, r.Item5)).ToArray());

    [Fact]
    public void A_generated_filter_lists_exactly_the_images_the_model_says_match()
    {
        Gen.Select(GenImages, GenExpr(2, grouped: false)).Sample(
            (images, filter) =>
            {
                var catalog = Catalog(images);
                var listed = catalog.List(ProjectName.Default, ImageFilter.Parse(filter.Render())).Select(i => i.Fingerprint).ToHashSet();
                var expected = images.Where(filter.Eval).Select(i => FingerprintOf(i.Id)).ToHashSet();
                Assert.True(expected.SetEquals(listed), $"filter \"{filter.Render()}\": expected {expected.Count} images, listed {listed.Count}");
            },
            iter: 500,
            print: t => $"{t.Item2.Render()} over [{string.Join("; ", t.Item1.AsEnumerable())}]");
    }

    // Fingerprints over two hex digits share prefixes often, so short prefixes are ambiguous and long ones unique or absent.
    private static readonly Gen<string[]> GenFingerprintStarts = Gen.Char["0a"].Array[4, 6].Select(c => new string(c)).ArrayUnique[0, 8];

    private static readonly Gen<string> GenPrefix = Gen.Select(Gen.Char["0a"].Array[1, 6].Select(c => new string(c)), Gen.Bool, (p, upper) => upper ? p.ToUpperInvariant() : p);

    [Fact]
    public void A_fingerprint_prefix_resolves_to_the_one_image_or_says_ambiguous_or_not_found_as_the_model_does()
    {
        Gen.Select(GenFingerprintStarts, GenFingerprintStarts, GenPrefix).Sample(
            (starts, elsewhere, prefix) =>
            {
                var mine = starts.Select(s => Images.Fp(s)).ToList();
                var catalog = new ImageCatalog();
                catalog.ApplyEvents([
                    .. mine.Select(fp => new ImageStored(Images.Record(fp))),
                    .. elsewhere.Select(s => new ImageStored(Images.Record(Images.Fp(s, "elsewhere"), project: Other.Value))),
                ]);

                var hits = mine.Where(fp => fp.ToString().StartsWith(prefix, StringComparison.OrdinalIgnoreCase)).ToList();
                var match = catalog.MatchPrefix(ProjectName.Default, prefix, out var found);
                switch (hits.Count)
                {
                    case 0:
                        Assert.Equal(PrefixMatch.None, match);
                        Assert.Throws<ImageNotFoundException>(() => catalog.GetByPrefix(ProjectName.Default, prefix));
                        break;
                    case 1:
                        Assert.Equal(PrefixMatch.Unique, match);
                        Assert.Equal(hits[0], found!.Fingerprint);
                        Assert.Equal(hits[0], catalog.Resolve(ProjectName.Default, prefix).Fingerprint);
                        break;
                    default:
                        Assert.Equal(PrefixMatch.Ambiguous, match);
                        Assert.Throws<AmbiguousFingerprintException>(() => catalog.GetByPrefix(ProjectName.Default, prefix));
                        break;
                }
            },
            iter: 1000);
    }

    private static Fingerprint FingerprintOf(int id) => Images.Fp("f", id.ToString(System.Globalization.CultureInfo.InvariantCulture));

    private static ImageCatalog Catalog(Sample[] images)
    {
        var catalog = new ImageCatalog();
        var events = new List<object>();
        foreach (var image in images)
        {
            var fp = FingerprintOf(image.Id);
            var record = Images.Record(fp, cached: image.Cached) with
            {
                Architecture = image.Architecture,
                Public = image.Public,
                Properties = image.Os is null
                    ? ImmutableSortedDictionary<string, string>.Empty
                    : ImmutableSortedDictionary<string, string>.Empty.Add("os", image.Os),
            };
            events.Add(new ImageStored(record));

            // The same image in another project, which a listing of the default project never shows.
            events.Add(new ImageStored(record with { Project = Other, Public = !image.Public }));
            foreach (var alias in image.Aliases)
            {
                // An alias names one image: each image's aliases carry its number.
                events.Add(new AliasCreated(ProjectName.Default, AliasName.Parse(alias + image.Id.ToString(System.Globalization.CultureInfo.InvariantCulture)), fp, string.Empty, ImageType.Container));
            }
        }

        catalog.ApplyEvents(events);
        return catalog;
    }
}
