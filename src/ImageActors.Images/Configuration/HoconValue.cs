namespace ImageActors.Images.Configuration;

/// <summary>
/// A node of the configuration as Akka's HOCON parser read it, with substitutions resolved: an object, an array or
/// a scalar, with the source that set it (a file, an environment variable, an override or the built-in default).
/// </summary>
public abstract class HoconValue
{
    private protected HoconValue(ConfigOrigin origin) => Origin = origin;

    /// <summary>Where this value was written (file, environment variable, override).</summary>
    public ConfigOrigin Origin { get; }

    /// <summary>A short name of the kind of value, for error messages (<c>an object</c>, <c>a string</c>).</summary>
    internal abstract string KindName { get; }
}

/// <summary>A HOCON scalar: a string (quoted or not), a number, a boolean, or null; kept as written.</summary>
public sealed class HoconScalar : HoconValue
{
    internal HoconScalar(string? text, ConfigOrigin origin)
        : base(origin) => Text = text;

    /// <summary>The text as Akka's parser reads it (parts joined, outer whitespace trimmed), or null for <c>null</c>.</summary>
    public string? Text { get; }

    /// <summary>True for <c>null</c> (Akka's parser reads a quoted <c>"null"</c> as null too): the key is explicitly unset.</summary>
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

/// <summary>A HOCON object: fields in the order Akka's parser keeps them.</summary>
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
