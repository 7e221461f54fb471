using System.Globalization;
using System.Text.RegularExpressions;
using AkkaArray = Akka.Configuration.Hocon.HoconArray;
using AkkaLiteral = Akka.Configuration.Hocon.HoconLiteral;
using AkkaObject = Akka.Configuration.Hocon.HoconObject;
using AkkaParser = Akka.Configuration.Hocon.Parser;
using AkkaRoot = Akka.Configuration.Hocon.HoconRoot;
using AkkaSubstitution = Akka.Configuration.Hocon.HoconSubstitution;
using AkkaValue = Akka.Configuration.Hocon.HoconValue;

namespace ImageActors.Images.Configuration;

/// <summary>
/// Reads configuration files with Akka.NET's HOCON parser (the one the actor system itself uses) and turns what it
/// read into <see cref="HoconValue"/> nodes that know their source. Akka's parser records no positions, so a value's
/// origin is the file whose parse created it: each file is parsed on its own (an <c>include "file"</c> is resolved
/// relative to the including file through the parser's include callback), and a node keeps the origin of the
/// innermost file that wrote it. Where a line is reported, it comes from the parser's character position or from
/// finding the offending text in the file, never from a guess.
/// </summary>
internal sealed partial class AkkaHoconReader
{
    /// <summary>What a user who wrote <c>${?VAR}</c> is told.</summary>
    internal const string OptionalSubstitution =
        "${?VAR} is not read by Akka's HOCON parser; IMAGEACTORS_DATA and IMAGEACTORS_POSTGRESQL apply without it, any other key can be given with --set key=value";

    private readonly Dictionary<object, ConfigOrigin> _origins = new(ReferenceEqualityComparer.Instance);
    private readonly Stack<string> _reading = new();
    private volatile ConfigOrigin? _current;

    /// <summary>The file or text being parsed right now (null between parses), to name it when a parse does not finish.</summary>
    public ConfigOrigin? Current => _current;

    /// <summary>Parses one file and what it includes.</summary>
    /// <exception cref="ConfigurationException">The file is missing, includes itself, or Akka's parser rejects it.</exception>
    public AkkaRoot ReadFile(string path, ConfigOrigin? includedFrom = null)
    {
        var full = Path.GetFullPath(path);
        var origin = ConfigOrigin.InFile(full, 0);
        if (!File.Exists(full))
        {
            throw Error(includedFrom ?? origin, includedFrom is null ? "configuration file not found" : $"includes {full}, which does not exist");
        }

        if (_reading.Contains(full, StringComparer.Ordinal))
        {
            throw Error(includedFrom ?? origin, $"includes {full}, which is already being read (an include cycle)");
        }

        _reading.Push(full);
        try
        {
            var directory = Path.GetDirectoryName(full)!;
            return ReadText(File.ReadAllText(full), origin, directory);
        }
        finally
        {
            _reading.Pop();
        }
    }

    /// <summary>Parses HOCON text whose includes are relative to <paramref name="directory"/>.</summary>
    /// <exception cref="ConfigurationException">Akka's parser rejects the text or something it includes.</exception>
    public AkkaRoot ReadText(string text, ConfigOrigin origin, string directory) =>
        Read(text, origin, name => ReadFile(Path.Combine(directory, name), origin));

    /// <summary>
    /// Parses the document that layers the sources: <c>include</c> lines that <paramref name="include"/> answers,
    /// then assignments. The assignments' values are left unregistered; <see cref="Convert"/> gives them the
    /// origin of the override that set their path.
    /// </summary>
    public AkkaRoot ReadLayers(string document, Func<string, AkkaRoot> include)
    {
        try
        {
            return AkkaParser.Parse(document, include);
        }
        catch (Exception e) when (e is not ConfigurationException)
        {
            throw Error(ConfigOrigin.FromOverride("--set"), Describe(e.Message, document).Message);
        }
    }

    /// <summary>
    /// The resolved tree of <paramref name="root"/>. A node nobody's file wrote takes the origin of the last of
    /// <paramref name="overrides"/> whose path is the node's or encloses it.
    /// </summary>
    public HoconObject Convert(AkkaRoot root, IReadOnlyList<(string Path, ConfigOrigin Origin)> overrides)
    {
        var converted = ConvertValue(root.Value, string.Empty, overrides, ConfigOrigin.BuiltInDefault, depth: 0);
        return converted as HoconObject ?? new HoconObject(ConfigOrigin.BuiltInDefault);
    }

    private AkkaRoot Read(string text, ConfigOrigin origin, Func<string, AkkaRoot> include)
    {
        AkkaRoot root;
        var outer = _current;
        _current = origin;
        try
        {
            root = AkkaParser.Parse(text, include);
        }
        catch (Exception e) when (e is not ConfigurationException)
        {
            var (line, message) = Describe(e.Message, text);
            throw Error(origin with { Line = line }, message);
        }
        finally
        {
            _current = outer;
        }

        // Akka's tokenizer reads "${?" as a substitution of the empty path (the whole configuration) and drops what follows.
        if (root.Substitutions.Any(s => string.IsNullOrEmpty(s.Path) || s.Path.StartsWith('?')))
        {
            throw Error(origin with { Line = LineOf(text, "${?") }, OptionalSubstitution);
        }

        // Akka's parser knows only include "file"; include required(...), file(...) and url(...) become a key.
        if (FindKey(root.Value, k => k.StartsWith("include ", StringComparison.Ordinal), depth: 0) is { } misreadInclude)
        {
            throw Error(origin with { Line = LineOf(text, misreadInclude) }, $"{misreadInclude.TrimEnd('(')}(...) is not read by Akka's HOCON parser; write include \"path\" (a path relative to this file)");
        }

        Register(root.Value, origin);

        // The substitutions are resolved already, against this text; handing them back would make the including
        // parse resolve them again under a prefixed path that does not exist.
        return new AkkaRoot(root.Value);
    }

    private void Register(AkkaValue value, ConfigOrigin origin)
    {
        foreach (var element in value.Values)
        {
            _origins.TryAdd(element, origin);
            switch (element)
            {
                case AkkaObject o:
                    foreach (var child in o.Items.Values)
                    {
                        Register(child, origin);
                    }

                    break;
                case AkkaArray a:
                    foreach (var item in a)
                    {
                        Register(item, origin);
                    }

                    break;
            }
        }
    }

    private HoconValue ConvertValue(AkkaValue value, string path, IReadOnlyList<(string Path, ConfigOrigin Origin)> overrides, ConfigOrigin parent, int depth)
    {
        // A value Akka's parser left without parts (text it could not read) is the enclosing object's.
        var origin = OriginOf(value, path, overrides) ?? parent;
        if (depth > 64)
        {
            throw Error(origin, $"{path} nests deeper than 64 levels (a substitution that refers to itself?)");
        }

        if (value.IsObject())
        {
            var result = new HoconObject(origin);
            foreach (var (key, child) in value.GetObject().Items)
            {
                result.Fields[key] = ConvertValue(child, path.Length == 0 ? key : path + "." + key, overrides, origin, depth + 1);
            }

            return result;
        }

        // An empty list is not an array to Akka's IsArray(); look at the parts themselves.
        if (value.Values.Count > 0 && value.Values.Any(e => e is AkkaArray) || value.IsArray())
        {
            var items = value.Values.SelectMany(e => e switch
            {
                AkkaArray a => a,
                AkkaSubstitution { ResolvedValue: { } resolved } when resolved.IsArray() => resolved.GetArray(),
                _ => [],
            });
            return new HoconArray([.. items.Select(item => ConvertValue(item, path, overrides, origin, depth + 1))], origin);
        }

        var isNull = value.Values.Count == 1 && value.Values[0] is AkkaLiteral { Value: null };
        return new HoconScalar(isNull ? null : value.GetString(), origin);
    }

    private ConfigOrigin? OriginOf(AkkaValue value, string path, IReadOnlyList<(string Path, ConfigOrigin Origin)> overrides)
    {
        // The first part that is more than the whitespace between the parts of a concatenation.
        foreach (var element in value.Values)
        {
            var blank = element is AkkaLiteral { Value: { } text } && string.IsNullOrWhiteSpace(text) && value.Values.Count > 1;
            if (!blank && _origins.TryGetValue(element, out var origin))
            {
                return origin;
            }
        }

        for (var i = overrides.Count - 1; i >= 0; i--)
        {
            var candidate = overrides[i].Path;
            if (path == candidate || path.StartsWith(candidate + ".", StringComparison.Ordinal) || candidate.StartsWith(path + ".", StringComparison.Ordinal))
            {
                return overrides[i].Origin;
            }
        }

        return null;
    }

    private static string? FindKey(AkkaValue value, Func<string, bool> match, int depth)
    {
        if (depth > 64 || !value.Values.All(e => e is AkkaObject))
        {
            return null;
        }

        foreach (var o in value.Values.Cast<AkkaObject>())
        {
            foreach (var (key, child) in o.Items)
            {
                if (match(key))
                {
                    return key;
                }

                if (FindKey(child, match, depth + 1) is { } found)
                {
                    return found;
                }
            }
        }

        return null;
    }

    /// <summary>The first line (1-based) that holds <paramref name="needle"/> outside a comment, or 0.</summary>
    private static int LineOf(string text, string needle)
    {
        var lines = text.Split('\n');
        for (var i = 0; i < lines.Length; i++)
        {
            var trimmed = lines[i].TrimStart();
            if (!trimmed.StartsWith('#') && !trimmed.StartsWith("//", StringComparison.Ordinal) && lines[i].Contains(needle, StringComparison.Ordinal))
            {
                return i + 1;
            }
        }

        return 0;
    }

    /// <summary>Akka's message in a few words, and the line when it gives a character position.</summary>
    private static (int Line, string Message) Describe(string message, string text)
    {
        if (UnresolvedSubstitution().Match(message) is { Success: true } unresolved)
        {
            var name = unresolved.Groups[1].Value.Trim();
            return (LineOf(text, "${" + name + "}"), $"${{{name}}} is not defined (Akka's HOCON parser looks it up in the configuration only, not the environment)");
        }

        if (UnknownToken().Match(message) is { Success: true } token &&
            int.TryParse(token.Groups[1].Value, NumberStyles.None, CultureInfo.InvariantCulture, out var position) && position <= text.Length)
        {
            return (text.AsSpan(0, position).Count('\n') + 1, "syntax error: unexpected text");
        }

        var firstLine = message.Split('\n', 2)[0].Trim();
        return (0, "syntax error: " + (firstLine.Length == 0 ? "Akka's HOCON parser rejected it" : firstLine));
    }

    private static ConfigurationException Error(ConfigOrigin origin, string message) =>
        new(new ConfigurationError(null, origin, message));

    [GeneratedRegex("^Unresolved substitution: ?(.*)$", RegexOptions.Multiline)]
    private static partial Regex UnresolvedSubstitution();

    [GeneratedRegex("Unknown token at position (\\d+)")]
    private static partial Regex UnknownToken();
}
