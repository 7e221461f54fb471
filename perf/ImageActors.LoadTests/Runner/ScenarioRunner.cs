using System.Collections.Concurrent;
using System.Globalization;

namespace ImageActors.LoadTests.Runner;

/// <summary>
/// Runs a <see cref="Scenario"/>: the warm-up, then each load stretch, sampling every step's statistics once a second
/// into a timeline and a live console line. Open models time each iteration from when it was due to start, not from
/// when it started, so a server that falls behind shows as latency (coordinated omission corrected).
/// </summary>
public sealed class ScenarioRunner
{
    private static readonly TimeSpan SampleEvery = TimeSpan.FromSeconds(1);

    private readonly Scenario _scenario;
    private readonly TextWriter _console;
    private readonly bool _consoleIsTerminal;
    private readonly ConcurrentDictionary<string, StepStats> _steps = new(StringComparer.Ordinal);
    private readonly ConcurrentQueue<string> _stepOrder = new();
    private readonly StepStats _iterations = new(Threshold.Scenario);
    private readonly List<GaugeSample> _gauges = [];
    private long _iterationNumber = -1;
    private long _inFlight;
    private long _measureStart;

    /// <summary>Creates a runner that writes its live line to <paramref name="console"/>.</summary>
    public ScenarioRunner(Scenario scenario, TextWriter console, bool consoleIsTerminal)
    {
        _scenario = scenario;
        _console = console;
        _consoleIsTerminal = consoleIsTerminal;
    }

    /// <summary>Runs the scenario to its end (or until <paramref name="cancellation"/>) and evaluates its thresholds.</summary>
    public async Task<ScenarioResult> RunAsync(CancellationToken cancellation)
    {
        using var stopIterations = CancellationTokenSource.CreateLinkedTokenSource(cancellation);
        var running = new List<Task>();
        var users = new List<VirtualUser>();

        if (_scenario.WarmUp > TimeSpan.Zero && _scenario.Load.Count > 0)
        {
            _console.WriteLine($"{_scenario.Name}: warming up for {LoadSimulation.Format(_scenario.WarmUp)}");
            var first = _scenario.Load[0] switch
            {
                LoadSimulation.RampingConstant r => new LoadSimulation.KeepConstant(r.Copies, _scenario.WarmUp),
                LoadSimulation.IterationsForConstant i => new LoadSimulation.KeepConstant(i.Copies, _scenario.WarmUp),
                LoadSimulation.RampingInject r => new LoadSimulation.Inject(r.Rate, _scenario.WarmUp),
                var s => s with { During = _scenario.WarmUp },
            };
            _measureStart = TimeProvider.System.GetTimestamp();
            await RunStretchAsync(first, 0, 0, users, running, stopIterations.Token);
            await StopUsersAsync(users, running, stopIterations);
            foreach (var stats in AllStats())
            {
                stats.Reset();
            }
        }

        var started = DateTimeOffset.UtcNow;
        _measureStart = TimeProvider.System.GetTimestamp();
        using var sampling = CancellationTokenSource.CreateLinkedTokenSource(cancellation);
        var sampler = SampleAsync(sampling.Token);
        var previousUsers = 0;
        var previousRate = 0.0;
        try
        {
            foreach (var stretch in _scenario.Load)
            {
                _console.WriteLine($"{_scenario.Name}: {stretch.Describe()}");
                await RunStretchAsync(stretch, previousUsers, previousRate, users, running, stopIterations.Token);
                (previousUsers, previousRate) = stretch switch
                {
                    LoadSimulation.KeepConstant k => (k.Copies, 0.0),
                    LoadSimulation.RampingConstant r => (r.Copies, 0.0),
                    LoadSimulation.Inject j => (0, j.Rate),
                    LoadSimulation.RampingInject r => (0, r.Rate),
                    _ => (0, 0.0),
                };
                if (stretch.IsOpen || stretch is LoadSimulation.IterationsForConstant)
                {
                    await StopUsersAsync(users, running, stopIterations, keep: 0, wait: false);
                }
            }

            await StopUsersAsync(users, running, stopIterations);
        }
        finally
        {
            await sampling.CancelAsync();
            await sampler;
        }

        var measured = TimeProvider.System.GetElapsedTime(_measureStart);
        SampleAll(measured);
        if (_consoleIsTerminal)
        {
            _console.WriteLine();
        }

        var result = new ScenarioResult(_scenario, started, measured, _iterations, [.. _stepOrder.Select(n => _steps[n])], _gauges);
        result.Evaluate(_scenario.Thresholds);
        if (_scenario.Finish is not null)
        {
            await _scenario.Finish(result, cancellation);
        }

        return result;
    }

    private IEnumerable<StepStats> AllStats() => [_iterations, .. _stepOrder.Select(n => _steps[n])];

    private StepStats StatsOf(string step)
    {
        if (_steps.TryGetValue(step, out var stats))
        {
            return stats;
        }

        // Two iterations may meet a new step at once: only the one whose statistics were added records its order.
        var created = new StepStats(step);
        if (_steps.TryAdd(step, created))
        {
            _stepOrder.Enqueue(step);
            return created;
        }

        return _steps[step];
    }

    private TimeSpan Elapsed => TimeProvider.System.GetElapsedTime(_measureStart);

    private async Task RunStretchAsync(LoadSimulation stretch, int fromUsers, double fromRate, List<VirtualUser> users, List<Task> running, CancellationToken cancellation)
    {
        var begin = Elapsed;
        var end = begin + stretch.During;
        switch (stretch)
        {
            case LoadSimulation.KeepConstant or LoadSimulation.RampingConstant:
                var target = stretch is LoadSimulation.KeepConstant k ? k.Copies : ((LoadSimulation.RampingConstant)stretch).Copies;
                var ramps = stretch is LoadSimulation.RampingConstant;
                while (Elapsed < end && !cancellation.IsCancellationRequested)
                {
                    var fraction = stretch.During <= TimeSpan.Zero ? 1 : Math.Clamp((Elapsed - begin) / stretch.During, 0, 1);
                    var now = ramps ? (int)Math.Round(fromUsers + ((target - fromUsers) * fraction)) : target;
                    while (users.Count(u => !u.Stopping) < now)
                    {
                        _ = StartUser(users, running, null, cancellation);
                    }

                    await StopUsersAsync(users, running, null, keep: now, wait: false);
                    await DelayAsync(TimeSpan.FromMilliseconds(100), cancellation);
                }

                break;

            case LoadSimulation.IterationsForConstant bounded:
                var budget = new IterationBudget(bounded.Iterations);
                var started = new List<Task>();
                for (var i = 0; i < bounded.Copies; i++)
                {
                    started.Add(StartUser(users, running, budget, cancellation));
                }

                await Task.WhenAny(Task.WhenAll(started), Task.Delay(stretch.During, cancellation)).ConfigureAwait(false);
                break;

            case LoadSimulation.Inject or LoadSimulation.RampingInject:
                var rate = stretch is LoadSimulation.Inject j ? j.Rate : ((LoadSimulation.RampingInject)stretch).Rate;
                var rampsRate = stretch is LoadSimulation.RampingInject;
                var due = begin;
                while (due < end && !cancellation.IsCancellationRequested)
                {
                    var fraction = stretch.During <= TimeSpan.Zero ? 1 : Math.Clamp((due - begin) / stretch.During, 0, 1);
                    var current = rampsRate ? fromRate + ((rate - fromRate) * fraction) : rate;
                    if (current < 0.01)
                    {
                        due += TimeSpan.FromMilliseconds(100);
                        continue;
                    }

                    var wait = due - Elapsed;
                    if (wait > TimeSpan.FromMilliseconds(1))
                    {
                        await DelayAsync(wait, cancellation);
                    }

                    StartArrival(due, cancellation);
                    due += TimeSpan.FromSeconds(1 / current);
                }

                break;

            default:
                throw new NotSupportedException(stretch.GetType().Name);
        }
    }

    private Task StartUser(List<VirtualUser> users, List<Task> running, IterationBudget? budget, CancellationToken cancellation)
    {
        var user = new VirtualUser(users.Count);
        users.Add(user);
        var task = Task.Run(async () =>
        {
            while (!user.Stopping && !cancellation.IsCancellationRequested && (budget is null || budget.Take()))
            {
                await RunIterationAsync(user.Number, TimeProvider.System.GetTimestamp(), cancellation);
            }
        }, CancellationToken.None);
        lock (running)
        {
            running.Add(task);
        }

        return task;
    }

    private void StartArrival(TimeSpan due, CancellationToken cancellation)
    {
        if (Interlocked.Read(ref _inFlight) >= _scenario.MaxInFlight)
        {
            _iterations.Record(TimeSpan.Zero, StepOutcome.Fail($"dropped: more than {_scenario.MaxInFlight} in flight"));
            return;
        }

        // The clock of an arrival starts when it was due, so time spent waiting for the runner counts.
        var dueTimestamp = _measureStart + (long)(due.TotalSeconds * TimeProvider.System.TimestampFrequency);
        _ = Task.Run(() => RunIterationAsync(-1, dueTimestamp, cancellation), CancellationToken.None);
    }

    private async Task RunIterationAsync(int user, long startedAt, CancellationToken cancellation)
    {
        var number = Interlocked.Increment(ref _iterationNumber);
        var context = new ScenarioContext(user < 0 ? (int)(number % int.MaxValue) : user, number, StatsOf, cancellation);
        Interlocked.Increment(ref _inFlight);
        StepOutcome outcome;
        try
        {
            await _scenario.Iteration(context);
            outcome = StepOutcome.Ok();
        }
        catch (ScenarioContext.IterationEnded)
        {
            outcome = StepOutcome.Fail(context.FailedKind ?? "failed");
        }
        catch (Exception e)
        {
            outcome = StepOutcome.Fail(ScenarioContext.KindOf(e, cancellation));
        }
        finally
        {
            Interlocked.Decrement(ref _inFlight);
        }

        _iterations.Record(TimeProvider.System.GetElapsedTime(startedAt), outcome);
    }

    private async Task StopUsersAsync(List<VirtualUser> users, List<Task> running, CancellationTokenSource? cancelAfterGrace, int keep = 0, bool wait = true)
    {
        foreach (var user in users.Where(u => !u.Stopping).Skip(keep))
        {
            user.Stopping = true;
        }

        if (!wait)
        {
            return;
        }

        Task[] pending;
        lock (running)
        {
            pending = [.. running];
        }

        // Users are tasks; open-model arrivals are counted only.
        var all = Task.WhenAll([.. pending, WhenNoneInFlightAsync()]);
        if (await Task.WhenAny(all, Task.Delay(_scenario.Grace)) != all && cancelAfterGrace is not null)
        {
            _console.WriteLine($"{_scenario.Name}: {Interlocked.Read(ref _inFlight)} iterations still running after {LoadSimulation.Format(_scenario.Grace)}: cancelling them");
            await cancelAfterGrace.CancelAsync();
            await all.ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
        }

        if (Interlocked.Read(ref _inFlight) == 0)
        {
            users.Clear();
            lock (running)
            {
                running.Clear();
            }
        }
    }

    private async Task WhenNoneInFlightAsync()
    {
        while (Interlocked.Read(ref _inFlight) > 0)
        {
            await Task.Delay(20);
        }
    }

    private async Task SampleAsync(CancellationToken cancellation)
    {
        var next = SampleEvery;
        var lastLine = TimeSpan.Zero;
        while (!cancellation.IsCancellationRequested)
        {
            var wait = next - Elapsed;
            if (wait > TimeSpan.Zero && !await DelayAsync(wait, cancellation))
            {
                return;
            }

            var point = SampleAll(next);
            if (_scenario.Gauges is not null)
            {
                try
                {
                    _gauges.Add(new GaugeSample(next, await _scenario.Gauges(cancellation)));
                }
                catch (Exception e) when (e is not OperationCanceledException)
                {
                    _console.WriteLine($"{_scenario.Name}: gauges could not be read: {e.Message}");
                }
            }

            // A terminal gets one line rewritten in place; a log gets a line every 5 seconds.
            if (_consoleIsTerminal || next - lastLine >= TimeSpan.FromSeconds(5))
            {
                var line = string.Create(
                    CultureInfo.InvariantCulture,
                    $"[{next.TotalSeconds,5:0}s] {_scenario.Name}: {_iterations.Ok:N0} ok, {_iterations.Failed:N0} failed, {point.Ok / point.Length.TotalSeconds:0.#}/s, p99 {point.P99:0.#} ms, in flight {Interlocked.Read(ref _inFlight)}");
                _console.Write(_consoleIsTerminal ? "\r" + line.PadRight(100) : line + Environment.NewLine);
                lastLine = next;
            }

            next += SampleEvery;
        }
    }

    private TimelinePoint SampleAll(TimeSpan at)
    {
        var last = _iterations.Timeline.Count == 0 ? TimeSpan.Zero : _iterations.Timeline[^1].At;
        var length = at - last;
        if (length <= TimeSpan.Zero)
        {
            length = TimeSpan.FromMilliseconds(1);
        }

        foreach (var name in _stepOrder)
        {
            _steps[name].Sample(at, length);
        }

        return _iterations.Sample(at, length);
    }

    private static async Task<bool> DelayAsync(TimeSpan wait, CancellationToken cancellation)
    {
        try
        {
            await Task.Delay(wait, cancellation);
            return true;
        }
        catch (OperationCanceledException)
        {
            return false;
        }
    }

    private sealed class VirtualUser(int number)
    {
        public int Number { get; } = number;

        public volatile bool Stopping;
    }

    private sealed class IterationBudget(int iterations)
    {
        private int _left = iterations;

        public bool Take() => Interlocked.Decrement(ref _left) >= 0;
    }
}
