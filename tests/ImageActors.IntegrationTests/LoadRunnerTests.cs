using ImageActors.IntegrationTests.Support;
using ImageActors.Server.Tests.Support;

namespace ImageActors.IntegrationTests;

/// <summary>
/// The load runner (<c>perf/ImageActors.LoadTests</c>) end to end on a tiny scenario against a real <c>imageactors
/// serve</c>: its command line, its reports and its thresholds. No timing is asserted.
/// </summary>
public sealed class LoadRunnerTests : IAsyncLifetime
{
    private readonly TempDirectory _root = new();
    private ImageActorsServe _serve = null!;

    public async Task InitializeAsync() => _serve = await ImageActorsServe.StartAsync(new ImageActorsCli(_root.Path), _root.Path);

    public async Task DisposeAsync()
    {
        await _serve.DisposeAsync();
        _root.Dispose();
    }

    [Fact]
    public async Task A_short_import_storm_writes_its_markdown_and_html_reports_and_passes()
    {
        var reports = Path.Combine(_root.Path, "reports");
        var log = new StringWriter();

        var exit = await LoadTests.Program.RunAsync(
            ["import-storm", "--socket", Socket, "--duration", "2s", "--warm-up", "0s", "--users", "2", "--out", reports],
            TextWriter.Synchronized(log),
            logIsTerminal: false,
            CancellationToken.None);

        Assert.True(exit == 0, log.ToString());
        var markdown = await File.ReadAllTextAsync(Path.Combine(reports, "report.md"));
        Assert.StartsWith("# import-storm: passed", markdown, StringComparison.Ordinal);
        Assert.Contains("| upload |", markdown, StringComparison.Ordinal);
        Assert.Contains("| `every acknowledged import is listed` |", markdown, StringComparison.Ordinal);
        var html = await File.ReadAllTextAsync(Path.Combine(reports, "report.html"));
        Assert.Contains("<svg", html, StringComparison.Ordinal);
        Assert.DoesNotContain("<script", html, StringComparison.OrdinalIgnoreCase);
        Assert.DoesNotContain("src=\"http", html, StringComparison.OrdinalIgnoreCase);
        Assert.Contains("import-storm: passed", log.ToString(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task The_kill_loop_kills_the_appliance_amid_its_work_starts_it_again_and_finds_nothing_half_there()
    {
        var reports = Path.Combine(_root.Path, "reports-kill");
        var log = new StringWriter();

        var exit = await LoadTests.Program.RunAsync(
            ["kill-loop", "--count", "3", "--imageactors", Path.Combine(AppContext.BaseDirectory, "imageactors"), "--out", reports],
            TextWriter.Synchronized(log),
            logIsTerminal: false,
            CancellationToken.None);

        Assert.True(exit == 0, log.ToString());
        var markdown = await File.ReadAllTextAsync(Path.Combine(reports, "report.md"));
        Assert.Contains("- Result: **passed**: 3 SIGKILLs, 0 invariant violations", markdown, StringComparison.Ordinal);
        Assert.Contains("| import |", markdown, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_threshold_the_run_cannot_meet_fails_it_and_names_the_threshold()
    {
        var reports = Path.Combine(_root.Path, "reports-failing");
        var log = new StringWriter();

        var exit = await LoadTests.Program.RunAsync(
            ["alias-churn", "--socket", Socket, "--duration", "1s", "--warm-up", "0s", "--users", "2", "--threshold", "resolve.p50 < 1us", "--out", reports],
            TextWriter.Synchronized(log),
            logIsTerminal: false,
            CancellationToken.None);

        Assert.Equal(1, exit);
        Assert.Contains("not met: resolve.p50 < 1us", log.ToString(), StringComparison.Ordinal);
        Assert.StartsWith("# alias-churn: FAILED", await File.ReadAllTextAsync(Path.Combine(reports, "report.md")), StringComparison.Ordinal);
    }

    [Fact]
    public async Task An_unknown_scenario_or_option_is_refused_with_the_usage()
    {
        var log = new StringWriter();

        Assert.Equal(2, await LoadTests.Program.RunAsync(["import-strom"], log, logIsTerminal: false, CancellationToken.None));
        Assert.Equal(2, await LoadTests.Program.RunAsync(["import-storm", "--users", "many"], log, logIsTerminal: false, CancellationToken.None));

        Assert.Contains("error: unknown scenario import-strom", log.ToString(), StringComparison.Ordinal);
        Assert.Contains("error: --users many: expected a positive number", log.ToString(), StringComparison.Ordinal);
    }

    private string Socket => Path.Combine(_serve.Cli.Data, "unix.socket");
}
