namespace ImageActors.Images.Configuration;

/// <summary>Where a configuration value came from.</summary>
public enum ConfigOriginKind
{
    /// <summary>A HOCON file (or HOCON text given with a source name).</summary>
    File,

    /// <summary>An environment variable a key names (<c>IMAGEACTORS_DATA</c> for <c>data_dir</c>).</summary>
    Environment,

    /// <summary>A command-line override such as <c>--set key=value</c> or <c>--data DIR</c>.</summary>
    Override,

    /// <summary>The schema's built-in default: no source set the key.</summary>
    Default,
}

/// <summary>
/// The origin of a configuration value or of a read error: a file, an environment variable, a command-line
/// override or the built-in default. Akka's HOCON parser records no positions, so a file origin has a line only
/// where one is known for certain: a syntax error at a character position the parser reports, or offending text
/// found in the file.
/// </summary>
/// <param name="Kind">What kind of source it is.</param>
/// <param name="Source">The file path, the variable name or the option (<c>--set</c>).</param>
/// <param name="Line">The 1-based line, or 0 when it is not known.</param>
public sealed record ConfigOrigin(ConfigOriginKind Kind, string Source, int Line = 0)
{
    /// <summary>The origin of values no source set.</summary>
    public static ConfigOrigin BuiltInDefault { get; } = new(ConfigOriginKind.Default, "built-in default");

    /// <summary>A position in a file.</summary>
    public static ConfigOrigin InFile(string path, int line = 0) => new(ConfigOriginKind.File, path, line);

    /// <summary>A value read from the environment variable <paramref name="name"/>.</summary>
    public static ConfigOrigin FromEnvironment(string name) => new(ConfigOriginKind.Environment, name);

    /// <summary>A value given on the command line by <paramref name="option"/> (e.g. <c>--set</c>).</summary>
    public static ConfigOrigin FromOverride(string option) => new(ConfigOriginKind.Override, option);

    /// <summary>
    /// <c>akka.hocon</c> (a path relative to the current directory when it is inside it),
    /// <c>akka.hocon:12</c> when the line is known, <c>env IMAGEACTORS_DATA</c>, <c>--set</c> or
    /// <c>built-in default</c>.
    /// </summary>
    public override string ToString() => Kind switch
    {
        ConfigOriginKind.File when Line > 0 => $"{DisplayPath(Source)}:{Line}",
        ConfigOriginKind.File => DisplayPath(Source),
        ConfigOriginKind.Environment => $"env {Source}",
        _ => Source,
    };

    private static string DisplayPath(string path)
    {
        if (!Path.IsPathRooted(path))
        {
            return path;
        }

        var relative = Path.GetRelativePath(Environment.CurrentDirectory, path);
        return relative.StartsWith("..", StringComparison.Ordinal) || Path.IsPathRooted(relative) ? path : relative;
    }
}
