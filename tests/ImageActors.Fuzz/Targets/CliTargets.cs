using ImageActors.Cli.Configuration;
using ImageActors.Images.Configuration;

namespace ImageActors.Fuzz;

/// <summary>Targets of the command line: the configuration file.</summary>
public static class CliTargets
{
    /// <summary>Every command-line target.</summary>
    public static IReadOnlyList<FuzzTarget> All { get; } =
    [
        new("hocon", Hocon),
    ];

    // The input is akka.hocon as `imageactors serve` loads it: Akka's parser, the schema check and every layer's options.
    private static void Hocon(Stream input)
    {
        var file = Path.Combine(Path.GetTempPath(), $"imageactors-fuzz-{Environment.ProcessId}.hocon");
        using (var copy = File.Create(file))
        {
            input.CopyTo(copy);
        }

        try
        {
            ImageActorsConfiguration.Load(new ConfigurationRequest(file, null, []), _ => null);
        }
        catch (ConfigurationException)
        {
        }
        finally
        {
            File.Delete(file);
        }
    }
}
