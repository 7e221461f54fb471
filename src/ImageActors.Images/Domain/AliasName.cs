using System.Text.Json;
using System.Text.Json.Serialization;

namespace ImageActors.Images.Domain;

/// <summary>
/// The name of an image alias (e.g. <c>debian/12</c>): at most 64 characters, no whitespace,
/// no control characters, none of <c>$ ? &amp; + " ' ` \ *</c>, starting and ending with a letter or digit; <c>/</c> is allowed.
/// Compared ordinally, as Incus does.
/// </summary>
[JsonConverter(typeof(AliasNameJsonConverter))]
public readonly record struct AliasName : IComparable<AliasName>
{
    /// <summary>The longest name Incus accepts.</summary>
    public const int MaxLength = 64;

    private const string Forbidden = "$?&+\"'`\\*";

    private AliasName(string value) => Value = value;

    /// <summary>The name as the user wrote it.</summary>
    public string Value { get => field ?? string.Empty; }

    /// <summary>Validates <paramref name="name"/>.</summary>
    /// <exception cref="InvalidAliasNameException">The name breaks one of the rules; the message says which.</exception>
    public static AliasName Parse(string name)
    {
        ArgumentNullException.ThrowIfNull(name);
        var reason = Validate(name);
        return reason is null ? new AliasName(name) : throw new InvalidAliasNameException(name, reason);
    }

    /// <summary>Validates <paramref name="name"/> without throwing.</summary>
    public static bool TryParse(string? name, out AliasName alias)
    {
        alias = default;
        if (name is null || Validate(name) is not null)
        {
            return false;
        }

        alias = new AliasName(name);
        return true;
    }

    /// <summary>Why <paramref name="name"/> is not a valid alias name, or null when it is.</summary>
    public static string? Validate(string name)
    {
        ArgumentNullException.ThrowIfNull(name);
        if (name.Length == 0)
        {
            return "Alias name can't be empty";
        }

        if (name.Length > MaxLength)
        {
            return $"Alias name is longer than {MaxLength} characters";
        }

        foreach (var c in name)
        {
            if (char.IsWhiteSpace(c))
            {
                return "Alias name can't contain whitespace";
            }

            // A control character (NUL above all) cannot be written in the URL that reads or deletes the alias.
            if (char.IsControl(c))
            {
                return $"Alias name can't contain control characters (U+{(int)c:X4})";
            }

            if (Forbidden.Contains(c, StringComparison.Ordinal))
            {
                return $"Alias name can't contain '{c}'";
            }
        }

        if (!char.IsAsciiLetterOrDigit(name[0]) || !char.IsAsciiLetterOrDigit(name[^1]))
        {
            return "Alias name must start and end with a letter or a digit";
        }

        return null;
    }

    /// <inheritdoc />
    public int CompareTo(AliasName other) => string.CompareOrdinal(Value, other.Value);

    /// <inheritdoc />
    public bool Equals(AliasName other) => string.Equals(Value, other.Value, StringComparison.Ordinal);

    /// <inheritdoc />
    public override int GetHashCode() => StringComparer.Ordinal.GetHashCode(Value);

    /// <inheritdoc />
    public override string ToString() => Value;

    public static bool operator <(AliasName left, AliasName right) => left.CompareTo(right) < 0;

    public static bool operator >(AliasName left, AliasName right) => left.CompareTo(right) > 0;

    public static bool operator <=(AliasName left, AliasName right) => left.CompareTo(right) <= 0;

    public static bool operator >=(AliasName left, AliasName right) => left.CompareTo(right) >= 0;
}

/// <summary>Writes an <see cref="AliasName"/> as a JSON string; reading validates it again.</summary>
public sealed class AliasNameJsonConverter : JsonConverter<AliasName>
{
    /// <inheritdoc />
    public override AliasName Read(ref Utf8JsonReader reader, Type typeToConvert, JsonSerializerOptions options) =>
        AliasName.Parse(reader.GetString() ?? throw new JsonException("An alias name can't be null."));

    /// <inheritdoc />
    public override void Write(Utf8JsonWriter writer, AliasName value, JsonSerializerOptions options)
    {
        ArgumentNullException.ThrowIfNull(writer);
        writer.WriteStringValue(value.Value);
    }
}
