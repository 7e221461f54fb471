using System.Text.Json;
using System.Text.Json.Serialization;

namespace ImageActors.Images.Domain;

/// <summary>
/// An Incus project: images and aliases live inside one. The project <c>default</c> always exists.
/// </summary>
[JsonConverter(typeof(ProjectNameJsonConverter))]
public readonly record struct ProjectName : IComparable<ProjectName>
{
    private ProjectName(string value) => Value = value;

    /// <summary>The project every server has.</summary>
    public static ProjectName Default { get; } = new("default");

    /// <summary>The name (never null; an uninitialised value reads as <c>default</c>).</summary>
    public string Value { get => field ?? "default"; }

    /// <summary>Validates <paramref name="name"/>: non-empty, no whitespace, no <c>/</c> and no <c>|</c> (used in persistence ids).</summary>
    /// <exception cref="InvalidProjectNameException">The name is not usable.</exception>
    public static ProjectName Parse(string? name)
    {
        if (string.IsNullOrEmpty(name))
        {
            return Default;
        }

        foreach (var c in name)
        {
            if (char.IsWhiteSpace(c) || c is '/' or '|' or '?' or '&')
            {
                throw new InvalidProjectNameException(name);
            }
        }

        return name.Length > 63 ? throw new InvalidProjectNameException(name) : new ProjectName(name);
    }

    /// <inheritdoc />
    public int CompareTo(ProjectName other) => string.CompareOrdinal(Value, other.Value);

    /// <inheritdoc />
    public bool Equals(ProjectName other) => string.Equals(Value, other.Value, StringComparison.Ordinal);

    /// <inheritdoc />
    public override int GetHashCode() => StringComparer.Ordinal.GetHashCode(Value);

    /// <inheritdoc />
    public override string ToString() => Value;
}

/// <summary>Writes a <see cref="ProjectName"/> as a JSON string.</summary>
public sealed class ProjectNameJsonConverter : JsonConverter<ProjectName>
{
    /// <inheritdoc />
    public override ProjectName Read(ref Utf8JsonReader reader, Type typeToConvert, JsonSerializerOptions options) =>
        ProjectName.Parse(reader.GetString());

    /// <inheritdoc />
    public override void Write(Utf8JsonWriter writer, ProjectName value, JsonSerializerOptions options)
    {
        ArgumentNullException.ThrowIfNull(writer);
        writer.WriteStringValue(value.Value);
    }
}
