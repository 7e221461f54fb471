namespace ImageActors.LoadTests.Runner;

/// <summary>
/// How load is applied for a stretch of the run. Closed models keep a number of virtual users busy (each starts its next
/// iteration when the last one ended, so a slow server sees fewer requests); open models start iterations at a rate
/// whatever the server does, so a slow server shows as growing latency and in-flight work.
/// </summary>
public abstract record LoadSimulation(TimeSpan During)
{
    /// <summary>Closed: <paramref name="Copies"/> virtual users for <paramref name="During"/>.</summary>
    public sealed record KeepConstant(int Copies, TimeSpan During) : LoadSimulation(During);

    /// <summary>Closed: the number of virtual users moves linearly from the previous stretch's to <paramref name="Copies"/>.</summary>
    public sealed record RampingConstant(int Copies, TimeSpan During) : LoadSimulation(During);

    /// <summary>Closed and bounded by count: <paramref name="Copies"/> users run <paramref name="Iterations"/> iterations in all, at most for <paramref name="During"/>.</summary>
    public sealed record IterationsForConstant(int Copies, int Iterations, TimeSpan During) : LoadSimulation(During);

    /// <summary>Open: <paramref name="Rate"/> iterations started per second for <paramref name="During"/>.</summary>
    public sealed record Inject(double Rate, TimeSpan During) : LoadSimulation(During);

    /// <summary>Open: the arrival rate moves linearly from the previous stretch's to <paramref name="Rate"/>.</summary>
    public sealed record RampingInject(double Rate, TimeSpan During) : LoadSimulation(During);

    /// <summary>Whether iterations arrive at a rate (open) rather than from a set of users (closed).</summary>
    public bool IsOpen => this is Inject or RampingInject;

    /// <summary>A short description for reports, e.g. <c>keep 100 users for 30s</c>.</summary>
    public string Describe() => this switch
    {
        KeepConstant k => $"closed: keep {k.Copies} users for {Format(k.During)}",
        RampingConstant r => $"closed: ramp to {r.Copies} users over {Format(r.During)}",
        IterationsForConstant i => $"closed: {i.Copies} users run {i.Iterations} iterations (at most {Format(i.During)})",
        Inject j => $"open: {j.Rate:0.##}/s for {Format(j.During)}",
        RampingInject r => $"open: ramp to {r.Rate:0.##}/s over {Format(r.During)}",
        _ => GetType().Name,
    };

    internal static string Format(TimeSpan t) =>
        t.TotalSeconds < 60 ? $"{t.TotalSeconds:0.##}s" : t.TotalMinutes < 60 ? $"{t.TotalMinutes:0.##}m" : $"{t.TotalHours:0.##}h";
}
