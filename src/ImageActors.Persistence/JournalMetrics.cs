using System.Diagnostics;
using System.Diagnostics.Metrics;

namespace ImageActors.Persistence;

/// <summary>
/// The group-commit journal's instruments on the meter <see cref="MeterName"/>, summed over every journal of the
/// process: transactions committed, the write requests and events they held, and the time the writer spent in them.
/// Events per transaction is how far group commit batches; busy time over elapsed time is how much of the time the
/// database (not the path to it) was what the writes waited for.
/// </summary>
public static class JournalMetrics
{
    /// <summary>The name of the meter.</summary>
    public const string MeterName = "ImageActors.Persistence";

    /// <summary>Transactions of the journal's writer that committed.</summary>
    public const string Transactions = "imageactors.journal.transactions";

    /// <summary>Write requests (one persistent actor's atomic writes of one request) committed.</summary>
    public const string Writes = "imageactors.journal.writes";

    /// <summary>Events committed.</summary>
    public const string Events = "imageactors.journal.events";

    /// <summary>Seconds the writer spent inserting and committing (including transactions that failed or rolled back).</summary>
    public const string BusySeconds = "imageactors.journal.writer.busy";

    private static readonly Meter Meter = new(MeterName);
    private static long _transactions;
    private static long _writes;
    private static long _events;
    private static long _busyTicks;

    static JournalMetrics()
    {
        Meter.CreateObservableCounter(Transactions, () => Interlocked.Read(ref _transactions), "{transaction}", "Transactions of the journal's writer that committed.");
        Meter.CreateObservableCounter(Writes, () => Interlocked.Read(ref _writes), "{write}", "Write requests committed.");
        Meter.CreateObservableCounter(Events, () => Interlocked.Read(ref _events), "{event}", "Events committed.");
        Meter.CreateObservableCounter(BusySeconds, () => (double)Interlocked.Read(ref _busyTicks) / Stopwatch.Frequency, "s", "Time the journal's writer spent inserting and committing.");
    }

    internal static void Committed(int writes, int events)
    {
        Interlocked.Increment(ref _transactions);
        Interlocked.Add(ref _writes, writes);
        Interlocked.Add(ref _events, events);
    }

    internal static void Busy(long stopwatchTicks) => Interlocked.Add(ref _busyTicks, stopwatchTicks);
}
