using System.Globalization;
using System.Text;
using System.Text.RegularExpressions;
using YamlDotNet.Core;
using YamlDotNet.RepresentationModel;

namespace ImageActors.Streaming.Images;

/// <summary>
/// Reads <c>metadata.yaml</c> by Incus' rules (<c>architecture</c> known, <c>creation_date</c> non-zero) and refuses,
/// rather than cuts, a file over <see cref="MaxLength"/>. Every error is one line naming metadata.yaml and the field.
/// </summary>
public static partial class MetadataYaml
{
    /// <summary>
    /// The largest metadata.yaml accepted: 1 MiB, the most the Incus daemon reads of it. A longer file is refused
    /// with an error naming this limit, never read in part.
    /// </summary>
    public const int MaxLength = 1 << 20;

    /// <summary>
    /// The deepest nesting of <c>[ ]</c> and <c>{ }</c> accepted. YamlDotNet recurses once per level, so a file of a
    /// few hundred KiB of brackets would overflow the stack and end the process; real metadata nests a few levels.
    /// </summary>
    public const int MaxNesting = 100;

    /// <summary>The error Incus gives when a metadata tarball has no metadata.yaml.</summary>
    public const string MissingMessage = "Metadata tarball is missing metadata.yaml";

    /// <summary>Unix seconds of <see cref="DateTimeOffset.MinValue"/>.</summary>
    private static readonly long MinSeconds = DateTimeOffset.MinValue.ToUnixTimeSeconds();

    /// <summary>Unix seconds of <see cref="DateTimeOffset.MaxValue"/>.</summary>
    private static readonly long MaxSeconds = DateTimeOffset.MaxValue.ToUnixTimeSeconds();

    /// <summary>Reads and checks metadata.yaml from <paramref name="stream"/>.</summary>
    /// <exception cref="InvalidImageException">The file is over <see cref="MaxLength"/>, the YAML does not parse, or a rule of spec §1.4 fails.</exception>
    public static ImageMetadata Read(Stream stream)
    {
        ArgumentNullException.ThrowIfNull(stream);

        // One byte more than the limit tells a file of exactly MaxLength from a longer one.
        var buffer = new byte[MaxLength + 1];
        var length = 0;
        while (length < buffer.Length)
        {
            var n = stream.Read(buffer, length, buffer.Length - length);
            if (n == 0)
            {
                break;
            }

            length += n;
        }

        if (length > MaxLength)
        {
            throw new InvalidImageException($"metadata.yaml is larger than the {MaxLength / (1 << 20)} MiB ({MaxLength} bytes) limit; shorten its description or other properties");
        }

        return Parse(Encoding.UTF8.GetString(buffer, 0, length));
    }

    /// <summary>Parses and checks metadata.yaml text.</summary>
    /// <exception cref="InvalidImageException">The YAML does not parse, or a rule of spec §1.4 fails.</exception>
    public static ImageMetadata Parse(string yaml)
    {
        ArgumentNullException.ThrowIfNull(yaml);
        if (LineNestedTooDeep(yaml) is { } deepLine)
        {
            throw new InvalidImageException($"Could not parse metadata.yaml: line {deepLine}: lists and mappings in [ ] or {{ }} are nested more than {MaxNesting} deep");
        }

        var yamlStream = new YamlStream();
        try
        {
            yamlStream.Load(new StringReader(yaml));
        }
        catch (YamlException e)
        {
            throw new InvalidImageException($"Could not parse metadata.yaml: line {e.Start.Line}, column {e.Start.Column}: {Reason(e)}", e);
        }
        catch (Exception e) when (e is InvalidOperationException or ArgumentException)
        {
            // YamlDotNet ends some malformed text in errors of its own state rather than a YamlException naming a
            // position: a quote left open inside a plain value, a key with no value where a node should start.
            throw new InvalidImageException($"Could not parse metadata.yaml: the YAML is malformed ({OneLine(e.Message).TrimEnd('.')})", e);
        }

        var root = yamlStream.Documents.Count == 0 ? null : yamlStream.Documents[0].RootNode;
        var top = root is null || IsNull(root) ? null : root as YamlMappingNode ?? throw Invalid("", "the document must be a mapping of keys to values");
        var architectureText = Scalar(top, "architecture") ?? "";
        if (!Architecture.TryParse(architectureText, out var architecture))
        {
            throw new InvalidImageException($"Architecture isn't supported: {architectureText}{Where("architecture")}");
        }

        var creationDate = Date(top, "creation_date");
        if (creationDate is null)
        {
            throw new InvalidImageException($"Missing creation date{Where("creation_date")}");
        }

        var expiryDate = Date(top, "expiry_date");
        var templates = new Dictionary<string, ImageTemplate>(StringComparer.Ordinal);
        foreach (var (path, node) in Mapping(top, "templates"))
        {
            var field = "templates." + path;
            var entry = node is null || IsNull(node) ? null : node as YamlMappingNode ?? throw Invalid(field, "must be a mapping");
            templates[path] = new ImageTemplate(
                List(entry, field, "when"),
                Scalar(entry, "template", field) ?? "",
                Bool(entry, field, "create_only"),
                Strings(entry, "properties", field),
                Scalar(entry, "uid", field),
                Scalar(entry, "gid", field),
                Scalar(entry, "mode", field));
        }

        return new ImageMetadata(
            architecture,
            architectureText,
            DateTimeOffset.FromUnixTimeSeconds(creationDate.Value),
            expiryDate is null ? null : DateTimeOffset.FromUnixTimeSeconds(expiryDate.Value),
            Strings(top, "properties"),
            templates);
    }

    // The 1-based line where [ ] and { } outside quoted values and comments first nest deeper than MaxNesting, or null.
    // Block scalars are not told apart: a description with more than MaxNesting unclosed brackets is refused too.
    private static int? LineNestedTooDeep(string yaml)
    {
        var depth = 0;
        var line = 1;
        var quote = '\0';
        var comment = false;
        for (var i = 0; i < yaml.Length; i++)
        {
            var c = yaml[i];
            if (c == '\n')
            {
                line++;
                comment = false;
                continue;
            }

            if (comment)
            {
                continue;
            }

            if (quote != '\0')
            {
                if (c == '\\' && quote == '"')
                {
                    i++;
                }
                else if (c == quote)
                {
                    quote = '\0';
                }

                continue;
            }

            switch (c)
            {
                // A quote opens a quoted value only where a value starts; inside a plain value it is text, and
                // treating it as an opening would hide the brackets after it.
                case '\'' or '"' when i == 0 || char.IsWhiteSpace(yaml[i - 1]) || yaml[i - 1] is '[' or '{' or ',':
                    quote = c;
                    break;
                case '#' when i == 0 || char.IsWhiteSpace(yaml[i - 1]):
                    comment = true;
                    break;
                case '[' or '{' when ++depth > MaxNesting:
                    return line;
                case ']' or '}':
                    depth = Math.Max(0, depth - 1);
                    break;
            }
        }

        return null;
    }

    private static string Where(string field) => $" (metadata.yaml, field {field})";

    private static InvalidImageException Invalid(string field, string problem) =>
        new(field.Length == 0 ? $"Invalid metadata.yaml: {problem}" : $"Invalid metadata.yaml: {field} {problem}{Where(field)}");

    // YamlDotNet puts both marks before its reason; the caller names the position once, as line and column.
    private static string Reason(YamlException e) => OneLine(MarkPrefix().Replace(e.Message, ""));

    private static string OneLine(string text) => string.Join(' ', text.Split(['\r', '\n'], StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries));

    [GeneratedRegex(@"^\(Line: \d+, Col: \d+, Idx: \d+\) - \(Line: \d+, Col: \d+, Idx: \d+\): ")]
    private static partial Regex MarkPrefix();

    private static bool IsNull(YamlNode node) =>
        node is YamlScalarNode { Style: ScalarStyle.Plain, Value: null or "" or "~" or "null" or "Null" or "NULL" };

    private static YamlNode? Child(YamlMappingNode? mapping, string key) =>
        mapping is not null && mapping.Children.TryGetValue(new YamlScalarNode(key), out var node) && !IsNull(node) ? node : null;

    private static string Field(string? parent, string key) => parent is null ? key : parent + "." + key;

    private static string? Scalar(YamlMappingNode? mapping, string key, string? parent = null) => Child(mapping, key) switch
    {
        null => null,
        YamlScalarNode scalar => scalar.Value ?? "",
        var other => throw Invalid(Field(parent, key), $"must be a single value, not a {Kind(other)}"),
    };

    private static string Kind(YamlNode node) => node switch
    {
        YamlSequenceNode => "list",
        YamlMappingNode => "mapping",
        _ => "value",
    };

    private static long? Date(YamlMappingNode? mapping, string field)
    {
        var text = Scalar(mapping, field);
        if (text is null)
        {
            return null;
        }

        if (!long.TryParse(text, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out var seconds))
        {
            throw Invalid(field, $"must be whole seconds since 1970-01-01 that fit in 64 bits, got \"{OneLine(text)}\"");
        }

        if (seconds == 0)
        {
            return null;
        }

        if (seconds < MinSeconds || seconds > MaxSeconds)
        {
            throw Invalid(field, $"{seconds} is outside the dates that can be stored (seconds since 1970-01-01 from {MinSeconds} to {MaxSeconds}, years 1 to 9999)");
        }

        return seconds;
    }

    private static bool Bool(YamlMappingNode? mapping, string parent, string key)
    {
        var text = Scalar(mapping, key, parent);
        return text switch
        {
            null => false,
            "true" or "True" or "TRUE" or "yes" or "Yes" or "on" => true,
            "false" or "False" or "FALSE" or "no" or "No" or "off" => false,
            _ => throw Invalid(Field(parent, key), $"must be true or false, got \"{OneLine(text)}\""),
        };
    }

    private static List<string> List(YamlMappingNode? mapping, string parent, string key)
    {
        var field = Field(parent, key);
        return Child(mapping, key) switch
        {
            null => [],
            YamlSequenceNode sequence => [.. sequence.Children.Select(item => item as YamlScalarNode is { } s ? s.Value ?? "" : throw Invalid(field, $"must be a list of single values, not of a {Kind(item)}"))],
            var other => throw Invalid(field, $"must be a list, not a {Kind(other)}"),
        };
    }

    private static IEnumerable<(string Key, YamlNode? Value)> Mapping(YamlMappingNode? mapping, string key, string? parent = null)
    {
        var field = Field(parent, key);
        return Child(mapping, key) switch
        {
            null => [],
            YamlMappingNode map => map.Children.Select(pair => (pair.Key is YamlScalarNode { Value: { } name } ? name : throw Invalid(field, "must have single values as keys"), (YamlNode?)pair.Value)),
            var other => throw Invalid(field, $"must be a mapping, not a {Kind(other)}"),
        };
    }

    private static Dictionary<string, string> Strings(YamlMappingNode? mapping, string key, string? parent = null)
    {
        var field = Field(parent, key);
        var result = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var (name, value) in Mapping(mapping, key, parent))
        {
            result[name] = value switch
            {
                null => "",
                YamlScalarNode scalar => IsNull(scalar) ? "" : scalar.Value ?? "",
                var other => throw Invalid(field + "." + name, $"must be a single value, not a {Kind(other)}"),
            };
        }

        return result;
    }
}
