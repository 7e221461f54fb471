namespace ImageActors.Actors.Configuration;

/// <summary>A node of a HOCON tree: an object, an array or a scalar, with the origin it was read from.</summary>
public abstract class HoconValue
{
    private protected HoconValue(ConfigOrigin origin) => Origin = origin;

    /// <summary>Where this value was written (file and line, environment variable, override).</summary>
    public ConfigOrigin Origin { get; }

    /// <summary>A short name of the kind of value, for error messages (<c>an object</c>, <c>a string</c>).</summary>
    internal abstract string KindName { get; }
}

/// <summary>A HOCON scalar: a string (quoted or not), a number, a boolean, or null; kept as written.</summary>
public sealed class HoconScalar : HoconValue
{
    internal HoconScalar(string? text, bool quoted, ConfigOrigin origin)
        : base(origin)
    {
        Text = text;
        Quoted = quoted;
    }

    /// <summary>The text as written (after unescaping), or null for HOCON's <c>null</c>.</summary>
    public string? Text { get; }

    /// <summary>True when the value was a quoted string (so <c>"null"</c> is text, not null).</summary>
    public bool Quoted { get; }

    /// <summary>True for an unquoted <c>null</c>: the key is explicitly unset.</summary>
    public bool IsNull => Text is null;

    internal override string KindName => IsNull ? "null" : "a string";

    /// <inheritdoc/>
    public override string ToString() => Text ?? "null";
}

/// <summary>A HOCON array.</summary>
public sealed class HoconArray : HoconValue
{
    internal HoconArray(List<HoconValue> items, ConfigOrigin origin)
        : base(origin) => MutableItems = items;

    internal List<HoconValue> MutableItems { get; }

    /// <summary>The elements, in order.</summary>
    public IReadOnlyList<HoconValue> Items => MutableItems;

    internal override string KindName => "an array";
}

/// <summary>A HOCON object: fields in the order they were first defined.</summary>
public sealed class HoconObject : HoconValue
{
    internal HoconObject(ConfigOrigin origin)
        : base(origin)
    {
    }

    internal OrderedDictionary<string, HoconValue> Fields { get; } = new(StringComparer.Ordinal);

    /// <summary>The field names, in definition order.</summary>
    public IEnumerable<string> Keys => Fields.Keys;

    /// <summary>The value of field <paramref name="key"/> (one path segment), if present.</summary>
    public bool TryGetValue(string key, [System.Diagnostics.CodeAnalysis.NotNullWhen(true)] out HoconValue? value) =>
        Fields.TryGetValue(key, out value);

    internal override string KindName => "an object";

    /// <inheritdoc />
    public override string ToString() => "{ " + string.Join(", ", Fields.Select(f => f.Key + " = " + f.Value)) + " }";
}

/// <summary><c>${path}</c> or <c>${?path}</c>, until resolution replaces it.</summary>
internal sealed class HoconSubstitution(IReadOnlyList<string> path, bool optional, ConfigOrigin origin) : HoconValue(origin)
{
    public IReadOnlyList<string> Path { get; } = path;

    public bool Optional { get; } = optional;

    public string PathText => string.Join('.', Path);

    internal override string KindName => "a substitution";

    public override string ToString() => Optional ? $"${{?{PathText}}}" : $"${{{PathText}}}";
}

/// <summary>Values written next to each other on one line: strings join, arrays append, objects merge.</summary>
internal sealed class HoconConcatenation(List<HoconValue> parts, ConfigOrigin origin) : HoconValue(origin)
{
    public List<HoconValue> Parts { get; } = parts;

    internal override string KindName => "a concatenation";
}

/// <summary>Whitespace between the parts of a concatenation; kept only when strings are joined.</summary>
internal sealed class HoconWhitespace(string text, ConfigOrigin origin) : HoconValue(origin)
{
    public string Text { get; } = text;

    internal override string KindName => "whitespace";
}

/// <summary>
/// A later definition over an earlier one that can only be combined after substitution: an
/// undefined <c>${?X}</c> keeps the earlier value; an object merges into an earlier object;
/// anything else replaces it.
/// </summary>
internal sealed class HoconOverlay(HoconValue under, HoconValue over) : HoconValue(over.Origin)
{
    public HoconValue Under { get; } = under;

    public HoconValue Over { get; } = over;

    internal override string KindName => "an overlay";
}
