using System.Globalization;

namespace ImageActors.Images.Configuration;

/// <summary>
/// A configuration as Akka.NET's HOCON parser read it (every substitution replaced) with typed getters. The getters
/// that take a <see cref="ConfigKey"/> fall back to the key's default and check its constraints; a bad value throws
/// a <see cref="ConfigurationException"/> naming the key and where it was set.
/// </summary>
public sealed class HoconConfig
{
    internal HoconConfig(HoconObject root) => Root = root;

    /// <summary>A configuration with no keys: every key-based getter returns its default.</summary>
    public static HoconConfig Empty { get; } = new(new HoconObject(ConfigOrigin.BuiltInDefault));

    /// <summary>The resolved root object.</summary>
    public HoconObject Root { get; }

    /// <summary>Reads HOCON text with Akka's parser.</summary>
    public static HoconConfig Parse(string text, string sourceName = "<text>") =>
        new HoconConfigBuilder().AddText(text, sourceName).Build();

    /// <summary>Reads one file and what it includes with Akka's parser.</summary>
    public static HoconConfig Load(string path) => new HoconConfigBuilder().AddFile(path).Build();

    /// <summary>
    /// The object at <paramref name="path"/> (e.g. <c>akka</c>) as HOCON text under its full path, for Akka's
    /// <c>ConfigurationFactory</c>; null when nothing is set there. Every value is written as a quoted string (Akka's
    /// getters read numbers, booleans and durations from strings) so that no text is read twice as syntax.
    /// </summary>
    public string? ToHocon(string path)
    {
        if (GetValue(path) is not HoconObject { Fields.Count: > 0 } section)
        {
            return null;
        }

        var text = new System.Text.StringBuilder();
        text.Append(string.Join('.', path.Split('.').Select(QuoteKey))).Append(' ');
        Write(section, text, 0);
        return text.Append('\n').ToString();
    }

    private static void Write(HoconValue value, System.Text.StringBuilder text, int indent)
    {
        switch (value)
        {
            case HoconObject o:
                text.Append("{\n");
                foreach (var (key, child) in o.Fields)
                {
                    text.Append(' ', (indent + 1) * 2).Append(QuoteKey(key)).Append(child is HoconObject ? " " : " = ");
                    Write(child, text, indent + 1);
                    text.Append('\n');
                }

                text.Append(' ', indent * 2).Append('}');
                break;
            case HoconArray a:
                text.Append('[');
                for (var i = 0; i < a.Items.Count; i++)
                {
                    text.Append(i == 0 ? string.Empty : ", ");
                    Write(a.Items[i], text, indent + 1);
                }

                text.Append(']');
                break;
            case HoconScalar { Text: null }:
                text.Append("null");
                break;
            case HoconScalar scalar:
                text.Append(HoconConfigBuilder.Quote(scalar.Text));
                break;
        }
    }

    private static string QuoteKey(string key) =>
        key.All(c => char.IsAsciiLetterOrDigit(c) || c is '_' or '-') ? key : HoconConfigBuilder.Quote(key);

    /// <summary>The value at a dotted path, or null when nothing is defined there.</summary>
    public HoconValue? GetValue(string path)
    {
        HoconValue current = Root;
        foreach (var segment in path.Split('.'))
        {
            if (current is not HoconObject o || !o.TryGetValue(segment, out var next))
            {
                return null;
            }

            current = next;
        }

        return current;
    }

    /// <summary>True when <paramref name="path"/> has a value other than null.</summary>
    public bool HasPath(string path) => GetValue(path) is not null and not HoconScalar { IsNull: true };

    /// <summary>Every non-object value with its dotted path, in definition order.</summary>
    public IEnumerable<KeyValuePair<string, HoconValue>> Leaves() => Leaves(Root, string.Empty);

    private static IEnumerable<KeyValuePair<string, HoconValue>> Leaves(HoconObject o, string prefix)
    {
        foreach (var (key, value) in o.Fields)
        {
            var path = prefix.Length == 0 ? key : prefix + "." + key;
            if (value is HoconObject child)
            {
                foreach (var leaf in Leaves(child, path))
                {
                    yield return leaf;
                }
            }
            else
            {
                yield return new(path, value);
            }
        }
    }

    /// <summary>The string at <paramref name="path"/> (null for an explicit null).</summary>
    public string? GetString(string path) => Scalar(path).Text;

    /// <summary>The integer at <paramref name="path"/>.</summary>
    public long GetLong(string path)
    {
        var scalar = Scalar(path);
        return long.TryParse(scalar.Text, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out var value)
            ? value
            : throw Bad(path, scalar, $"'{scalar.Text}' is not a whole number");
    }

    /// <summary>The integer at <paramref name="path"/>, which must fit an <see cref="int"/>.</summary>
    public int GetInt(string path)
    {
        var value = GetLong(path);
        return value is >= int.MinValue and <= int.MaxValue ? (int)value : throw Bad(path, Scalar(path), $"{value} is too large");
    }

    /// <summary>The boolean at <paramref name="path"/> (<c>true/false</c>, <c>yes/no</c>, <c>on/off</c>).</summary>
    public bool GetBoolean(string path)
    {
        var scalar = Scalar(path);
        return ValueSyntax.TryParseBoolean(scalar.Text ?? string.Empty, out var value)
            ? value
            : throw Bad(path, scalar, $"'{scalar.Text}' is not a boolean (true/false, yes/no, on/off)");
    }

    /// <summary>The duration at <paramref name="path"/>; a plain number means <paramref name="plainNumberUnit"/> when given.</summary>
    public TimeSpan GetDuration(string path, DurationUnit? plainNumberUnit = null)
    {
        var scalar = Scalar(path);
        return ValueSyntax.TryParseDuration(scalar.Text ?? string.Empty, plainNumberUnit, out var value)
            ? value
            : throw Bad(path, scalar, $"'{scalar.Text}' is not a duration (e.g. 30s, 6h, 10d, 500ms)");
    }

    /// <summary>The size in bytes at <paramref name="path"/> (<c>10GiB</c>, <c>512MB</c>, <c>1k</c>).</summary>
    public long GetSize(string path)
    {
        var scalar = Scalar(path);
        return ValueSyntax.TryParseSize(scalar.Text ?? string.Empty, out var value)
            ? value
            : throw Bad(path, scalar, $"'{scalar.Text}' is not a size (e.g. 512MB, 10GiB, 1k)");
    }

    /// <summary>The array of strings at <paramref name="path"/>.</summary>
    public IReadOnlyList<string> GetStringList(string path)
    {
        var value = Required(path);
        if (value is not HoconArray array)
        {
            throw Bad(path, value, $"expected a list, found {value.KindName}");
        }

        return [.. array.Items.Select(i => i is HoconScalar { Text: { } text } ? text : throw Bad(path, i, $"expected strings in the list, found {i.KindName}"))];
    }

    /// <summary>The string value of <paramref name="key"/>, or its default; null when unset.</summary>
    public string? GetString(ConfigKey key) => Text(key);

    /// <summary>The integer value of <paramref name="key"/>, or its default.</summary>
    public int GetInt(ConfigKey key) => checked((int)GetLong(key));

    /// <summary>The integer value of <paramref name="key"/>, or its default.</summary>
    public long GetLong(ConfigKey key) => long.Parse(Text(key) ?? throw Unset(key), CultureInfo.InvariantCulture);

    /// <summary>The boolean value of <paramref name="key"/>, or its default.</summary>
    public bool GetBoolean(ConfigKey key)
    {
        ValueSyntax.TryParseBoolean(Text(key) ?? throw Unset(key), out var value);
        return value;
    }

    /// <summary>The duration value of <paramref name="key"/>, or its default.</summary>
    public TimeSpan GetDuration(ConfigKey key) => GetNullableDuration(key) ?? throw Unset(key);

    /// <summary>The duration value of <paramref name="key"/>, or its default; null when unset.</summary>
    public TimeSpan? GetNullableDuration(ConfigKey key)
    {
        var text = Text(key);
        if (text is null)
        {
            return null;
        }

        ValueSyntax.TryParseDuration(text, key.PlainNumberUnit, out var value);
        return value;
    }

    /// <summary>The size value of <paramref name="key"/>, or its default.</summary>
    public long GetSize(ConfigKey key) => GetNullableSize(key) ?? throw Unset(key);

    /// <summary>The size value of <paramref name="key"/>, or its default; null when unset.</summary>
    public long? GetNullableSize(ConfigKey key)
    {
        var text = Text(key);
        if (text is null)
        {
            return null;
        }

        ValueSyntax.TryParseSize(text, out var value);
        return value;
    }

    /// <summary>The list value of <paramref name="key"/>, or an empty list.</summary>
    public IReadOnlyList<string> GetStringList(ConfigKey key)
    {
        var value = GetValue(key.Path);
        if (value is null or HoconScalar { IsNull: true })
        {
            return [];
        }

        Check(key, value);
        return GetStringList(key.Path);
    }

    /// <summary>
    /// The checked text of <paramref name="key"/>: the configured value, else the default; null
    /// when both are unset (an empty string counts as unset for keys without a default).
    /// </summary>
    private string? Text(ConfigKey key)
    {
        var value = GetValue(key.Path);
        if (value is null or HoconScalar { IsNull: true })
        {
            return key.Default;
        }

        Check(key, value);
        var text = ((HoconScalar)value).Text!;
        return text.Length == 0 && key.Default is null ? null : text;
    }

    private static void Check(ConfigKey key, HoconValue value)
    {
        if (key.Validate(value) is { } problem)
        {
            throw new ConfigurationException(new ConfigurationError(key.Path, value.Origin, problem));
        }
    }

    private static ConfigurationException Unset(ConfigKey key) =>
        new(new ConfigurationError(key.Path, ConfigOrigin.BuiltInDefault, "has no value and no default"));

    private HoconValue Required(string path) =>
        GetValue(path) ?? throw new ConfigurationException(new ConfigurationError(path, Root.Origin, "is not set"));

    private HoconScalar Scalar(string path)
    {
        var value = Required(path);
        return value as HoconScalar ?? throw Bad(path, value, $"expected a single value, found {value.KindName}");
    }

    private static ConfigurationException Bad(string path, HoconValue value, string message) =>
        new(new ConfigurationError(path, value.Origin, message));
}
