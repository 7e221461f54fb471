namespace ImageActors.LoadTests.Runner;

/// <summary>Everything a run measured: the figures of whole iterations and of each step, timelines, gauges, facts and checks.</summary>
public sealed class ScenarioResult
{
    private readonly List<KeyValuePair<string, string>> _facts = [];
    private readonly List<Check> _checks = [];

    internal ScenarioResult(
        Scenario scenario,
        DateTimeOffset started,
        TimeSpan measured,
        StepStats iterations,
        IReadOnlyList<StepStats> steps,
        IReadOnlyList<GaugeSample> gauges)
    {
        Scenario = scenario;
        Started = started;
        Measured = measured;
        Iterations = iterations.Summarize(measured);
        IterationTimeline = iterations.Timeline;
        Steps = [.. steps.Select(s => s.Summarize(measured))];
        StepTimelines = steps.ToDictionary(s => s.Name, s => s.Timeline, StringComparer.Ordinal);
        Gauges = gauges;
    }

    /// <summary>The scenario that ran.</summary>
    public Scenario Scenario { get; }

    /// <summary>When the measured part began (after the warm-up).</summary>
    public DateTimeOffset Started { get; }

    /// <summary>How long the measured part took.</summary>
    public TimeSpan Measured { get; }

    /// <summary>Whole iterations (for open models, timed from when each was due to start).</summary>
    public StepSummary Iterations { get; }

    /// <summary>Whole iterations, second by second.</summary>
    public IReadOnlyList<TimelinePoint> IterationTimeline { get; }

    /// <summary>Each step, in the order first run.</summary>
    public IReadOnlyList<StepSummary> Steps { get; }

    /// <summary>Each step second by second.</summary>
    public IReadOnlyDictionary<string, IReadOnlyList<TimelinePoint>> StepTimelines { get; }

    /// <summary>The scenario's gauges, second by second.</summary>
    public IReadOnlyList<GaugeSample> Gauges { get; }

    /// <summary>Facts the scenario reported after the run (e.g. "upstream downloads").</summary>
    public IReadOnlyList<KeyValuePair<string, string>> Facts => _facts;

    /// <summary>Thresholds and the scenario's own checks, each met or not.</summary>
    public IReadOnlyList<Check> Checks => _checks;

    /// <summary>Whether every threshold and check was met.</summary>
    public bool Passed => _checks.TrueForAll(c => c.Passed);

    /// <summary>Adds a fact to the report.</summary>
    public void AddFact(string name, string value) => _facts.Add(new(name, value));

    /// <summary>Adds a check; a check not met fails the run.</summary>
    public void AddCheck(string name, bool passed, string actual) => _checks.Add(new Check(name, passed, actual));

    internal void Evaluate(IEnumerable<Threshold> thresholds)
    {
        foreach (var threshold in thresholds)
        {
            var summary = threshold.Target == Threshold.Scenario
                ? Iterations
                : Steps.FirstOrDefault(s => s.Name == threshold.Target);
            if (summary is null)
            {
                AddCheck(threshold.Text, false, $"no step named {threshold.Target} ran");
                continue;
            }

            var actual = summary.Metric(threshold.Metric);
            var isDuration = threshold.Metric is "p50" or "p75" or "p90" or "p95" or "p99" or "p99.9" or "max" or "mean";
            AddCheck(threshold.Text, threshold.IsMetBy(actual), isDuration ? $"{actual:0.###} ms" : $"{actual:0.###}");
        }
    }
}

/// <summary>A threshold or check and whether the run met it.</summary>
public sealed record Check(string Name, bool Passed, string Actual);

/// <summary>The scenario's gauges at one moment of the run.</summary>
public sealed record GaugeSample(TimeSpan At, IReadOnlyDictionary<string, double> Values);
