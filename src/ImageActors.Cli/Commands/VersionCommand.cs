using System.CommandLine;
using System.Reflection;
using System.Runtime.InteropServices;
using System.Text.Json;

namespace ImageActors.Cli.Commands;

/// <summary><c>imageactors version</c>: the product version, the .NET runtime, the OS and the architecture.</summary>
public static class VersionCommand
{
    /// <summary>Builds the command.</summary>
    public static Command Create()
    {
        var format = new Option<string>("--format")
        {
            Description = "Output format",
            DefaultValueFactory = _ => "text",
        }.AcceptOnlyFromAmong("text", "json");

        var command = new Command("version", "Show the version of ImageActors, the .NET runtime, the OS and the architecture") { format };
        command.SetAction(async (parseResult, cancellationToken) =>
        {
            var output = parseResult.InvocationConfiguration.Output;
            var facts = Describe();
            if (parseResult.GetValue(format) == "json")
            {
                await output.WriteLineAsync(JsonSerializer.Serialize(facts, CliJsonContext.Default.VersionFacts).AsMemory(), cancellationToken);
            }
            else
            {
                await output.WriteLineAsync($"imageactors {facts.Version}".AsMemory(), cancellationToken);
                await output.WriteLineAsync($"runtime:      {facts.Runtime}".AsMemory(), cancellationToken);
                await output.WriteLineAsync($"os:           {facts.Os}".AsMemory(), cancellationToken);
                await output.WriteLineAsync($"architecture: {facts.Architecture}".AsMemory(), cancellationToken);
            }

            return ExitCodes.Success;
        });
        return command;
    }

    /// <summary>The facts <c>version</c> prints.</summary>
    public static VersionFacts Describe()
    {
        var assembly = typeof(VersionCommand).Assembly;
        var version = assembly.GetCustomAttribute<AssemblyInformationalVersionAttribute>()?.InformationalVersion
            ?? assembly.GetName().Version?.ToString()
            ?? "unknown";
        return new VersionFacts(version, RuntimeInformation.FrameworkDescription, RuntimeInformation.OSDescription, IncusArchitecture(RuntimeInformation.OSArchitecture));
    }

    /// <summary>The architecture under the name Incus uses for it (<c>x86_64</c>, <c>aarch64</c>).</summary>
    public static string IncusArchitecture(Architecture architecture) => architecture switch
    {
        Architecture.X64 => "x86_64",
        Architecture.Arm64 => "aarch64",
        Architecture.X86 => "i686",
        Architecture.Arm or Architecture.Armv6 => "armv7l",
        Architecture.S390x => "s390x",
        Architecture.Ppc64le => "ppc64le",
        Architecture.RiscV64 => "riscv64",
        Architecture.LoongArch64 => "loongarch64",
        _ => architecture.ToString().ToLowerInvariant(),
    };
}

/// <summary>What <c>imageactors version</c> reports.</summary>
/// <param name="Version">The product version.</param>
/// <param name="Runtime">The .NET runtime, e.g. <c>.NET 10.0.0</c>.</param>
/// <param name="Os">The operating system description.</param>
/// <param name="Architecture">The OS architecture in Incus' naming.</param>
public sealed record VersionFacts(string Version, string Runtime, string Os, string Architecture);
