using System.Globalization;

namespace ImageActors.Images.Configuration;

/// <summary>The unit a plain number stands for, for keys that document one (Incus' <c>images.remote_cache_expiry = 10</c> is days).</summary>
public enum DurationUnit
{
    /// <summary>Milliseconds.</summary>
    Milliseconds,

    /// <summary>Seconds.</summary>
    Seconds,

    /// <summary>Minutes.</summary>
    Minutes,

    /// <summary>Hours.</summary>
    Hours,

    /// <summary>Days.</summary>
    Days,
}

/// <summary>The textual forms of HOCON durations, sizes and booleans.</summary>
public static class ValueSyntax
{
    private static readonly (string[] Names, double Ticks)[] DurationUnits =
    [
        (["ns", "nano", "nanos", "nanosecond", "nanoseconds"], 0.01),
        (["us", "micro", "micros", "microsecond", "microseconds"], 10),
        (["ms", "milli", "millis", "millisecond", "milliseconds"], TimeSpan.TicksPerMillisecond),
        (["s", "second", "seconds"], TimeSpan.TicksPerSecond),
        (["m", "minute", "minutes"], TimeSpan.TicksPerMinute),
        (["h", "hour", "hours"], TimeSpan.TicksPerHour),
        (["d", "day", "days"], TimeSpan.TicksPerDay),
    ];

    private static readonly (string[] Names, double Bytes)[] SizeUnits =
    [
        (["", "B", "b", "byte", "bytes"], 1),
        (["kB", "kilobyte", "kilobytes"], 1e3),
        (["MB", "megabyte", "megabytes"], 1e6),
        (["GB", "gigabyte", "gigabytes"], 1e9),
        (["TB", "terabyte", "terabytes"], 1e12),
        (["PB", "petabyte", "petabytes"], 1e15),
        (["K", "k", "Ki", "KiB", "kibibyte", "kibibytes"], 1L << 10),
        (["M", "m", "Mi", "MiB", "mebibyte", "mebibytes"], 1L << 20),
        (["G", "g", "Gi", "GiB", "gibibyte", "gibibytes"], 1L << 30),
        (["T", "t", "Ti", "TiB", "tebibyte", "tebibytes"], 1L << 40),
        (["P", "p", "Pi", "PiB", "pebibyte", "pebibytes"], 1L << 50),
    ];

    /// <summary>
    /// Parses <c>6h</c>, <c>10d</c>, <c>500ms</c>, <c>30 s</c>, <c>1.5 hours</c>. A number without a unit
    /// is accepted only when <paramref name="plainNumberUnit"/> says what it means.
    /// </summary>
    public static bool TryParseDuration(string text, DurationUnit? plainNumberUnit, out TimeSpan duration)
    {
        duration = default;
        var (number, unit) = Split(text);
        if (!double.TryParse(number, NumberStyles.AllowLeadingSign | NumberStyles.AllowDecimalPoint, CultureInfo.InvariantCulture, out var value))
        {
            return false;
        }

        double ticks;
        if (unit.Length == 0)
        {
            if (plainNumberUnit is not { } plain)
            {
                return false;
            }

            ticks = plain switch
            {
                DurationUnit.Milliseconds => TimeSpan.TicksPerMillisecond,
                DurationUnit.Seconds => TimeSpan.TicksPerSecond,
                DurationUnit.Minutes => TimeSpan.TicksPerMinute,
                DurationUnit.Hours => TimeSpan.TicksPerHour,
                _ => TimeSpan.TicksPerDay,
            };
        }
        else
        {
            var match = Array.Find(DurationUnits, u => u.Names.Contains(unit, StringComparer.Ordinal));
            if (match.Names is null)
            {
                return false;
            }

            ticks = match.Ticks;
        }

        var total = Math.Round(value * ticks);
        if (double.IsNaN(total) || total > TimeSpan.MaxValue.Ticks || total < TimeSpan.MinValue.Ticks)
        {
            return false;
        }

        duration = TimeSpan.FromTicks((long)total);
        return true;
    }

    /// <summary>
    /// Parses sizes: <c>512</c> (bytes), <c>1k</c> / <c>1KiB</c> (1024), <c>1kB</c> (1000), <c>10GiB</c>,
    /// <c>512MB</c>, <c>1.5 GiB</c>. Single-letter units are powers of two, as in HOCON.
    /// </summary>
    public static bool TryParseSize(string text, out long bytes)
    {
        bytes = 0;
        var (number, unit) = Split(text);
        if (!double.TryParse(number, NumberStyles.AllowDecimalPoint, CultureInfo.InvariantCulture, out var value))
        {
            return false;
        }

        var match = Array.Find(SizeUnits, u => u.Names.Contains(unit, StringComparer.Ordinal));
        if (match.Names is null)
        {
            return false;
        }

        var total = Math.Round(value * match.Bytes);
        if (total >= long.MaxValue)
        {
            return false;
        }

        bytes = (long)total;
        return true;
    }

    /// <summary>Parses <c>true/false</c>, <c>yes/no</c> and <c>on/off</c> (any case).</summary>
    public static bool TryParseBoolean(string text, out bool value)
    {
        switch (text.Trim().ToLowerInvariant())
        {
            case "true" or "yes" or "on":
                value = true;
                return true;
            case "false" or "no" or "off":
                value = false;
                return true;
            default:
                value = false;
                return false;
        }
    }

    /// <summary>Formats a duration the way <c>akka.hocon</c> writes one (<c>10d</c>, <c>6h</c>, <c>1500ms</c>).</summary>
    public static string FormatDuration(TimeSpan duration)
    {
        var ticks = duration.Ticks;
        if (ticks == 0)
        {
            return "0s";
        }

        foreach (var (unit, size) in new[] { ("d", TimeSpan.TicksPerDay), ("h", TimeSpan.TicksPerHour), ("m", TimeSpan.TicksPerMinute), ("s", TimeSpan.TicksPerSecond), ("ms", TimeSpan.TicksPerMillisecond) })
        {
            if (ticks % size == 0)
            {
                return string.Create(CultureInfo.InvariantCulture, $"{ticks / size}{unit}");
            }
        }

        return string.Create(CultureInfo.InvariantCulture, $"{ticks / 10}us");
    }

    private static (string Number, string Unit) Split(string text)
    {
        var trimmed = text.Trim();
        var i = 0;
        while (i < trimmed.Length && (char.IsAsciiDigit(trimmed[i]) || trimmed[i] is '.' || (i == 0 && trimmed[i] is '-' or '+')))
        {
            i++;
        }

        return (trimmed[..i], trimmed[i..].Trim());
    }
}
