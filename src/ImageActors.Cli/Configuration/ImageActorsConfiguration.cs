using ImageActors.Images.Configuration;
using ImageActors.Server.Configuration;

namespace ImageActors.Cli.Configuration;

/// <summary>What the command line asks for: a configuration file, a data directory and key overrides.</summary>
/// <param name="ConfigFile">The <c>--config</c> file, or null to search for <c>akka.hocon</c>.</param>
/// <param name="DataDirectory">The <c>--data</c> directory, or null.</param>
/// <param name="Overrides">The <c>--set key=value</c> overrides, in order.</param>
public sealed record ConfigurationRequest(string? ConfigFile, string? DataDirectory, IReadOnlyList<string> Overrides);

/// <summary>
/// The whole configuration of an ImageActors process: the resolved HOCON, checked against the
/// schema of every layer, and bound to each layer's options.
/// </summary>
public sealed class ImageActorsConfiguration
{
    /// <summary>The environment variable naming the configuration file when <c>--config</c> is not given.</summary>
    public const string ConfigFileVariable = "IMAGEACTORS_CONFIG";

    private ImageActorsConfiguration(HoconConfig config, string file)
    {
        Config = config;
        File = file;
        Node = NodeOptions.Bind(config);
        ActorSystem = ActorSystemOptions.Bind(config);
        Persistence = PersistenceOptions.Bind(config);
        Images = ImagesOptions.Bind(config);
        Server = ServerOptions.Bind(config);
    }

    /// <summary>Every key of every layer.</summary>
    public static ConfigurationSchema Schema { get; } = new(
        NodeOptions.Section, ActorSystemOptions.Section, PersistenceOptions.Section, ImagesOptions.Section, ServerOptions.Section);

    /// <summary>The resolved configuration.</summary>
    public HoconConfig Config { get; }

    /// <summary>The configuration file that was loaded.</summary>
    public string File { get; }

    /// <summary>The data directory.</summary>
    public NodeOptions Node { get; }

    /// <summary>The actor system's settings.</summary>
    public ActorSystemOptions ActorSystem { get; }

    /// <summary>The journal's settings.</summary>
    public PersistenceOptions Persistence { get; }

    /// <summary>The image store's settings.</summary>
    public ImagesOptions Images { get; }

    /// <summary>The server's settings.</summary>
    public ServerOptions Server { get; }

    /// <summary>
    /// The <c>akka { }</c> section as the files, the environment and <c>--set</c> left it, as HOCON for the actor
    /// system (it wins over the store's own Akka settings); null when nothing under <c>akka</c> is set.
    /// </summary>
    public string? AkkaHocon => Config.ToHocon(ConfigurationSchema.AkkaSection);

    /// <summary>Each key's effective value and origin (and every <c>akka.*</c> value set).</summary>
    public IReadOnlyList<ConfigSetting> Effective() => Schema.Effective(Config);

    /// <summary>
    /// Loads the file the request names (else <c>$IMAGEACTORS_CONFIG</c>, else <c>akka.hocon</c> in the
    /// current directory, else next to the program) with Akka's HOCON parser, applies the environment variables
    /// the keys name (<c>IMAGEACTORS_DATA</c>, <c>IMAGEACTORS_POSTGRESQL</c>), then <c>--data</c>, then each
    /// <c>--set</c>; validates against <see cref="Schema"/> and binds every layer's options.
    /// </summary>
    /// <exception cref="ConfigurationException">Anything is wrong; every problem found is listed.</exception>
    public static ImageActorsConfiguration Load(ConfigurationRequest request, Func<string, string?> environment)
    {
        var file = FindFile(request.ConfigFile, environment);
        var builder = new HoconConfigBuilder().WithEnvironment(environment).AddFile(file).AddEnvironment(Schema.Keys);
        if (request.DataDirectory is { } data)
        {
            builder.AddOverride(NodeOptions.Keys.DataDirectory.Path, data, "--data");
        }

        foreach (var entry in request.Overrides)
        {
            var equals = entry.IndexOf('=', StringComparison.Ordinal);
            if (equals <= 0)
            {
                throw new ConfigurationException(new ConfigurationError(null, ConfigOrigin.FromOverride("--set"), $"'{entry}' is not KEY=VALUE"));
            }

            builder.AddOverride(entry[..equals].Trim(), entry[(equals + 1)..].Trim());
        }

        var config = builder.Build();
        Schema.Validate(config);
        return new ImageActorsConfiguration(config, file);
    }

    private static string FindFile(string? requested, Func<string, string?> environment)
    {
        if (!string.IsNullOrEmpty(requested))
        {
            return requested;
        }

        if (environment(ConfigFileVariable) is { Length: > 0 } fromEnvironment)
        {
            return fromEnvironment;
        }

        var local = Path.Combine(Environment.CurrentDirectory, "akka.hocon");
        return System.IO.File.Exists(local) ? local : Path.Combine(AppContext.BaseDirectory, "akka.hocon");
    }
}
