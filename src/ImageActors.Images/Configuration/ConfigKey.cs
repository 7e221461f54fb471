using System.Globalization;

namespace ImageActors.Images.Configuration;

/// <summary>The type a configuration key's value must have.</summary>
public enum ConfigValueType
{
    /// <summary>Any string (quoted or not).</summary>
    String,

    /// <summary>A whole number.</summary>
    Integer,

    /// <summary><c>true/false</c>, <c>yes/no</c>, <c>on/off</c>.</summary>
    Boolean,

    /// <summary>A duration such as <c>6h</c> or <c>500ms</c>.</summary>
    Duration,

    /// <summary>A size in bytes such as <c>10GiB</c> or <c>512MB</c>.</summary>
    Size,

    /// <summary>An array of strings.</summary>
    StringList,
}

/// <summary>
/// One known configuration key: its full path, type, default (as HOCON text; null = unset),
/// a one-line description and the constraints its value must meet.
/// </summary>
public sealed class ConfigKey
{
    private ConfigKey(string path, ConfigValueType type, string? defaultText, string description)
    {
        Path = path;
        Type = type;
        Default = defaultText;
        Description = description;
    }

    /// <summary>The full dotted path, e.g. <c>images.remote_cache_expiry</c>.</summary>
    public string Path { get; }

    /// <summary>The type of its value.</summary>
    public ConfigValueType Type { get; }

    /// <summary>The default as HOCON text (<c>10d</c>, <c>on</c>); null means unset by default.</summary>
    public string? Default { get; }

    /// <summary>One line saying what the key controls.</summary>
    public string Description { get; }

    /// <summary>What a plain number means for a duration key; null when a unit is required.</summary>
    public DurationUnit? PlainNumberUnit { get; private init; }

    /// <summary>The smallest accepted integer or size.</summary>
    public long? Minimum { get; private init; }

    /// <summary>The largest accepted integer or size.</summary>
    public long? Maximum { get; private init; }

    /// <summary>The accepted values of a string key, when it is a choice.</summary>
    public IReadOnlyList<string>? AllowedValues { get; private init; }

    /// <summary>An extra check of a string value; returns the problem, or null when the value is fine.</summary>
    public Func<string, string?>? Check { get; private init; }

    /// <summary>True when the value may hold a secret (a password in a connection string); displays redact it.</summary>
    public bool Sensitive { get; private init; }

    /// <summary>The environment variable that, when set and not empty, overrides what the files say (over every file, under <c>--set</c>).</summary>
    public string? EnvironmentVariable { get; private init; }

    /// <summary>True for a key of Akka.NET's own configuration (<c>akka.*</c>): shown as set, checked by Akka when the actor system starts.</summary>
    public bool IsAkkaSetting { get; private init; }

    /// <summary>A string key; <paramref name="environmentVariable"/>, when given, overrides the files.</summary>
    public static ConfigKey Text(string path, string? defaultText, string description, Func<string, string?>? check = null, string? environmentVariable = null) =>
        new(path, ConfigValueType.String, defaultText, description) { Check = check, EnvironmentVariable = environmentVariable };

    /// <summary>A connection-string key: <c>Password=...</c> is redacted wherever the value is displayed.</summary>
    public static ConfigKey ConnectionString(string path, string description, string? environmentVariable = null) =>
        new(path, ConfigValueType.String, null, description) { Sensitive = true, EnvironmentVariable = environmentVariable };

    /// <summary>A key of Akka.NET's own configuration as a user set it (<c>akka.loglevel</c>); Akka checks its value.</summary>
    public static ConfigKey AkkaSetting(string path, bool list) =>
        new(path, list ? ConfigValueType.StringList : ConfigValueType.String, null, "Akka.NET setting") { IsAkkaSetting = true };

    /// <summary>A string key that must be one of <paramref name="allowed"/>.</summary>
    public static ConfigKey OneOf(string path, string defaultText, string description, params string[] allowed) =>
        new(path, ConfigValueType.String, defaultText, description) { AllowedValues = allowed };

    /// <summary>An integer key within <paramref name="minimum"/>..<paramref name="maximum"/>.</summary>
    public static ConfigKey Integer(string path, long defaultValue, string description, long minimum, long maximum = int.MaxValue) =>
        new(path, ConfigValueType.Integer, defaultValue.ToString(CultureInfo.InvariantCulture), description) { Minimum = minimum, Maximum = maximum };

    /// <summary>A boolean key.</summary>
    public static ConfigKey Boolean(string path, bool defaultValue, string description) =>
        new(path, ConfigValueType.Boolean, defaultValue ? "on" : "off", description);

    /// <summary>A duration key (never negative); a plain number means <paramref name="plainNumberUnit"/>, when given.</summary>
    public static ConfigKey Duration(string path, string defaultText, string description, DurationUnit? plainNumberUnit = null) =>
        new(path, ConfigValueType.Duration, defaultText, description) { PlainNumberUnit = plainNumberUnit };

    /// <summary>A size key; a null default means unset (unbounded).</summary>
    public static ConfigKey Size(string path, string? defaultText, string description, long minimum = 0, long? maximum = null) =>
        new(path, ConfigValueType.Size, defaultText, description) { Minimum = minimum, Maximum = maximum };

    /// <summary>A list-of-strings key.</summary>
    public static ConfigKey StringList(string path, string description) =>
        new(path, ConfigValueType.StringList, "[]", description);

    /// <summary>
    /// A list whose elements may be strings or objects (an entry with settings of its own), each checked by
    /// <paramref name="checkItem"/>; bind it by reading <see cref="HoconConfig.GetValue(string)"/>.
    /// </summary>
    /// <param name="path">The key's path.</param>
    /// <param name="description">One line saying what the key controls.</param>
    /// <param name="checkItem">Returns the problem with one element, or null when it is acceptable.</param>
    public static ConfigKey List(string path, string description, Func<HoconValue, string?> checkItem) =>
        new(path, ConfigValueType.StringList, "[]", description) { ItemCheck = checkItem ?? throw new ArgumentNullException(nameof(checkItem)) };

    /// <summary>For a list whose elements may be objects, the check of one element; null for a list of strings.</summary>
    public Func<HoconValue, string?>? ItemCheck { get; private init; }

    /// <summary>A name for the type, for messages and <c>config show</c>.</summary>
    public string TypeName => Type switch
    {
        ConfigValueType.String when AllowedValues is not null => "one of " + string.Join(", ", AllowedValues),
        ConfigValueType.String => "string",
        ConfigValueType.Integer => "integer",
        ConfigValueType.Boolean => "boolean",
        ConfigValueType.Duration => "duration",
        ConfigValueType.Size => "size",
        _ => "list of strings",
    };

    /// <summary>The problem with <paramref name="value"/> for this key, or null when it is acceptable.</summary>
    public string? Validate(HoconValue value)
    {
        if (Type == ConfigValueType.StringList && ItemCheck is { } checkItem)
        {
            if (value is not HoconArray list)
            {
                return $"expected a list, found {value.KindName}";
            }

            for (var i = 0; i < list.Items.Count; i++)
            {
                if (checkItem(list.Items[i]) is { } problem)
                {
                    return $"element {i + 1}: {problem}";
                }
            }

            return null;
        }

        if (Type == ConfigValueType.StringList)
        {
            return value is HoconArray array
                ? array.Items.Any(i => i is not HoconScalar { IsNull: false }) ? "expected a list of strings; an element is not a string" : null
                : $"expected a list of strings, found {value.KindName}";
        }

        if (value is not HoconScalar scalar)
        {
            return $"expected {Article()}{TypeName}, found {value.KindName}";
        }

        if (scalar.Text is null || (scalar.Text.Length == 0 && Default is null))
        {
            return Default is null ? null : "cannot be unset (null); remove the line to use the default " + Default;
        }

        return ValidateText(scalar.Text);
    }

    /// <summary>The problem with the textual value <paramref name="text"/>, or null when it is acceptable.</summary>
    public string? ValidateText(string text)
    {
        switch (Type)
        {
            case ConfigValueType.String:
                if (AllowedValues is not null && !AllowedValues.Contains(text, StringComparer.Ordinal))
                {
                    return $"'{text}' is not one of {string.Join(", ", AllowedValues)}";
                }

                return Check?.Invoke(text);
            case ConfigValueType.Integer:
                if (!long.TryParse(text, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out var number))
                {
                    return $"'{text}' is not a whole number";
                }

                return number < Minimum || number > Maximum ? $"{number} is out of range ({Range()})" : null;
            case ConfigValueType.Boolean:
                return ValueSyntax.TryParseBoolean(text, out _) ? null : $"'{text}' is not a boolean (true/false, yes/no, on/off)";
            case ConfigValueType.Duration:
                if (!ValueSyntax.TryParseDuration(text, PlainNumberUnit, out var duration))
                {
                    return PlainNumberUnit is { } unit
                        ? $"'{text}' is not a duration (e.g. 6h, 10d, 500ms; a plain number means {unit.ToString().ToLowerInvariant()})"
                        : $"'{text}' is not a duration (e.g. 30s, 6h, 10d, 500ms; a unit is required)";
                }

                return duration < TimeSpan.Zero ? $"'{text}' is negative; durations must be >= 0" : null;
            case ConfigValueType.Size:
                if (!ValueSyntax.TryParseSize(text, out var bytes))
                {
                    return $"'{text}' is not a size (e.g. 512MB, 10GiB, 1k)";
                }

                return bytes < Minimum ? $"{text} is below the minimum of {Minimum} bytes"
                    : bytes > Maximum ? $"{text} is above the maximum of {Maximum} bytes"
                    : null;
            default:
                return null;
        }
    }

    private string Article() => Type is ConfigValueType.Integer ? "an " : AllowedValues is null ? "a " : string.Empty;

    private string Range() => Maximum == int.MaxValue ? $">= {Minimum}" : $"{Minimum}..{Maximum}";

    /// <inheritdoc/>
    public override string ToString() => Path;
}
