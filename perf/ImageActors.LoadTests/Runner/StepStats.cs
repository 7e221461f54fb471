using HdrHistogram;

namespace ImageActors.LoadTests.Runner;

/// <summary>
/// Latencies (microseconds, HdrHistogram, 3 significant digits), counts, bytes and errors of one step — or of whole
/// iterations — recorded from many threads. <see cref="Sample"/> closes the current interval into a point of the timeline
/// and adds it to the totals, so memory does not grow with the length of the run.
/// </summary>
public sealed class StepStats
{
    /// <summary>Longest latency that can be recorded: one hour.</summary>
    public const long MaxMicroseconds = 3_600_000_000;

    private readonly Recorder _recorder = HistogramFactory.With64BitBucketSize()
        .WithValuesFrom(1).WithValuesUpTo(MaxMicroseconds).WithPrecisionOf(3)
        .WithThreadSafeWrites().WithThreadSafeReads().Create();

    private readonly LongHistogram _total = new(MaxMicroseconds, 3);
    private readonly Dictionary<string, long> _errors = new(StringComparer.Ordinal);
    private readonly Dictionary<string, string> _examples = new(StringComparer.Ordinal);
    private readonly Lock _errorsGate = new();
    private readonly List<TimelinePoint> _timeline = [];
    private HistogramBase? _interval;
    private long _ok;
    private long _failed;
    private long _bytes;
    private long _sampledOk;
    private long _sampledFailed;
    private long _sampledBytes;

    /// <summary>Creates the statistics of the step called <paramref name="name"/>.</summary>
    public StepStats(string name) => Name = name;

    /// <summary>The step's name (<see cref="Threshold.Scenario"/> for whole iterations).</summary>
    public string Name { get; }

    /// <summary>Successful executions so far.</summary>
    public long Ok => Interlocked.Read(ref _ok);

    /// <summary>Failed executions so far.</summary>
    public long Failed => Interlocked.Read(ref _failed);

    /// <summary>Bytes moved so far.</summary>
    public long Bytes => Interlocked.Read(ref _bytes);

    /// <summary>All latencies of the sampled intervals (microseconds).</summary>
    public HistogramBase Latency => _total;

    /// <summary>One point per sampled interval.</summary>
    public IReadOnlyList<TimelinePoint> Timeline => _timeline;

    /// <summary>Failures by kind, most frequent first, each with the first message of its kind.</summary>
    public IReadOnlyList<ErrorCount> Errors
    {
        get
        {
            lock (_errorsGate)
            {
                return [.. _errors.OrderByDescending(e => e.Value).ThenBy(e => e.Key, StringComparer.Ordinal)
                    .Select(e => new ErrorCount(e.Key, e.Value, _examples.GetValueOrDefault(e.Key)))];
            }
        }
    }

    /// <summary>Records one execution that took <paramref name="elapsed"/>.</summary>
    public void Record(TimeSpan elapsed, StepOutcome outcome)
    {
        var micros = Math.Clamp((long)elapsed.TotalMicroseconds, 1, MaxMicroseconds);
        if (outcome.IsOk)
        {
            // Failures are counted and grouped but kept out of the latency figures: a refused request is fast and
            // would make a failing server look quick.
            _recorder.RecordValue(micros);
            Interlocked.Increment(ref _ok);
        }
        else
        {
            Interlocked.Increment(ref _failed);
            lock (_errorsGate)
            {
                var kind = outcome.ErrorKind ?? "error";
                _errors[kind] = _errors.GetValueOrDefault(kind) + 1;
                if (outcome.ErrorDetail is { Length: > 0 } detail)
                {
                    _examples.TryAdd(kind, detail);
                }
            }
        }

        Interlocked.Add(ref _bytes, outcome.Bytes);
    }

    /// <summary>Closes the interval that ends at <paramref name="at"/> (time since the measurement began) into a timeline point.</summary>
    public TimelinePoint Sample(TimeSpan at, TimeSpan length)
    {
        _interval = _recorder.GetIntervalHistogram(_interval);
        _total.Add(_interval);
        var ok = Ok;
        var failed = Failed;
        var bytes = Bytes;
        var point = new TimelinePoint(
            at,
            length,
            ok - _sampledOk,
            failed - _sampledFailed,
            bytes - _sampledBytes,
            _interval.TotalCount == 0 ? 0 : _interval.GetValueAtPercentile(50) / 1000.0,
            _interval.TotalCount == 0 ? 0 : _interval.GetValueAtPercentile(99) / 1000.0,
            _interval.TotalCount == 0 ? 0 : _interval.GetMaxValue() / 1000.0);
        (_sampledOk, _sampledFailed, _sampledBytes) = (ok, failed, bytes);
        _timeline.Add(point);
        return point;
    }

    /// <summary>Forgets everything recorded so far (the end of the warm-up).</summary>
    public void Reset()
    {
        _interval = _recorder.GetIntervalHistogram(_interval);
        _total.Reset();
        _timeline.Clear();
        lock (_errorsGate)
        {
            _errors.Clear();
            _examples.Clear();
        }

        Interlocked.Exchange(ref _ok, 0);
        Interlocked.Exchange(ref _failed, 0);
        Interlocked.Exchange(ref _bytes, 0);
        (_sampledOk, _sampledFailed, _sampledBytes) = (0, 0, 0);
    }

    /// <summary>The figures reports and thresholds use, over the whole measured time.</summary>
    public StepSummary Summarize(TimeSpan measured)
    {
        var seconds = Math.Max(measured.TotalSeconds, 1e-9);
        var n = _total.TotalCount;
        double At(double percentile) => n == 0 ? 0 : _total.GetValueAtPercentile(percentile) / 1000.0;
        return new StepSummary(
            Name,
            Ok,
            Failed,
            Bytes,
            Ok / seconds,
            Bytes / seconds,
            At(50),
            At(75),
            At(90),
            At(95),
            At(99),
            At(99.9),
            n == 0 ? 0 : _total.GetMaxValue() / 1000.0,
            n == 0 ? 0 : _total.GetMean() / 1000.0,
            Errors);
    }
}

/// <summary>How often a step failed with one kind of error, and the first message of that kind (null when none was given).</summary>
public sealed record ErrorCount(string Kind, long Count, string? Example);

/// <summary>One interval of the run: counts, bytes and latency percentiles (milliseconds) of what ended in it.</summary>
public sealed record TimelinePoint(TimeSpan At, TimeSpan Length, long Ok, long Failed, long Bytes, double P50, double P99, double Max);

/// <summary>A step's figures over the measured time; latencies in milliseconds, of successful executions.</summary>
public sealed record StepSummary(
    string Name,
    long Ok,
    long Failed,
    long Bytes,
    double Rps,
    double BytesPerSecond,
    double P50,
    double P75,
    double P90,
    double P95,
    double P99,
    double P999,
    double Max,
    double Mean,
    IReadOnlyList<ErrorCount> Errors)
{
    /// <summary>Failed executions as a percentage of all.</summary>
    public double ErrorRate => Ok + Failed == 0 ? 0 : 100.0 * Failed / (Ok + Failed);

    /// <summary>The value of a threshold's metric.</summary>
    public double Metric(string metric) => metric switch
    {
        "p50" => P50,
        "p75" => P75,
        "p90" => P90,
        "p95" => P95,
        "p99" => P99,
        "p99.9" => P999,
        "max" => Max,
        "mean" => Mean,
        "ok" => Ok,
        "errors" => Failed,
        "error_rate" => ErrorRate,
        "rps" => Rps,
        _ => throw new ArgumentOutOfRangeException(nameof(metric), metric, "unknown metric"),
    };
}
