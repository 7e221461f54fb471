using System.Globalization;
using System.Text.Json;
using System.Text.Json.Serialization;

namespace ImageActors.Remotes.Incus;

/// <summary>
/// Reads and writes timestamps as Go's <c>time.RFC3339Nano</c> does: fractional seconds without
/// trailing zeros, <c>Z</c> for UTC, and the zero time as <c>0001-01-01T00:00:00Z</c>.
/// </summary>
public sealed class IncusTimestampConverter : JsonConverter<DateTimeOffset>
{
    /// <inheritdoc />
    public override DateTimeOffset Read(ref Utf8JsonReader reader, Type typeToConvert, JsonSerializerOptions options)
    {
        var text = reader.GetString();
        return text is null ? default : Parse(text);
    }

    /// <inheritdoc />
    public override void Write(Utf8JsonWriter writer, DateTimeOffset value, JsonSerializerOptions options)
    {
        ArgumentNullException.ThrowIfNull(writer);
        Span<char> buffer = stackalloc char[40];
        writer.WriteStringValue(buffer[..Format(value, buffer)]);
    }

    /// <summary>Parses an RFC 3339 timestamp; digits beyond 100 ns (Go writes up to 9) are dropped.</summary>
    /// <exception cref="FormatException">The text is not an RFC 3339 timestamp.</exception>
    public static DateTimeOffset Parse(string text)
    {
        ArgumentNullException.ThrowIfNull(text);
        var dot = text.IndexOf('.', StringComparison.Ordinal);
        if (dot > 0)
        {
            var end = dot + 1;
            while (end < text.Length && char.IsAsciiDigit(text[end]))
            {
                end++;
            }

            if (end - dot - 1 > 7)
            {
                text = string.Concat(text.AsSpan(0, dot + 8), text.AsSpan(end));
            }
        }

        return DateTimeOffset.TryParse(text, CultureInfo.InvariantCulture, DateTimeStyles.RoundtripKind, out var value)
            ? value
            : throw new FormatException($"'{text}' is not an RFC 3339 timestamp.");
    }

    /// <summary>Formats like Go's <c>time.RFC3339Nano</c>.</summary>
    public static string Format(DateTimeOffset value)
    {
        Span<char> buffer = stackalloc char[40];
        return new string(buffer[..Format(value, buffer)]);
    }

    private static int Format(DateTimeOffset value, Span<char> buffer)
    {
        value.TryFormat(buffer, out var n, "yyyy'-'MM'-'dd'T'HH':'mm':'ss", CultureInfo.InvariantCulture);
        var fraction = (int)(value.Ticks % TimeSpan.TicksPerSecond);
        if (fraction != 0)
        {
            buffer[n++] = '.';
            Span<char> digits = stackalloc char[7];
            fraction.TryFormat(digits, out _, "D7", CultureInfo.InvariantCulture);
            var used = digits.TrimEnd('0');
            used.CopyTo(buffer[n..]);
            n += used.Length;
        }

        if (value.Offset == TimeSpan.Zero)
        {
            buffer[n++] = 'Z';
        }
        else
        {
            value.TryFormat(buffer[n..], out var written, "zzz", CultureInfo.InvariantCulture);
            n += written;
        }

        return n;
    }
}
