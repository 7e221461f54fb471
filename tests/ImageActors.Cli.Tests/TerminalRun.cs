using System.Diagnostics;
using System.Text;
using System.Text.RegularExpressions;

namespace ImageActors.Cli.Tests;

/// <summary>
/// One run of the built <c>imageactors</c> executable on a pseudo-terminal (util-linux <c>script</c> gives it one), so that
/// it draws what a user at a terminal sees: <see cref="Screen"/> is everything it wrote there, escapes included.
/// </summary>
internal sealed partial record TerminalRun(int ExitCode, string Screen)
{
    /// <summary>The screen without ANSI escapes and carriage returns, so that text can be matched.</summary>
    public string Text => Escapes().Replace(Screen, string.Empty).Replace("\r", string.Empty, StringComparison.Ordinal);

    /// <summary>The last non-empty line of <see cref="Text"/>.</summary>
    public string LastLine => Text.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)[^1];

    public static async Task<TerminalRun> InvokeAsync(params string[] args)
    {
        var command = new StringBuilder("stty cols 120 rows 40; exec dotnet ").Append(Quote(Path.Combine(AppContext.BaseDirectory, "imageactors.dll")));
        foreach (var arg in args)
        {
            command.Append(' ').Append(Quote(arg));
        }

        var start = new ProcessStartInfo("script")
        {
            RedirectStandardInput = true,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            WorkingDirectory = Path.GetTempPath(),
        };
        foreach (var arg in new[] { "--quiet", "--flush", "--return", "--command", command.ToString(), "/dev/null" })
        {
            start.ArgumentList.Add(arg);
        }

        start.Environment["TERM"] = "xterm-256color";
        start.Environment.Remove("NO_COLOR");
        start.Environment.Remove("CI");
        start.Environment.Remove("IMAGEACTORS_CONFIG");
        start.Environment.Remove("IMAGEACTORS_DATA");
        using var process = Process.Start(start)!;
        using var deadline = new CancellationTokenSource(TimeSpan.FromMinutes(3));
        var screen = process.StandardOutput.ReadToEndAsync(deadline.Token);
        var error = process.StandardError.ReadToEndAsync(deadline.Token);
        await process.WaitForExitAsync(deadline.Token);
        process.StandardInput.Close();
        return new TerminalRun(process.ExitCode, await screen + await error);
    }

    private static string Quote(string arg) => "'" + arg.Replace("'", "'\\''", StringComparison.Ordinal) + "'";

    [GeneratedRegex(@"\x1b(\[[0-9;?]*[ -/]*[@-~]|\][^\x07\x1b]*(\x07|\x1b\\)|[()][0-9A-Za-z]|[=>78])")]
    private static partial Regex Escapes();
}
