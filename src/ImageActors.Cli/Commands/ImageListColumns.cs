using System.Globalization;
using System.Text;
using System.Text.Json;
using ImageActors.Remotes.Incus;

namespace ImageActors.Cli.Commands;

/// <summary>The columns and formats of <c>image list</c>, named and printed as <c>incus image list</c> has them.</summary>
internal static class ImageListColumns
{
    /// <summary>incus' default columns: alias, fingerprint, public, description, architecture, type, size, upload date.</summary>
    public const string Default = "lfpdatsu";

    /// <summary>The columns a <c>--columns</c> value names, in its order.</summary>
    public static IReadOnlyList<Column> Parse(string letters)
    {
        ArgumentNullException.ThrowIfNull(letters);
        var columns = new List<Column>();
        foreach (var letter in letters.Replace(",", string.Empty, StringComparison.Ordinal))
        {
            columns.Add(letter switch
            {
                'l' => new Column("ALIAS", ShortestAlias),
                'L' => new Column("ALIASES", i => string.Join('\n', i.Aliases.Select(a => a.Name))),
                'f' => new Column("FINGERPRINT", i => i.Fingerprint[..Math.Min(12, i.Fingerprint.Length)]),
                'F' => new Column("FINGERPRINT", i => i.Fingerprint),
                'p' => new Column("PUBLIC", i => i.Public ? "yes" : "no"),
                'd' => new Column("DESCRIPTION", i => i.Properties.GetValueOrDefault("description", string.Empty)),
                'e' => new Column("PROJECT", _ => "default"),
                'a' => new Column("ARCHITECTURE", i => i.Architecture),
                's' => new Column("SIZE", i => ImageCommand.Size(i.Size)),
                'u' => new Column("UPLOAD DATE", i => ImageCommand.Time(i.UploadedAt)),
                't' => new Column("TYPE", i => i.Type == ImageTypes.VirtualMachine ? "VIRTUAL-MACHINE" : "CONTAINER"),
                _ => throw new CommandException($"Unknown column shorthand char '{letter}' in '{letters}' (known: lLfFpdeastu)"),
            });
        }

        return columns;
    }

    /// <summary>Splits <c>csv,header</c> into the format and whether a header was asked for (null: the format's default).</summary>
    public static (string Format, bool? Header) ParseFormat(string value)
    {
        ArgumentNullException.ThrowIfNull(value);
        var parts = value.Split(',', 2);
        var format = parts[0];
        if (format is not ("table" or "json" or "yaml" or "csv" or "compact"))
        {
            throw new CommandException($"Invalid format \"{format}\": use csv, json, table, yaml or compact");
        }

        return parts.Length == 1 ? (format, null)
            : parts[1] switch
            {
                "header" => (format, true),
                "noheader" => (format, false),
                _ => throw new CommandException($"Invalid format option \"{parts[1]}\" in \"{value}\": use header or noheader"),
            };
    }

    /// <summary>A JSON value as plain dictionaries, lists and strings, so YAML shows the API's field names.</summary>
    public static object? Plain(JsonElement element) => element.ValueKind switch
    {
        JsonValueKind.Object => element.EnumerateObject().ToDictionary(p => p.Name, p => Plain(p.Value), StringComparer.Ordinal),
        JsonValueKind.Array => element.EnumerateArray().Select(Plain).ToList(),
        JsonValueKind.String => element.GetString(),
        JsonValueKind.True => true,
        JsonValueKind.False => false,
        JsonValueKind.Number => element.TryGetInt64(out var whole) ? whole : element.GetDouble(),
        _ => null,
    };

    /// <summary>
    /// A table as incus draws it: <c>+---+</c> borders, headers centred, cells left aligned and padded by one space, a
    /// line under every row; <c>compact</c> has no borders, two spaces before each cell and after the last one.
    /// A cell with line breaks takes as many lines.
    /// </summary>
    public static async Task WriteTableAsync(TextWriter output, IReadOnlyList<string>? headers, IReadOnlyList<IReadOnlyList<string>> rows, bool compact)
    {
        ArgumentNullException.ThrowIfNull(output);
        ArgumentNullException.ThrowIfNull(rows);
        var count = headers?.Count ?? (rows.Count > 0 ? rows[0].Count : 0);
        var widths = new int[count];
        foreach (var row in headers is null ? rows : [headers, .. rows])
        {
            for (var i = 0; i < count; i++)
            {
                widths[i] = Math.Max(widths[i], row[i].Split('\n').Max(l => l.Length));
            }
        }

        var text = new StringBuilder();
        var rule = "+" + string.Join('+', widths.Select(w => new string('-', w + 2))) + "+\n";
        if (!compact)
        {
            text.Append(rule);
        }

        if (headers is not null)
        {
            AppendRow(text, headers, widths, compact, centre: true);
            if (!compact)
            {
                text.Append(rule);
            }
        }

        foreach (var row in rows)
        {
            AppendRow(text, row, widths, compact, centre: false);
            if (!compact)
            {
                text.Append(rule);
            }
        }

        if (!compact && headers is null && rows.Count == 0)
        {
            text.Clear();
        }

        await output.WriteAsync(text.ToString());
    }

    private static void AppendRow(StringBuilder text, IReadOnlyList<string> row, int[] widths, bool compact, bool centre)
    {
        var cells = row.Select(c => c.Split('\n')).ToList();
        var height = cells.Max(c => c.Length);
        for (var line = 0; line < height; line++)
        {
            for (var i = 0; i < widths.Length; i++)
            {
                var cell = line < cells[i].Length ? cells[i][line] : string.Empty;
                var left = centre ? (widths[i] - cell.Length) / 2 : 0;
                var padded = new string(' ', left) + cell.PadRight(widths[i] - left);
                text.Append(compact ? "  " : i == 0 ? "| " : " | ").Append(padded);
            }

            text.Append(compact ? "  \n" : " |\n");
        }
    }

    // The shortest alias, and how many others there are, as incus shows them in one cell.
    private static string ShortestAlias(Image image)
    {
        if (image.Aliases.Count == 0)
        {
            return string.Empty;
        }

        var shortest = image.Aliases.Select(a => a.Name).OrderBy(n => n.Length).ThenBy(n => n, StringComparer.Ordinal).First();
        return image.Aliases.Count == 1 ? shortest : string.Create(CultureInfo.InvariantCulture, $"{shortest} ({image.Aliases.Count - 1} more)");
    }

    /// <summary>One column: its header and how a cell is made from an image.</summary>
    public sealed record Column(string Header, Func<Image, string> Value);
}
