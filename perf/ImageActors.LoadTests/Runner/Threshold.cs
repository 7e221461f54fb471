using System.Globalization;
using System.Text.RegularExpressions;

namespace ImageActors.LoadTests.Runner;

/// <summary>
/// A condition the run must meet, e.g. <c>p99 &lt; 50ms</c> (the whole iteration), <c>export.p99 &lt; 2s</c> (one step),
/// <c>errors == 0</c>, <c>rps &gt;= 100</c>. Metrics: p50 p75 p90 p95 p99 p99.9 max mean (durations, with ms, s or us), ok,
/// errors, error_rate (a percentage), rps.
/// </summary>
public sealed partial record Threshold(string Target, string Metric, string Operator, double Value, string Text)
{
    /// <summary>The whole iteration of the scenario.</summary>
    public const string Scenario = "scenario";

    /// <summary>Parses a threshold; throws <see cref="FormatException"/> with a message that names it.</summary>
    public static Threshold Parse(string text)
    {
        ArgumentNullException.ThrowIfNull(text);
        var m = Syntax().Match(text.Trim());
        if (!m.Success)
        {
            throw new FormatException($"threshold \"{text}\": expected [STEP.]METRIC OP VALUE, e.g. \"p99 < 50ms\", \"export.errors == 0\"");
        }

        var target = m.Groups["target"].Success ? m.Groups["target"].Value : Scenario;
        var metric = m.Groups["metric"].Value.ToLowerInvariant();
        if (target == "p99" && metric == "9")
        {
            // "p99.9 < 5ms": the percentile, not a step named p99.
            (target, metric) = (Scenario, "p99.9");
        }

        var number = double.Parse(m.Groups["value"].Value, CultureInfo.InvariantCulture);
        var unit = m.Groups["unit"].Value.ToLowerInvariant();
        var isDuration = metric is "p50" or "p75" or "p90" or "p95" or "p99" or "p99.9" or "max" or "mean";
        double value;
        if (isDuration)
        {
            value = unit switch
            {
                "us" => number / 1000,
                "ms" or "" => number,
                "s" => number * 1000,
                _ => throw new FormatException($"threshold \"{text}\": {metric} takes a duration (us, ms or s), not \"{unit}\""),
            };
        }
        else if (metric is "ok" or "errors" or "rps" or "error_rate")
        {
            if (unit is not "" and not "%" || (unit == "%" && metric != "error_rate"))
            {
                throw new FormatException($"threshold \"{text}\": {metric} takes a plain number");
            }

            value = number;
        }
        else
        {
            throw new FormatException($"threshold \"{text}\": unknown metric {metric}; use p50 p75 p90 p95 p99 p99.9 max mean ok errors error_rate rps");
        }

        return new Threshold(target, metric, m.Groups["op"].Value, value, text.Trim());
    }

    /// <summary>Whether <paramref name="actual"/> (milliseconds for durations) meets the condition.</summary>
    public bool IsMetBy(double actual) => Operator switch
    {
        "<" => actual < Value,
        "<=" => actual <= Value,
        ">" => actual > Value,
        ">=" => actual >= Value,
        "==" => Math.Abs(actual - Value) < 1e-9,
        "!=" => Math.Abs(actual - Value) >= 1e-9,
        _ => false,
    };

    [GeneratedRegex(@"^(?:(?<target>[A-Za-z0-9_\-]+)\.)?(?<metric>p99\.9|[A-Za-z0-9_]+)\s*(?<op><=|>=|==|!=|<|>)\s*(?<value>[0-9]+(?:\.[0-9]+)?)\s*(?<unit>us|ms|s|%)?$")]
    private static partial Regex Syntax();
}
