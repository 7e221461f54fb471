namespace ImageActors.Actors.Configuration;

/// <summary>
/// Layers configuration sources in order — files, text, command-line overrides — and resolves
/// them into one <see cref="HoconConfig"/>. Each source is merged as it is added, so a later
/// source overrides an earlier one; substitutions (<c>${data_dir}</c>) see the final values.
/// </summary>
public sealed class HoconConfigBuilder
{
    private readonly HoconObject _root = new(ConfigOrigin.BuiltInDefault);
    private Func<string, string?> _environment = Environment.GetEnvironmentVariable;

    /// <summary>Adds a HOCON file (and what it includes, relative to it).</summary>
    /// <exception cref="ConfigurationException">The file is missing or has a syntax error.</exception>
    public HoconConfigBuilder AddFile(string path)
    {
        if (!File.Exists(path))
        {
            throw new ConfigurationException(new ConfigurationError(null, ConfigOrigin.InFile(Path.GetFullPath(path), 0), "configuration file not found"));
        }

        HoconReader.ReadFile(path, _root);
        return this;
    }

    /// <summary>Adds HOCON text; <paramref name="sourceName"/> names it in origins and errors.</summary>
    public HoconConfigBuilder AddText(string text, string sourceName = "<text>")
    {
        HoconReader.ReadText(text, sourceName, ConfigOriginKind.File, _root);
        return this;
    }

    /// <summary>
    /// Sets <paramref name="path"/> to <paramref name="value"/>, as <c>--set path=value</c> does. The value
    /// is read as a HOCON value (so <c>[a, b]</c> is a list and <c>null</c> unsets); text that is not
    /// one HOCON value is taken literally (a connection string with <c>=</c> and <c>;</c>).
    /// </summary>
    public HoconConfigBuilder AddOverride(string path, string value, string option = "--set")
    {
        var origin = ConfigOrigin.FromOverride(option);
        var segments = path.Split('.');
        if (segments.Any(s => s.Length == 0))
        {
            throw new ConfigurationException(new ConfigurationError(path, origin, "is not a valid key path"));
        }

        var parsed = value.Length == 0 ? null : HoconReader.TryReadValue(value, origin, _root, segments);
        HoconReader.AssignAt(_root, segments, parsed ?? new HoconScalar(value, quoted: true, origin));
        return this;
    }

    /// <summary>Where <c>${VAR}</c> substitutions look when the configuration has no such path (the process environment by default).</summary>
    public HoconConfigBuilder WithEnvironment(Func<string, string?> environment)
    {
        _environment = environment;
        return this;
    }

    /// <summary>Resolves every substitution.</summary>
    /// <exception cref="ConfigurationException">A required substitution is undefined or a cycle exists.</exception>
    public HoconConfig Build() => new(HoconResolver.Resolve(_root, _environment));
}
