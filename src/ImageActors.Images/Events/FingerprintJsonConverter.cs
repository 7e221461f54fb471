using System.Text.Json;
using System.Text.Json.Serialization;
using ImageActors.Streaming;

namespace ImageActors.Images.Events;

/// <summary>Writes a <see cref="Fingerprint"/> as its 64 hex digits.</summary>
public sealed class FingerprintJsonConverter : JsonConverter<Fingerprint>
{
    /// <inheritdoc />
    public override Fingerprint Read(ref Utf8JsonReader reader, Type typeToConvert, JsonSerializerOptions options) =>
        Fingerprint.TryParse(reader.GetString(), out var fp) ? fp : throw new JsonException("Expected a 64 hex digit fingerprint.");

    /// <inheritdoc />
    public override void Write(Utf8JsonWriter writer, Fingerprint value, JsonSerializerOptions options)
    {
        ArgumentNullException.ThrowIfNull(writer);
        Span<char> hex = stackalloc char[Fingerprint.HexLength];
        value.TryFormat(hex, out _, default, null);
        writer.WriteStringValue(hex);
    }
}
