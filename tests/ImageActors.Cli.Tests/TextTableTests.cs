using ImageActors.Cli.Commands;
using Spectre.Console;

namespace ImageActors.Cli.Tests;

public sealed class TextTableTests
{
    private static readonly string[] Headers = ["ALIAS", "FINGERPRINT", "PUBLIC", "DESCRIPTION", "SIZE"];

    [Fact]
    public async Task A_table_that_fits_looks_exactly_as_spectre_draws_it()
    {
        IReadOnlyList<string>[] rows =
        [
            ["debian/12", "0123456789ab", "yes", "Debian bookworm amd64 (20260101_05:24)", "95.12MB"],
            [string.Empty, "ba9876543210", "no", string.Empty, "1.20kB"],
            ["日本/1", "fedcba987654", "yes", "[not markup] & <x>", "0.06kB"],
        ];

        Assert.Equal(Spectre(rows), await OursAsync(rows));
    }

    [Fact]
    public async Task A_table_too_wide_for_the_console_is_still_drawn_as_spectre_wraps_it()
    {
        IReadOnlyList<string>[] rows = [["a", "b", "c", new string('x', 300), "d"]];

        Assert.Equal(Spectre(rows), await OursAsync(rows));
    }

    private static async Task<string> OursAsync(IReadOnlyList<IReadOnlyList<string>> rows)
    {
        using var output = new StringWriter();
        await TextTable.WriteAsync(output, Headers, rows);
        return output.ToString();
    }

    private static string Spectre(IReadOnlyList<IReadOnlyList<string>> rows)
    {
        using var output = new StringWriter();
        var console = AnsiConsole.Create(new AnsiConsoleSettings { Out = new AnsiConsoleOutput(output), Ansi = AnsiSupport.No, ColorSystem = ColorSystemSupport.NoColors });
        console.Profile.Width = Math.Max(console.Profile.Width, 160);
        var table = new Table().AddColumns(Headers);
        foreach (var row in rows)
        {
            table.AddRow([.. row.Select(Markup.Escape)]);
        }

        console.Write(table);
        return output.ToString();
    }
}
