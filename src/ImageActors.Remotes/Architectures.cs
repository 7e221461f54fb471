using System.Diagnostics.CodeAnalysis;
using System.Runtime.InteropServices;

namespace ImageActors.Remotes;

/// <summary>
/// Architecture names as the remotes use them (spec §3.6), on top of <see cref="Streaming.Architecture"/>:
/// raw product names (<c>amd64</c>) to canonical ones (<c>x86_64</c>), personalities, and the
/// architecture of this process.
/// </summary>
public static class Architectures
{
    /// <summary>The canonical name of the architecture this process runs on.</summary>
    public static string Native { get; } = RuntimeInformation.OSArchitecture switch
    {
        System.Runtime.InteropServices.Architecture.X64 => "x86_64",
        System.Runtime.InteropServices.Architecture.X86 => "i686",
        System.Runtime.InteropServices.Architecture.Arm64 => "aarch64",
        System.Runtime.InteropServices.Architecture.Arm => "armv7l",
        System.Runtime.InteropServices.Architecture.S390x => "s390x",
        System.Runtime.InteropServices.Architecture.Ppc64le => "ppc64le",
        System.Runtime.InteropServices.Architecture.LoongArch64 => "loongarch64",
        System.Runtime.InteropServices.Architecture.RiscV64 => "riscv64",
        _ => "x86_64",
    };

    /// <summary>Maps a canonical name or alias (<c>amd64</c>, <c>arm64</c>, <c>ppc64el</c>) to the canonical name.</summary>
    public static bool TryGetCanonical(string? name, [NotNullWhen(true)] out string? canonical)
    {
        canonical = Streaming.Architecture.Canonicalize(name);
        return canonical is not null;
    }

    /// <summary>Canonical names a host of <paramref name="canonical"/> can run besides its own (x86_64 runs i686).</summary>
    public static IReadOnlyList<string> Personalities(string canonical) =>
        Streaming.Architecture.TryParse(canonical, out var architecture) ? architecture.Personalities.Select(p => p.Name).ToList() : [];
}
