using System.Globalization;
using System.Net;
using System.Text;
using ImageActors.LoadTests.Runner;

namespace ImageActors.LoadTests.Reports;

/// <summary>
/// The run as one self-contained HTML page: the Markdown report's tables plus charts of latency, throughput, errors and
/// gauges over time, drawn as inline SVG (no scripts, fonts or files from elsewhere).
/// </summary>
public static class HtmlReport
{
    private static readonly string[] Palette = ["#1f77b4", "#d62728", "#2ca02c", "#ff7f0e", "#9467bd", "#8c564b", "#e377c2", "#17becf", "#7f7f7f", "#bcbd22"];

    /// <summary>Renders <paramref name="result"/>.</summary>
    public static string Render(ScenarioResult result, string command, string machine)
    {
        ArgumentNullException.ThrowIfNull(result);
        var i = CultureInfo.InvariantCulture;
        var s = new StringBuilder();
        s.AppendLine("<!DOCTYPE html>");
        s.AppendLine("<html lang=\"en\"><head><meta charset=\"utf-8\">");
        s.AppendLine(i, $"<title>{E(result.Scenario.Name)}: {(result.Passed ? "passed" : "FAILED")}</title>");
        s.AppendLine("""
            <style>
            body { font-family: sans-serif; margin: 2em auto; max-width: 1000px; color: #222; }
            table { border-collapse: collapse; margin: 0.5em 0 1.5em; }
            th, td { border: 1px solid #ccc; padding: 0.25em 0.6em; }
            td.n { text-align: right; font-variant-numeric: tabular-nums; }
            .pass { color: #1a7f37; font-weight: bold; } .fail { color: #c62828; font-weight: bold; }
            svg { display: block; margin: 0.5em 0 1.5em; background: #fafafa; border: 1px solid #ddd; }
            svg text { font-size: 11px; fill: #333; }
            code { background: #f2f2f2; padding: 0 0.2em; }
            </style></head><body>
            """);
        s.AppendLine(i, $"<h1>{E(result.Scenario.Name)}: <span class=\"{(result.Passed ? "pass\">passed" : "fail\">FAILED")}</span></h1>");
        s.AppendLine("<ul>");
        s.AppendLine(i, $"<li>Started {result.Started:yyyy-MM-dd HH:mm:ss} UTC; measured for {result.Measured.TotalSeconds:0.0} s (after a warm-up of {result.Scenario.WarmUp.TotalSeconds:0.#} s)</li>");
        s.AppendLine(i, $"<li>Machine: {E(machine)}</li>");
        s.AppendLine(i, $"<li>Command: <code>{E(command)}</code></li>");
        s.AppendLine(i, $"<li>Load: {E(string.Join("; then ", result.Scenario.Load.Select(l => l.Describe())))}</li>");
        s.AppendLine("</ul>");

        if (result.Checks.Count > 0)
        {
            s.AppendLine("<h2>Thresholds and checks</h2><table><tr><th>condition</th><th>actual</th><th>met</th></tr>");
            foreach (var check in result.Checks)
            {
                s.AppendLine(i, $"<tr><td><code>{E(check.Name)}</code></td><td class=\"n\">{E(check.Actual)}</td><td class=\"{(check.Passed ? "pass\">yes" : "fail\">no")}</td></tr>");
            }

            s.AppendLine("</table>");
        }

        if (result.Facts.Count > 0)
        {
            s.AppendLine("<h2>Facts</h2><ul>");
            foreach (var fact in result.Facts)
            {
                s.AppendLine(i, $"<li>{E(fact.Key)}: {E(fact.Value)}</li>");
            }

            s.AppendLine("</ul>");
        }

        s.AppendLine("<h2>Latency, throughput and errors</h2>");
        s.AppendLine("<p>Latencies in milliseconds, of successful executions; <code>scenario</code> is the whole iteration.</p>");
        s.AppendLine("<table><tr><th>step</th><th>ok</th><th>failed</th><th>ok/s</th><th>MB/s</th><th>p50</th><th>p90</th><th>p99</th><th>p99.9</th><th>max</th></tr>");
        foreach (var step in (IEnumerable<StepSummary>)[result.Iterations, .. result.Steps])
        {
            s.AppendLine(i, $"<tr><td>{E(step.Name)}</td><td class=\"n\">{step.Ok:N0}</td><td class=\"n\">{step.Failed:N0}</td><td class=\"n\">{step.Rps:0.0}</td><td class=\"n\">{step.BytesPerSecond / 1e6:0.00}</td><td class=\"n\">{step.P50:0.00}</td><td class=\"n\">{step.P90:0.00}</td><td class=\"n\">{step.P99:0.00}</td><td class=\"n\">{step.P999:0.00}</td><td class=\"n\">{step.Max:0.00}</td></tr>");
        }

        s.AppendLine("</table>");

        var series = (IEnumerable<(string Name, IReadOnlyList<TimelinePoint> Points)>)[(Threshold.Scenario, result.IterationTimeline), .. result.Steps.Select(st => (st.Name, result.StepTimelines[st.Name]))];
        var all = series.ToList();
        s.AppendLine("<h3>Latency over time (p99 solid, p50 dashed, ms)</h3>");
        s.AppendLine(Chart(
            [.. all.SelectMany((x, n) => (IEnumerable<Line>)[
                new Line($"{x.Name} p99", Palette[n % Palette.Length], false, [.. x.Points.Where(p => p.Ok > 0).Select(p => (p.At.TotalSeconds, p.P99))]),
                new Line($"{x.Name} p50", Palette[n % Palette.Length], true, [.. x.Points.Where(p => p.Ok > 0).Select(p => (p.At.TotalSeconds, p.P50))])])],
            "ms"));
        s.AppendLine("<h3>Throughput (successful executions per second)</h3>");
        s.AppendLine(Chart([.. all.Select((x, n) => new Line(x.Name, Palette[n % Palette.Length], false, [.. x.Points.Select(p => (p.At.TotalSeconds, p.Ok / p.Length.TotalSeconds))]))], "/s"));
        s.AppendLine("<h3>Errors (failed executions per second)</h3>");
        var failures = all.Where(x => x.Points.Any(p => p.Failed > 0)).ToList();
        s.AppendLine(failures.Count == 0
            ? "<p>No errors.</p>"
            : Chart([.. failures.Select((x, n) => new Line(x.Name, Palette[(n + 1) % Palette.Length], false, [.. x.Points.Select(p => (p.At.TotalSeconds, p.Failed / p.Length.TotalSeconds))]))], "/s"));

        var errors = result.Steps.SelectMany(st => st.Errors.Select(e => (st.Name, e))).ToList();
        if (errors.Count > 0)
        {
            s.AppendLine("<table><tr><th>step</th><th>kind</th><th>count</th><th>first message</th></tr>");
            foreach (var (step, error) in errors)
            {
                s.AppendLine(i, $"<tr><td>{E(step)}</td><td>{E(error.Kind)}</td><td class=\"n\">{error.Count:N0}</td><td>{E(error.Example ?? "")}</td></tr>");
            }

            s.AppendLine("</table>");
        }

        if (result.Gauges.Count > 0)
        {
            s.AppendLine("<h2>Gauges</h2>");
            foreach (var name in result.Gauges.SelectMany(g => g.Values.Keys).Distinct(StringComparer.Ordinal))
            {
                s.AppendLine(i, $"<h3>{E(name)}</h3>");
                s.AppendLine(Chart([new Line(name, Palette[0], false, [.. result.Gauges.Where(g => g.Values.ContainsKey(name)).Select(g => (g.At.TotalSeconds, g.Values[name]))])], string.Empty));
            }
        }

        s.AppendLine("</body></html>");
        return s.ToString();
    }

    private sealed record Line(string Name, string Color, bool Dashed, IReadOnlyList<(double X, double Y)> Points);

    /// <summary>A line chart with axes, ticks and a legend; x in seconds of the run.</summary>
    private static string Chart(IReadOnlyList<Line> lines, string unit)
    {
        const int width = 960, height = 260, left = 60, right = 10, top = 10, bottom = 30;
        var i = CultureInfo.InvariantCulture;
        var points = lines.SelectMany(l => l.Points).ToList();
        if (points.Count == 0)
        {
            return "<p>Nothing recorded.</p>";
        }

        var maxX = Math.Max(1, points.Max(p => p.X));
        var maxY = NiceCeiling(points.Max(p => p.Y));
        double X(double x) => left + ((width - left - right) * x / maxX);
        double Y(double y) => top + ((height - top - bottom) * (1 - (y / maxY)));
        var legendHeight = 16 * ((lines.Count + 3) / 4);
        var s = new StringBuilder();
        s.AppendLine(i, $"<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{width}\" height=\"{height + legendHeight}\" viewBox=\"0 0 {width} {height + legendHeight}\">");
        for (var t = 0; t <= 4; t++)
        {
            var y = maxY * t / 4;
            s.AppendLine(i, $"<line x1=\"{left}\" y1=\"{Y(y):0.#}\" x2=\"{width - right}\" y2=\"{Y(y):0.#}\" stroke=\"#ddd\"/><text x=\"{left - 4}\" y=\"{Y(y) + 4:0.#}\" text-anchor=\"end\">{Short(y)}{E(unit)}</text>");
        }

        var step = NiceCeiling(maxX / 8);
        for (var x = 0.0; x <= maxX + 1e-9; x += step)
        {
            s.AppendLine(i, $"<text x=\"{X(x):0.#}\" y=\"{height - 10}\" text-anchor=\"middle\">{x:0.#}s</text>");
        }

        s.AppendLine(i, $"<line x1=\"{left}\" y1=\"{height - bottom}\" x2=\"{width - right}\" y2=\"{height - bottom}\" stroke=\"#999\"/>");
        foreach (var line in lines.Where(l => l.Points.Count > 0))
        {
            var path = string.Join(' ', line.Points.Select(p => string.Create(i, $"{X(p.X):0.#},{Y(p.Y):0.#}")));
            var dash = line.Dashed ? " stroke-dasharray=\"4 3\"" : string.Empty;
            s.AppendLine(i, $"<polyline fill=\"none\" stroke=\"{line.Color}\" stroke-width=\"1.5\"{dash} points=\"{path}\"/>");
        }

        for (var n = 0; n < lines.Count; n++)
        {
            var lx = left + (n % 4 * 225);
            var ly = height + (16 * (n / 4)) + 4;
            var dash = lines[n].Dashed ? " stroke-dasharray=\"4 3\"" : string.Empty;
            s.AppendLine(i, $"<line x1=\"{lx}\" y1=\"{ly + 4}\" x2=\"{lx + 20}\" y2=\"{ly + 4}\" stroke=\"{lines[n].Color}\" stroke-width=\"2\"{dash}/><text x=\"{lx + 24}\" y=\"{ly + 8}\">{E(lines[n].Name)}</text>");
        }

        s.Append("</svg>");
        return s.ToString();
    }

    private static double NiceCeiling(double value)
    {
        if (value <= 0 || double.IsNaN(value))
        {
            return 1;
        }

        var magnitude = Math.Pow(10, Math.Floor(Math.Log10(value)));
        foreach (var m in (double[])[1, 2, 2.5, 5, 10])
        {
            if (m * magnitude >= value)
            {
                return m * magnitude;
            }
        }

        return 10 * magnitude;
    }

    private static string Short(double v) => v switch
    {
        >= 1e9 => (v / 1e9).ToString("0.##", CultureInfo.InvariantCulture) + "G",
        >= 1e6 => (v / 1e6).ToString("0.##", CultureInfo.InvariantCulture) + "M",
        >= 1e4 => (v / 1e3).ToString("0.##", CultureInfo.InvariantCulture) + "k",
        _ => v.ToString("0.##", CultureInfo.InvariantCulture),
    };

    private static string E(string text) => WebUtility.HtmlEncode(text);
}
