using System.Collections.Frozen;

namespace ImageActors.Streaming;

/// <summary>
/// A CPU architecture by its canonical Incus name and database id, with the aliases Incus accepts for it
/// (spec §3.6). Equality is by id, so <c>amd64</c> and <c>x86_64</c> are the same architecture.
/// </summary>
public sealed class Architecture : IEquatable<Architecture>
{
    private static readonly Architecture[] Known =
    [
        new(1, "i686", ["i386", "i586", "386", "x86", "generic_32"]),
        new(2, "x86_64", ["amd64", "generic_64", "x86_64_v1", "x86_64_v2", "x86_64_v3", "x86_64_v4"]),
        new(3, "armv7l", ["armhf", "armhfp", "armv7a_hardfp", "armv7", "armv7a_vfpv3_hardfp"]),
        new(4, "aarch64", ["arm64", "arm64_generic"]),
        new(5, "ppc", ["powerpc"]),
        new(6, "ppc64", ["powerpc64"]),
        new(7, "ppc64le", ["ppc64el"]),
        new(8, "s390x", []),
        new(9, "mips", ["mipsel", "mipsle"]),
        new(10, "mips64", ["mips64el", "mips64le"]),
        new(11, "riscv32", []),
        new(12, "riscv64", []),
        new(13, "armv6l", ["armel", "arm"]),
        new(14, "armv8l", []),
        new(15, "loongarch64", ["loong64"]),
    ];

    private static readonly FrozenDictionary<string, Architecture> ByName =
        Known.SelectMany(a => a.Aliases.Prepend(a.Name).Select(n => KeyValuePair.Create(n, a))).ToFrozenDictionary(StringComparer.Ordinal);

    private static readonly FrozenDictionary<int, Architecture> ById = Known.ToFrozenDictionary(a => a.Id);

    private Architecture(int id, string name, string[] aliases)
    {
        Id = id;
        Name = name;
        Aliases = aliases;
    }

    /// <summary>Every architecture Incus knows, by id.</summary>
    public static IReadOnlyList<Architecture> All => Known;

    /// <summary>The id Incus stores in its database (1–15).</summary>
    public int Id { get; }

    /// <summary>The canonical name the API shows (<c>x86_64</c>, <c>aarch64</c>, ...).</summary>
    public string Name { get; }

    /// <summary>Other names accepted for it (<c>amd64</c>, <c>arm64</c>, ...).</summary>
    public IReadOnlyList<string> Aliases { get; }

    /// <summary>Looks up a canonical name or alias (case-sensitive, as Incus does).</summary>
    public static bool TryParse(string? name, [System.Diagnostics.CodeAnalysis.NotNullWhen(true)] out Architecture? architecture)
    {
        architecture = null;
        return name is not null && ByName.TryGetValue(name, out architecture);
    }

    /// <summary>Looks up a canonical name or alias; the error text is Incus' own.</summary>
    /// <exception cref="ArgumentException">"Architecture isn't supported: NAME".</exception>
    public static Architecture Parse(string? name) =>
        TryParse(name, out var architecture)
            ? architecture
            : throw new ArgumentException($"Architecture isn't supported: {name}", nameof(name));

    /// <summary>The architecture with database id <paramref name="id"/>, or null.</summary>
    public static Architecture? FromId(int id) => ById.GetValueOrDefault(id);

    /// <summary>The canonical name of <paramref name="name"/>, or null if unknown.</summary>
    public static string? Canonicalize(string? name) => TryParse(name, out var a) ? a.Name : null;

    /// <summary>Architectures a host of this one also runs (its personalities): x86_64 runs i686, and so on.</summary>
    public IReadOnlyList<Architecture> Personalities => Id switch
    {
        2 => [ById[1]],
        4 => [ById[13], ById[3], ById[14]],
        6 => [ById[5]],
        10 => [ById[9]],
        _ => [],
    };

    /// <summary>Whether a host of this architecture can run images of <paramref name="other"/>.</summary>
    public bool CanRun(Architecture other)
    {
        ArgumentNullException.ThrowIfNull(other);
        return Equals(other) || Personalities.Contains(other);
    }

    /// <inheritdoc />
    public bool Equals(Architecture? other) => other is not null && other.Id == Id;

    /// <inheritdoc />
    public override bool Equals(object? obj) => Equals(obj as Architecture);

    /// <inheritdoc />
    public override int GetHashCode() => Id;

    /// <inheritdoc />
    public override string ToString() => Name;
}
