namespace ImageActors.Actors.Configuration;

/// <summary>Where a configuration value came from.</summary>
public enum ConfigOriginKind
{
    /// <summary>A line of a HOCON file (or of HOCON text given with a source name).</summary>
    File,

    /// <summary>An environment variable reached through a <c>${?VAR}</c> substitution.</summary>
    Environment,

    /// <summary>A command-line override such as <c>--set key=value</c> or <c>--data DIR</c>.</summary>
    Override,

    /// <summary>The schema's built-in default: no source set the key.</summary>
    Default,
}

/// <summary>
/// The origin of a configuration value or of a parse error: a file and line (and column for
/// parse errors), an environment variable, a command-line override or the built-in default.
/// </summary>
/// <param name="Kind">What kind of source it is.</param>
/// <param name="Source">The file path, the variable name or the option (<c>--set</c>).</param>
/// <param name="Line">The 1-based line, or 0 when it does not apply.</param>
/// <param name="Column">The 1-based column, or 0 when it does not apply.</param>
public sealed record ConfigOrigin(ConfigOriginKind Kind, string Source, int Line = 0, int Column = 0)
{
    /// <summary>The origin of values no source set.</summary>
    public static ConfigOrigin BuiltInDefault { get; } = new(ConfigOriginKind.Default, "built-in default");

    /// <summary>A position in a file.</summary>
    public static ConfigOrigin InFile(string path, int line, int column = 0) => new(ConfigOriginKind.File, path, line, column);

    /// <summary>A value read from the environment variable <paramref name="name"/>.</summary>
    public static ConfigOrigin FromEnvironment(string name) => new(ConfigOriginKind.Environment, name);

    /// <summary>A value given on the command line by <paramref name="option"/> (e.g. <c>--set</c>).</summary>
    public static ConfigOrigin FromOverride(string option) => new(ConfigOriginKind.Override, option);

    /// <summary>The same origin without a column (values are reported by line).</summary>
    internal ConfigOrigin WithoutColumn() => Column == 0 ? this : this with { Column = 0 };

    /// <summary>
    /// <c>akka.hocon:12</c> (a path relative to the current directory when it is inside it),
    /// <c>akka.hocon:12:5</c> for parse errors, <c>env IMAGEACTORS_DATA</c>, <c>--set</c> or
    /// <c>built-in default</c>.
    /// </summary>
    public override string ToString() => Kind switch
    {
        ConfigOriginKind.File when Line > 0 && Column > 0 => $"{DisplayPath(Source)}:{Line}:{Column}",
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
