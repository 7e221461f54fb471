using System.CommandLine;
using ImageActors.Cli.Configuration;
using ImageActors.Images.Configuration;

namespace ImageActors.Cli;

/// <summary>
/// The options every command accepts (<c>--data</c>, <c>--config</c>, <c>--set</c>) and the one way
/// commands load the configuration from them.
/// </summary>
public sealed class GlobalOptions
{
    private readonly CliHost _host;

    internal GlobalOptions(CliHost host) => _host = host;

    /// <summary><c>--data DIR</c>: the data directory (overrides <c>data_dir</c>).</summary>
    public Option<string?> Data { get; } = new("--data")
    {
        Description = "Data directory (images, journal, certificate, socket); overrides data_dir",
        HelpName = "DIR",
        Recursive = true,
    };

    /// <summary><c>--config FILE</c>: the configuration file.</summary>
    public Option<string?> Config { get; } = new("--config")
    {
        Description = "Configuration file, e.g. config/appliance.hocon (default: $IMAGEACTORS_CONFIG, else akka.hocon in the current directory, else next to the program)",
        HelpName = "FILE",
        Recursive = true,
    };

    /// <summary><c>--set key=value</c>, repeatable: overrides one key.</summary>
    public Option<string[]> Set { get; } = new("--set")
    {
        Description = "Override one key, e.g. --set images.replicas=2 (repeatable; applied after the file and --data)",
        HelpName = "KEY=VALUE",
        Recursive = true,
        Arity = ArgumentArity.OneOrMore,
    };

    /// <summary><c>--debug</c>: on a failure, print the full exception (with its stack trace) after the one-line error.</summary>
    public Option<bool> Debug { get; } = new("--debug")
    {
        Description = "On a failure, also print the full error with its stack trace",
        Recursive = true,
    };

    /// <summary>The streams and environment commands run with.</summary>
    public CliHost Host => _host;

    internal void AddTo(RootCommand root)
    {
        root.Options.Add(Data);
        root.Options.Add(Config);
        root.Options.Add(Set);
        root.Options.Add(Debug);
    }

    /// <summary>Loads, validates and binds the configuration the options select.</summary>
    /// <exception cref="ConfigurationException">The configuration is missing, malformed or invalid.</exception>
    public ImageActorsConfiguration LoadConfiguration(ParseResult parseResult) =>
        ImageActorsConfiguration.Load(
            new ConfigurationRequest(parseResult.GetValue(Config), parseResult.GetValue(Data), parseResult.GetValue(Set) ?? []),
            _host.Environment);

    /// <summary>
    /// Runs <paramref name="action"/> with the loaded configuration; an invalid configuration is
    /// reported on stderr (one line per problem, naming the key and where it was set) and ends with <see cref="ExitCodes.InvalidConfiguration"/>.
    /// </summary>
    public async Task<int> WithConfigurationAsync(ParseResult parseResult, Func<ImageActorsConfiguration, Task<int>> action)
    {
        ImageActorsConfiguration configuration;
        try
        {
            configuration = LoadConfiguration(parseResult);
        }
        catch (ConfigurationException e)
        {
            var error = parseResult.InvocationConfiguration.Error;
            foreach (var problem in e.Errors)
            {
                await error.WriteLineAsync($"error: {problem}");
            }

            return ExitCodes.InvalidConfiguration;
        }

        return await action(configuration);
    }
}
