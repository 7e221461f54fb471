using ImageActors.LoadTests.Reports;
using ImageActors.LoadTests.Runner;
using ImageActors.LoadTests.Scenarios;

namespace ImageActors.LoadTests;

/// <summary>
/// <c>dotnet run --project perf/ImageActors.LoadTests -c Release -- SCENARIO [options]</c>: runs a load scenario against
/// real <c>imageactors serve</c> processes on loopback, shows a live line, writes <c>report.md</c> and <c>report.html</c>
/// into the report folder, and exits 0 only when every threshold and check was met.
/// </summary>
public static class Program
{
    /// <summary>Runs the scenario the arguments name.</summary>
    public static async Task<int> Main(string[] args)
    {
        ArgumentNullException.ThrowIfNull(args);
        if (args.Length > 0 && args[0] is "copy" or "import")
        {
            return await ScriptDrivers.RunAsync(args);
        }

        using var stop = new CancellationTokenSource();
        Console.CancelKeyPress += (_, e) =>
        {
            e.Cancel = true;
            Console.Error.WriteLine("stopping: the report covers what ran so far");
            stop.Cancel();
        };
        return await RunAsync(args, Console.Error, !Console.IsErrorRedirected, stop.Token);
    }

    /// <summary>Runs a scenario with its progress on <paramref name="log"/>; returns the exit code.</summary>
    public static async Task<int> RunAsync(IReadOnlyList<string> args, TextWriter log, bool logIsTerminal, CancellationToken cancellation)
    {
        ArgumentNullException.ThrowIfNull(args);
        ArgumentNullException.ThrowIfNull(log);
        LoadOptions options;
        try
        {
            options = LoadOptions.Parse(args);
        }
        catch (FormatException e)
        {
            await log.WriteLineAsync("error: " + e.Message);
            await log.WriteLineAsync(LoadOptions.Usage);
            return 2;
        }

        if (options.Scenario is not ("import-storm" or "copy-storm" or "alias-churn" or "appliance-mix" or "soak" or "kill-loop"))
        {
            await log.WriteLineAsync($"error: unknown scenario {options.Scenario}");
            await log.WriteLineAsync(LoadOptions.Usage);
            return 2;
        }

        if (options.Scenario == "kill-loop")
        {
            try
            {
                using var killBench = await Workbench.CreateAsync(options, log, logIsTerminal);
                return await KillLoop.RunAsync(options.Count ?? 200, killBench, options.Out ?? Path.Combine("load-reports", $"kill-loop-{DateTime.UtcNow:yyyyMMdd-HHmmss}"), cancellation);
            }
            catch (Exception e) when (e is StepFailedException or HttpRequestException or IOException or InvalidOperationException)
            {
                await log.WriteLineAsync($"error: kill-loop could not run: {e.Message}");
                return 1;
            }
        }

        ScenarioResult result;
        try
        {
            using var bench = await Workbench.CreateAsync(options, log, logIsTerminal);
            result = options.Scenario switch
            {
                "import-storm" => await ImportStorm.RunAsync(options, bench, cancellation),
                "copy-storm" => await CopyStorm.RunAsync(options, bench, cancellation),
                "alias-churn" => await AliasChurn.RunAsync(options, bench, cancellation),
                "appliance-mix" => await ApplianceMix.RunAsync(options, bench, soak: false, cancellation),
                _ => await ApplianceMix.RunAsync(options, bench, soak: true, cancellation),
            };
        }
        catch (Exception e) when (e is StepFailedException or HttpRequestException or IOException or InvalidOperationException)
        {
            await log.WriteLineAsync($"error: {options.Scenario} could not run: {e.Message}");
            return 1;
        }

        var folder = options.Out ?? Path.Combine("load-reports", $"{options.Scenario}-{result.Started:yyyyMMdd-HHmmss}");
        Directory.CreateDirectory(folder);
        var command = "ImageActors.LoadTests " + string.Join(' ', args);
        var machine = RunEnvironment.Describe();
        await File.WriteAllTextAsync(Path.Combine(folder, "report.md"), MarkdownReport.Render(result, command, machine), cancellation);
        await File.WriteAllTextAsync(Path.Combine(folder, "report.html"), HtmlReport.Render(result, command, machine), cancellation);

        var it = result.Iterations;
        await log.WriteLineAsync(System.FormattableString.Invariant(
            $"{options.Scenario}: {(result.Passed ? "passed" : "FAILED")}: {it.Ok:N0} ok, {it.Failed:N0} failed, {it.Rps:0.0}/s, p50 {it.P50:0.##} ms, p99 {it.P99:0.##} ms in {result.Measured.TotalSeconds:0.0} s"));
        foreach (var check in result.Checks.Where(c => !c.Passed))
        {
            await log.WriteLineAsync($"  not met: {check.Name} (actual {check.Actual})");
        }

        await log.WriteLineAsync($"report: {Path.GetFullPath(Path.Combine(folder, "report.md"))} and report.html");
        return result.Passed ? 0 : 1;
    }
}
