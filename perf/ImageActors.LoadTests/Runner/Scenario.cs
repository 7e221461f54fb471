namespace ImageActors.LoadTests.Runner;

/// <summary>
/// A named load scenario: one iteration is what a client does once (made of named steps, see
/// <see cref="ScenarioContext.StepAsync"/>), repeated under the <see cref="Load"/> simulations in order.
/// </summary>
public sealed record Scenario(string Name, Func<ScenarioContext, Task> Iteration)
{
    /// <summary>The stretches of load, run one after another.</summary>
    public IReadOnlyList<LoadSimulation> Load { get; init; } = [new LoadSimulation.KeepConstant(1, TimeSpan.FromSeconds(10))];

    /// <summary>Load applied before measuring (the first stretch's shape); nothing recorded in it counts.</summary>
    public TimeSpan WarmUp { get; init; }

    /// <summary>Conditions the run must meet; any one missed fails it.</summary>
    public IReadOnlyList<Threshold> Thresholds { get; init; } = [];

    /// <summary>Open model only: iterations in flight beyond this are not started and count as failures (<c>dropped</c>).</summary>
    public int MaxInFlight { get; init; } = 10_000;

    /// <summary>How long iterations still running at the end of the last stretch may take before they are cancelled.</summary>
    public TimeSpan Grace { get; init; } = TimeSpan.FromSeconds(60);

    /// <summary>Sampled with the timeline (once a second): named gauges such as the server's memory, threads or mailbox depth.</summary>
    public Func<CancellationToken, Task<IReadOnlyDictionary<string, double>>>? Gauges { get; init; }

    /// <summary>Runs after the load ended, before the report is written: adds facts and checks (e.g. upstream downloads).</summary>
    public Func<ScenarioResult, CancellationToken, Task>? Finish { get; init; }
}

/// <summary>What an iteration knows about itself and how it runs its steps.</summary>
public sealed class ScenarioContext
{
    private readonly Func<string, StepStats> _stats;

    internal ScenarioContext(int user, long iteration, Func<string, StepStats> stats, CancellationToken cancellation)
    {
        User = user;
        Iteration = iteration;
        _stats = stats;
        Cancellation = cancellation;
    }

    /// <summary>The virtual user running this iteration (closed models); in open models, a number per iteration.</summary>
    public int User { get; }

    /// <summary>The iteration's number within the run, from 0.</summary>
    public long Iteration { get; }

    /// <summary>Cancelled when the run stops waiting for iterations.</summary>
    public CancellationToken Cancellation { get; }

    /// <summary>Where the last failed step failed (set before the iteration ends).</summary>
    internal string? FailedKind { get; private set; }

    /// <summary>
    /// Runs and times one step. A failure (a failed outcome or an exception) is recorded under the step and ends the
    /// iteration: the steps after it do not run.
    /// </summary>
    public async Task<StepOutcome> StepAsync(string name, Func<CancellationToken, Task<StepOutcome>> step)
    {
        ArgumentNullException.ThrowIfNull(step);
        var stats = _stats(name);
        var started = TimeProvider.System.GetTimestamp();
        StepOutcome outcome;
        try
        {
            outcome = await step(Cancellation);
        }
        catch (Exception e) when (e is not IterationEnded)
        {
            outcome = StepOutcome.Fail(KindOf(e, Cancellation), detail: e.Message);
        }

        stats.Record(TimeProvider.System.GetElapsedTime(started), outcome);
        if (!outcome.IsOk)
        {
            FailedKind = $"{name}: {outcome.ErrorKind}";
            throw new IterationEnded();
        }

        return outcome;
    }

    internal static string KindOf(Exception e, CancellationToken cancellation) => e switch
    {
        StepFailedException f => f.Kind,
        OperationCanceledException when cancellation.IsCancellationRequested => "cancelled at the end of the run",
        OperationCanceledException or TimeoutException => "timeout",
        HttpRequestException { StatusCode: { } status } => $"http {(int)status}",
        HttpRequestException { InnerException: System.Net.Sockets.SocketException s } => $"connection: {s.SocketErrorCode}",
        HttpRequestException h => $"connection: {h.HttpRequestError}",
        IOException => "i/o: " + e.Message,
        _ => e.GetType().Name,
    };

    /// <summary>Ends an iteration after a failed step (already recorded).</summary>
    internal sealed class IterationEnded : Exception;
}
