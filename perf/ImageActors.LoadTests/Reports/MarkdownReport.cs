using System.Globalization;
using System.Text;
using ImageActors.LoadTests.Runner;

namespace ImageActors.LoadTests.Reports;

/// <summary>The run as a Markdown page: what ran, whether it passed, and a table per step.</summary>
public static class MarkdownReport
{
    /// <summary>Renders <paramref name="result"/>; <paramref name="command"/> is the command line that produced it.</summary>
    public static string Render(ScenarioResult result, string command, string machine)
    {
        ArgumentNullException.ThrowIfNull(result);
        var s = new StringBuilder();
        var i = CultureInfo.InvariantCulture;
        s.AppendLine(i, $"# {result.Scenario.Name}: {(result.Passed ? "passed" : "FAILED")}");
        s.AppendLine();
        s.AppendLine(i, $"- Started: {result.Started:yyyy-MM-dd HH:mm:ss} UTC; measured for {result.Measured.TotalSeconds:0.0} s (after a warm-up of {result.Scenario.WarmUp.TotalSeconds:0.#} s)");
        s.AppendLine(i, $"- Machine: {machine}");
        s.AppendLine(i, $"- Command: `{command}`");
        s.AppendLine(i, $"- Load: {string.Join("; then ", result.Scenario.Load.Select(l => l.Describe()))}");
        s.AppendLine();

        if (result.Checks.Count > 0)
        {
            s.AppendLine("## Thresholds and checks");
            s.AppendLine();
            s.AppendLine("| condition | actual | met |");
            s.AppendLine("|---|---:|---|");
            foreach (var check in result.Checks)
            {
                s.AppendLine(i, $"| `{check.Name}` | {check.Actual} | {(check.Passed ? "yes" : "**no**")} |");
            }

            s.AppendLine();
        }

        if (result.Facts.Count > 0)
        {
            s.AppendLine("## Facts");
            s.AppendLine();
            foreach (var fact in result.Facts)
            {
                s.AppendLine(i, $"- {fact.Key}: {fact.Value}");
            }

            s.AppendLine();
        }

        s.AppendLine("## Latency, throughput and errors");
        s.AppendLine();
        s.AppendLine("Latencies in milliseconds, of successful executions. `scenario` is the whole iteration" +
            (result.Scenario.Load.Any(l => l.IsOpen) ? ", timed from when it was due to start (open model)." : "."));
        s.AppendLine();
        s.AppendLine("| step | ok | failed | ok/s | MB/s | p50 | p90 | p99 | p99.9 | max |");
        s.AppendLine("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|");
        foreach (var step in (IEnumerable<StepSummary>)[result.Iterations, .. result.Steps])
        {
            s.AppendLine(i, $"| {step.Name} | {step.Ok:N0} | {step.Failed:N0} | {step.Rps:0.0} | {step.BytesPerSecond / 1e6:0.00} | {step.P50:0.00} | {step.P90:0.00} | {step.P99:0.00} | {step.P999:0.00} | {step.Max:0.00} |");
        }

        s.AppendLine();
        var errors = ((IEnumerable<StepSummary>)[.. result.Steps]).SelectMany(st => st.Errors.Select(e => (st.Name, e))).ToList();
        if (errors.Count > 0)
        {
            s.AppendLine("### Errors by kind");
            s.AppendLine();
            s.AppendLine("| step | kind | count | first message |");
            s.AppendLine("|---|---|---:|---|");
            foreach (var (step, error) in errors)
            {
                s.AppendLine(i, $"| {step} | {Cell(error.Kind)} | {error.Count:N0} | {Cell(error.Example ?? "")} |");
            }

            s.AppendLine();
        }

        if (result.Gauges.Count > 0)
        {
            s.AppendLine("## Gauges");
            s.AppendLine();
            s.AppendLine("| gauge | first | min | max | last |");
            s.AppendLine("|---|---:|---:|---:|---:|");
            foreach (var name in result.Gauges.SelectMany(g => g.Values.Keys).Distinct(StringComparer.Ordinal))
            {
                var values = result.Gauges.Where(g => g.Values.ContainsKey(name)).Select(g => g.Values[name]).ToList();
                s.AppendLine(i, $"| {name} | {values[0]:0.##} | {values.Min():0.##} | {values.Max():0.##} | {values[^1]:0.##} |");
            }

            s.AppendLine();
        }

        return s.ToString();
    }

    // A table cell: one line, pipes escaped.
    private static string Cell(string text) => text.ReplaceLineEndings(" ").Replace("|", "\\|", StringComparison.Ordinal);
}
