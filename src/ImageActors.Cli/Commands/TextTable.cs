using System.Text;
using Spectre.Console;
using Spectre.Console.Rendering;

namespace ImageActors.Cli.Commands;

/// <summary>
/// Writes a table of plain text cells in the look of Spectre.Console's default table (square border, one space
/// of padding, left aligned) without its layout engine, which measures and wraps every cell and costs seconds
/// for thousands of rows. Tables that would not fit the console's width, or cells that hold line breaks or
/// control characters, are left to Spectre, which wraps them.
/// </summary>
public static class TextTable
{
    /// <summary>Writes <paramref name="rows"/> under <paramref name="headers"/> to <paramref name="output"/>.</summary>
    public static async Task WriteAsync(TextWriter output, IReadOnlyList<string> headers, IReadOnlyList<IReadOnlyList<string>> rows, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(output);
        ArgumentNullException.ThrowIfNull(headers);
        ArgumentNullException.ThrowIfNull(rows);
        var console = ImageCommand.Console(output);
        var options = RenderOptions.Create(console);
        var widths = new int[headers.Count];
        var plain = Measure(headers, widths, options);
        foreach (var row in rows)
        {
            plain &= row.Count == headers.Count && Measure(row, widths, options);
        }

        if (!plain || widths.Sum() + (3 * widths.Length) + 1 > console.Profile.Width)
        {
            var table = new Table().AddColumns([.. headers.Select(h => new TableColumn(Markup.Escape(h)))]);
            foreach (var row in rows)
            {
                table.AddRow([.. row.Select(Markup.Escape)]);
            }

            console.Write(table);
            return;
        }

        var border = TableBorder.Square.GetSafeBorder(!console.Profile.Capabilities.Unicode);
        var text = new StringBuilder(64 * 1024);
        Rule(text, widths, border.GetPart(TableBorderPart.HeaderTopLeft), border.GetPart(TableBorderPart.HeaderTop), border.GetPart(TableBorderPart.HeaderTopSeparator), border.GetPart(TableBorderPart.HeaderTopRight));
        Line(text, widths, headers, options, border.GetPart(TableBorderPart.HeaderLeft), border.GetPart(TableBorderPart.HeaderSeparator), border.GetPart(TableBorderPart.HeaderRight));
        Rule(text, widths, border.GetPart(TableBorderPart.HeaderBottomLeft), border.GetPart(TableBorderPart.HeaderBottom), border.GetPart(TableBorderPart.HeaderBottomSeparator), border.GetPart(TableBorderPart.HeaderBottomRight));
        foreach (var row in rows)
        {
            Line(text, widths, row, options, border.GetPart(TableBorderPart.CellLeft), border.GetPart(TableBorderPart.CellSeparator), border.GetPart(TableBorderPart.CellRight));
            if (text.Length >= 60 * 1024)
            {
                await output.WriteAsync(text, cancellationToken);
                text.Clear();
            }
        }

        Rule(text, widths, border.GetPart(TableBorderPart.FooterBottomLeft), border.GetPart(TableBorderPart.FooterBottom), border.GetPart(TableBorderPart.FooterBottomSeparator), border.GetPart(TableBorderPart.FooterBottomRight));
        await output.WriteAsync(text, cancellationToken);
    }

    /// <summary>How many console cells the text takes: its length when it is ASCII, else as Spectre measures it (wide characters take two).</summary>
    private static int Width(string cell, RenderOptions options) => Ascii.IsValid(cell) ? cell.Length : ((IRenderable)new Text(cell)).Measure(options, int.MaxValue).Max;

    private static bool Measure(IReadOnlyList<string> cells, int[] widths, RenderOptions options)
    {
        for (var i = 0; i < cells.Count && i < widths.Length; i++)
        {
            var cell = cells[i];
            if (cell.AsSpan().ContainsAnyInRange('\0', '\x1f') || cell.Contains('\x7f', StringComparison.Ordinal))
            {
                return false;
            }

            widths[i] = Math.Max(widths[i], Width(cell, options));
        }

        return true;
    }

    private static void Rule(StringBuilder text, int[] widths, string left, string fill, string separator, string right)
    {
        text.Append(left);
        for (var i = 0; i < widths.Length; i++)
        {
            if (i > 0)
            {
                text.Append(separator);
            }

            for (var n = 0; n < widths[i] + 2; n++)
            {
                text.Append(fill);
            }
        }

        text.Append(right).Append('\n');
    }

    private static void Line(StringBuilder text, int[] widths, IReadOnlyList<string> cells, RenderOptions options, string left, string separator, string right)
    {
        text.Append(left);
        for (var i = 0; i < widths.Length; i++)
        {
            if (i > 0)
            {
                text.Append(separator);
            }

            text.Append(' ').Append(cells[i]).Append(' ', widths[i] - Width(cells[i], options) + 1);
        }

        text.Append(right).Append('\n');
    }
}
