using System.Diagnostics.Metrics;
using System.Globalization;
using ImageActors.Persistence;

namespace ImageActors.JournalBench;

/// <summary>The group-commit journal's counters (<see cref="JournalMetrics"/>) read at one moment.</summary>
internal readonly record struct JournalCounters(long Transactions, long Writes, long Events, double BusySeconds)
{
    /// <summary>Reads the counters now.</summary>
    public static JournalCounters Read()
    {
        long transactions = 0, writes = 0, events = 0;
        double busy = 0;
        using var listener = new MeterListener
        {
            InstrumentPublished = (instrument, l) =>
            {
                if (instrument.Meter.Name == JournalMetrics.MeterName)
                {
                    l.EnableMeasurementEvents(instrument);
                }
            },
        };
        listener.SetMeasurementEventCallback<long>((instrument, value, _, _) =>
        {
            switch (instrument.Name)
            {
                case JournalMetrics.Transactions: transactions = value; break;
                case JournalMetrics.Writes: writes = value; break;
                case JournalMetrics.Events: events = value; break;
            }
        });
        listener.SetMeasurementEventCallback<double>((instrument, value, _, _) =>
        {
            if (instrument.Name == JournalMetrics.BusySeconds)
            {
                busy = value;
            }
        });
        listener.Start();
        listener.RecordObservableInstruments();
        return new JournalCounters(transactions, writes, events, busy);
    }

    /// <summary>What happened between <paramref name="before"/> and this reading, over <paramref name="seconds"/> of wall time.</summary>
    public string Since(JournalCounters before, double seconds)
    {
        var transactions = Transactions - before.Transactions;
        var writes = Writes - before.Writes;
        var events = Events - before.Events;
        var busy = BusySeconds - before.BusySeconds;
        return string.Create(CultureInfo.InvariantCulture,
            $"{transactions} transactions, {events} events ({(transactions == 0 ? 0 : (double)events / transactions):F0} per transaction, {(transactions == 0 ? 0 : (double)writes / transactions):F0} writes), writer busy {busy:F2} s of {seconds:F2} s ({100 * busy / seconds:F0}%)");
    }
}
