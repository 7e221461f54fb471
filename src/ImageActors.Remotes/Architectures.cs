using System.Diagnostics.CodeAnalysis;
using System.Runtime.InteropServices;

namespace ImageActors.Remotes;

/// <summary>
/// Incus' architecture names (spec §3.6): the canonical API names, the aliases distributions use
/// (<c>amd64</c> → <c>x86_64</c>), and which architectures a host can also run (personalities).
/// </summary>
public static class Architectures
{
    private static readonly Dictionary<string, string> Canonical = Build();

    private static readonly Dictionary<string, string[]> PersonalityTable = new(StringComparer.Ordinal)
    {
        ["x86_64"] = ["i686"],
        ["aarch64"] = ["armv6l", "armv7l", "armv8l"],
        ["ppc64"] = ["ppc"],
        ["mips64"] = ["mips"],
    };

    /// <summary>The canonical name of the architecture this process runs on.</summary>
    public static string Native { get; } = RuntimeInformation.OSArchitecture switch
    {
        Architecture.X64 => "x86_64",
        Architecture.X86 => "i686",
        Architecture.Arm64 => "aarch64",
        Architecture.Arm => "armv7l",
        Architecture.S390x => "s390x",
        Architecture.Ppc64le => "ppc64le",
        Architecture.LoongArch64 => "loongarch64",
        Architecture.RiscV64 => "riscv64",
        _ => "x86_64",
    };

    /// <summary>Maps a canonical name or alias (<c>amd64</c>, <c>arm64</c>, <c>ppc64el</c>) to the canonical name.</summary>
    public static bool TryGetCanonical(string? name, [NotNullWhen(true)] out string? canonical)
    {
        canonical = null;
        return name is not null && Canonical.TryGetValue(name, out canonical);
    }

    /// <summary>Architectures a host of <paramref name="canonical"/> can run besides its own (x86_64 runs i686).</summary>
    public static IReadOnlyList<string> Personalities(string canonical) =>
        PersonalityTable.TryGetValue(canonical, out var list) ? list : [];

    private static Dictionary<string, string> Build()
    {
        (string Name, string[] Aliases)[] table =
        [
            ("i686", ["i386", "i586", "386", "x86", "generic_32"]),
            ("x86_64", ["amd64", "generic_64", "x86_64_v1", "x86_64_v2", "x86_64_v3", "x86_64_v4"]),
            ("armv6l", ["armel", "arm"]),
            ("armv7l", ["armhf", "armhfp", "armv7a_hardfp", "armv7", "armv7a_vfpv3_hardfp"]),
            ("armv8l", []),
            ("aarch64", ["arm64", "arm64_generic"]),
            ("ppc", ["powerpc"]),
            ("ppc64", ["powerpc64"]),
            ("ppc64le", ["ppc64el"]),
            ("s390x", []),
            ("mips", ["mipsel", "mipsle"]),
            ("mips64", ["mips64el", "mips64le"]),
            ("riscv32", []),
            ("riscv64", []),
            ("loongarch64", ["loong64"]),
        ];
        var map = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var (name, aliases) in table)
        {
            map[name] = name;
            foreach (var alias in aliases)
            {
                map[alias] = name;
            }
        }

        return map;
    }
}
