using System.Globalization;
using System.Text;
using System.Text.RegularExpressions;

namespace ImageActors.Images.Configuration;

/// <summary>
/// Layers configuration sources in order — files, text, environment variables, command-line overrides — and reads
/// them with Akka.NET's HOCON parser into one <see cref="HoconConfig"/>. A later source overrides an earlier one, and
/// substitutions (<c>${data_dir}</c>) see the value the later sources give (an override changes the value in place).
/// </summary>
public sealed partial class HoconConfigBuilder
{
    private readonly List<Layer> _layers = [];
    private Func<string, string?> _environment = Environment.GetEnvironmentVariable;

    /// <summary>Adds a HOCON file (and what it includes, relative to it).</summary>
    /// <exception cref="ConfigurationException">The file is missing.</exception>
    public HoconConfigBuilder AddFile(string path)
    {
        var full = Path.GetFullPath(path);
        if (!File.Exists(full))
        {
            throw new ConfigurationException(new ConfigurationError(null, ConfigOrigin.InFile(full, 0), "configuration file not found"));
        }

        _layers.Add(new Layer(full, null, null, null));
        return this;
    }

    /// <summary>Adds HOCON text; <paramref name="sourceName"/> names it in origins and errors; its includes are relative to the current directory.</summary>
    public HoconConfigBuilder AddText(string text, string sourceName = "<text>")
    {
        _layers.Add(new Layer(sourceName, text, null, null));
        return this;
    }

    /// <summary>
    /// Sets <paramref name="path"/> to <paramref name="value"/>, as <c>--set path=value</c> does. A value in
    /// <c>[...]</c> or <c>{...}</c> is read as a HOCON list or object, <c>null</c> unsets, one that starts with <c>${</c>
    /// is a substitution, one in double quotes (without quotes or backslashes inside) is that string (<c>""</c> is the
    /// empty string); anything else is taken literally (a connection string with <c>=</c> and <c>;</c>).
    /// </summary>
    /// <exception cref="ConfigurationException">The path is not a dotted key path, or the value holds <c>${?VAR}</c>.</exception>
    public HoconConfigBuilder AddOverride(string path, string value, string option = "--set")
    {
        var origin = ConfigOrigin.FromOverride(option);
        if (!KeyPath().IsMatch(path))
        {
            throw new ConfigurationException(new ConfigurationError(path, origin, "is not a valid key path (dotted names of letters, digits, '_' and '-')"));
        }

        if (value.Contains("${?", StringComparison.Ordinal))
        {
            throw new ConfigurationException(new ConfigurationError(path, origin, AkkaHoconReader.OptionalSubstitution));
        }

        _layers.Add(new Layer(path, HoconText(value), origin, null));
        return this;
    }

    /// <summary>
    /// Applies the environment variables the <paramref name="keys"/> name (<see cref="ConfigKey.EnvironmentVariable"/>):
    /// a variable that is set and not empty sets its key, over the sources added before.
    /// </summary>
    public HoconConfigBuilder AddEnvironment(IEnumerable<ConfigKey> keys)
    {
        foreach (var key in keys)
        {
            if (key.EnvironmentVariable is { } variable)
            {
                _layers.Add(new Layer(key.Path, null, ConfigOrigin.FromEnvironment(variable), variable));
            }
        }

        return this;
    }

    /// <summary>Where <see cref="AddEnvironment"/> reads variables (the process environment by default).</summary>
    public HoconConfigBuilder WithEnvironment(Func<string, string?> environment)
    {
        _environment = environment;
        return this;
    }

    /// <summary>Reads every source with Akka's parser, in order.</summary>
    /// <exception cref="ConfigurationException">
    /// A source cannot be read, a substitution is undefined, or Akka's parser did not finish within <see cref="ReadTimeLimit"/>.
    /// </exception>
    public HoconConfig Build()
    {
        // Akka's parser loops for ever on some malformed input (a list closed with '}'); the reading runs on a
        // thread of its own so that such a file is reported instead of hanging the start. A looping thread is
        // left behind; the caller is expected to stop on the error.
        var reader = new AkkaHoconReader();
        HoconConfig? result = null;
        Exception? failure = null;
        var thread = new Thread(() =>
        {
            try
            {
                result = Read(reader);
            }
            catch (Exception e)
            {
                failure = e;
            }
        })
        {
            IsBackground = true,
            Name = "configuration reader",
        };
        thread.Start();
        if (!thread.Join(ReadTimeLimit))
        {
            var origin = reader.Current ?? ConfigOrigin.FromOverride("--set");
            throw new ConfigurationException(new ConfigurationError(null, origin, $"Akka's HOCON parser did not finish reading it in {ReadTimeLimit.TotalSeconds:0} s; it loops on some syntax errors, such as a list closed with '}}' instead of ']'"));
        }

        if (failure is not null)
        {
            System.Runtime.ExceptionServices.ExceptionDispatchInfo.Throw(failure);
        }

        return result!;
    }

    /// <summary>How long reading the configuration may take before it is reported as a parser that does not finish.</summary>
    public static TimeSpan ReadTimeLimit { get; } = TimeSpan.FromSeconds(15);

    private HoconConfig Read(AkkaHoconReader reader)
    {
        // One document for Akka's parser: each file or text is an include its callback answers, each override an
        // assignment after them, so that it changes the included value in place and substitutions follow it.
        var document = new StringBuilder();
        var overrides = new List<(string Path, ConfigOrigin Origin)>();
        for (var i = 0; i < _layers.Count; i++)
        {
            var layer = _layers[i];
            if (layer.Origin is null)
            {
                document.Append(CultureInfo.InvariantCulture, $"include \"{i}\"\n");
                continue;
            }

            var value = layer.Variable is null ? layer.Value : _environment(layer.Variable) is { Length: > 0 } text ? Quote(text) : null;
            if (value is not null)
            {
                document.Append(CultureInfo.InvariantCulture, $"{layer.Source} = {value}\n");
                overrides.Add((layer.Source, layer.Origin));
            }
        }

        var root = reader.ReadLayers(document.ToString(), name =>
        {
            var layer = _layers[int.Parse(name, CultureInfo.InvariantCulture)];
            return layer.Value is null
                ? reader.ReadFile(layer.Source)
                : reader.ReadText(layer.Value, ConfigOrigin.InFile(layer.Source, 0), Environment.CurrentDirectory);
        });
        return new HoconConfig(reader.Convert(root, overrides));
    }

    /// <summary>The HOCON text for an override's value (see <see cref="AddOverride"/>).</summary>
    private static string HoconText(string value)
    {
        var trimmed = value.Trim();
        if (trimmed == "null" || trimmed.StartsWith("${", StringComparison.Ordinal))
        {
            return trimmed;
        }

        // A list or an object; "[::1]:8443" is an address, not a list.
        if ((trimmed.StartsWith('[') && trimmed.EndsWith(']')) || (trimmed.StartsWith('{') && trimmed.EndsWith('}')))
        {
            return trimmed;
        }

        // One quoted string, as it would be written in the file: --set 'server.unix_socket=""' sets the empty string.
        if (trimmed.Length >= 2 && trimmed[0] == '"' && trimmed[^1] == '"' && trimmed.AsSpan(1, trimmed.Length - 2).IndexOfAny('"', '\\') < 0)
        {
            return trimmed;
        }

        return Quote(value);
    }

    /// <summary><paramref name="text"/> as a quoted HOCON string, so '#', ':' or '//' survive.</summary>
    internal static string Quote(string text) =>
        "\"" + text.Replace("\\", "\\\\", StringComparison.Ordinal).Replace("\"", "\\\"", StringComparison.Ordinal)
            .Replace("\n", "\\n", StringComparison.Ordinal).Replace("\r", "\\r", StringComparison.Ordinal).Replace("\t", "\\t", StringComparison.Ordinal) + "\"";

    [GeneratedRegex("^[A-Za-z0-9_-]+(\\.[A-Za-z0-9_-]+)*$")]
    private static partial Regex KeyPath();

    /// <summary>A file (Source = its path), a text (Value), an override (Origin, Value) or an environment variable (Origin, Variable).</summary>
    private sealed record Layer(string Source, string? Value, ConfigOrigin? Origin, string? Variable);
}
