using System.Collections.Concurrent;
using System.Diagnostics.Metrics;
using System.Globalization;
using System.Text;
using ImageActors.Images.Diagnostics;

namespace ImageActors.Server.Metrics;

/// <summary>
/// <c>/metrics</c>: the instruments of the server's meter and of the store's meter (both named
/// <see cref="ImageActorsDiagnostics.Name"/>, so OpenTelemetry sees the same ones), read through a
/// <see cref="MeterListener"/> and written in the Prometheus text format. An instrument <c>imageactors.exports</c> is
/// written as <c>imageactors_exports_total</c> (dots become underscores; counters end in <c>_total</c>).
/// What the server itself records (requests, bytes, exports to clients) is counted in interlocked longs that its
/// observable instruments read.
/// </summary>
public sealed class ServerMetrics : IDisposable
{
    private readonly long[] _requestsByClass = new long[6];
    private readonly Meter _meter;
    private readonly bool _ownsMeter;
    private readonly HashSet<Meter> _meters;
    private readonly MeterListener _listener;
    private readonly ConcurrentDictionary<Instrument, ConcurrentDictionary<string, double>> _samples = new();
    private readonly Lock _collecting = new();
    private long _bytesServed;
    private long _bytesReceived;
    private long _exportsInFlight;
    private long _exportsTotal;

    /// <summary>Creates the server's instruments and starts listening to them and to <paramref name="storeMeter"/>.</summary>
    /// <param name="meterFactory">The host's meter factory (the server's meter comes from it); null makes a meter of its own.</param>
    /// <param name="storeMeter">The store's meter (<see cref="ImageActors.Images.ImageStore.Meter"/>), or null without a store.</param>
    /// <param name="operationsRunning">Reads the operations not finished yet.</param>
    /// <param name="eventListeners">Reads the connected event listeners.</param>
    /// <param name="uploads">The upload slots, whose running and waiting uploads are a gauge.</param>
    public ServerMetrics(IMeterFactory? meterFactory = null, Meter? storeMeter = null, Func<long>? operationsRunning = null, Func<long>? eventListeners = null, Api.UploadSlots? uploads = null)
    {
        _ownsMeter = meterFactory is null;
        _meter = meterFactory?.Create(new MeterOptions(ImageActorsDiagnostics.Name)) ?? new Meter(ImageActorsDiagnostics.Name);
        _meter.CreateObservableCounter("imageactors.http.requests", RequestsByClass, "{request}", "HTTP requests answered, by status class.");
        _meter.CreateObservableCounter("imageactors.http.response.bytes", () => Interlocked.Read(ref _bytesServed), "By", "Bytes sent in response bodies whose length was known or counted.");
        _meter.CreateObservableCounter("imageactors.upload.bytes", () => Interlocked.Read(ref _bytesReceived), "By", "Bytes received in image uploads.");
        _meter.CreateObservableUpDownCounter("imageactors.exports.in_flight", () => Interlocked.Read(ref _exportsInFlight), "{export}", "Image exports (downloads by clients) being served now.");
        _meter.CreateObservableCounter("imageactors.exports", () => Interlocked.Read(ref _exportsTotal), "{export}", "Image exports (downloads by clients) started.");
        if (operationsRunning is not null)
        {
            _meter.CreateObservableGauge("imageactors.operations.running", operationsRunning, "{operation}", "Operations not finished yet.");
        }

        if (eventListeners is not null)
        {
            _meter.CreateObservableGauge("imageactors.event.listeners", eventListeners, "{listener}", "Connected /1.0/events listeners.");
        }

        if (uploads is not null)
        {
            _meter.CreateObservableGauge(
                "imageactors.uploads",
                () => new[]
                {
                    new Measurement<long>(uploads.Running, new KeyValuePair<string, object?>("state", "running")),
                    new Measurement<long>(uploads.Waiting, new KeyValuePair<string, object?>("state", "waiting")),
                },
                "{upload}",
                "Image uploads running (holding one of server.max_concurrent_uploads) or waiting for a slot.");
        }

        _meters = storeMeter is null ? [_meter] : [_meter, storeMeter];
        _listener = new MeterListener
        {
            InstrumentPublished = (instrument, listener) =>
            {
                // The journal's meter is static (one per process, summed over its journals): known by its name.
                if ((_meters.Contains(instrument.Meter) || instrument.Meter.Name == Persistence.JournalMetrics.MeterName) && Kind(instrument) is not null)
                {
                    listener.EnableMeasurementEvents(instrument);
                }
            },
            MeasurementsCompleted = (instrument, _) => _samples.TryRemove(instrument, out ConcurrentDictionary<string, double>? _),
        };
        _listener.SetMeasurementEventCallback<long>((instrument, value, tags, _) => Record(instrument, value, tags));
        _listener.SetMeasurementEventCallback<int>((instrument, value, tags, _) => Record(instrument, value, tags));
        _listener.SetMeasurementEventCallback<double>((instrument, value, tags, _) => Record(instrument, value, tags));
        _listener.Start();
    }

    /// <summary>Counts a finished request by its status class (1xx…5xx).</summary>
    public void RequestFinished(int statusCode) => Interlocked.Increment(ref _requestsByClass[Math.Clamp(statusCode / 100, 0, 5)]);

    /// <summary>Adds bytes sent in response bodies.</summary>
    public void BytesServed(long bytes) => Interlocked.Add(ref _bytesServed, bytes);

    /// <summary>Adds bytes received in uploads.</summary>
    public void BytesReceived(long bytes) => Interlocked.Add(ref _bytesReceived, bytes);

    /// <summary>Marks an export (image download by a client) as started; dispose the result when it ends.</summary>
    public IDisposable ExportStarted()
    {
        Interlocked.Increment(ref _exportsInFlight);
        Interlocked.Increment(ref _exportsTotal);
        return new ExportScope(this);
    }

    /// <summary>Exports being served right now.</summary>
    public long ExportsInFlight => Interlocked.Read(ref _exportsInFlight);

    /// <summary>Reads every instrument now and writes them in the Prometheus text exposition format (version 0.0.4).</summary>
    public string ToPrometheusText()
    {
        var text = new StringBuilder(4096);
        lock (_collecting)
        {
            // An observable's series are what it reports now (a stopped store's gauges report none).
            foreach (var (instrument, series) in _samples)
            {
                if (instrument.IsObservable)
                {
                    series.Clear();
                }
            }

            _listener.RecordObservableInstruments();
            foreach (var group in _samples.Where(s => !s.Value.IsEmpty).GroupBy(s => PrometheusName(s.Key)).OrderBy(g => g.Key, StringComparer.Ordinal))
            {
                var instrument = group.First().Key;
                Header(text, group.Key, instrument.Description ?? string.Empty, Kind(instrument)!);
                foreach (var (labels, value) in group.SelectMany(s => s.Value).OrderBy(s => s.Key, StringComparer.Ordinal))
                {
                    Sample(text, group.Key, labels, value);
                }
            }
        }

        return text.ToString();
    }

    /// <inheritdoc />
    public void Dispose()
    {
        _listener.Dispose();
        if (_ownsMeter)
        {
            _meter.Dispose();
        }
    }

    // Observable instruments report their current value, which replaces the last; the others report increments.
    private void Record(Instrument instrument, double value, ReadOnlySpan<KeyValuePair<string, object?>> tags)
    {
        var series = _samples.GetOrAdd(instrument, static _ => new ConcurrentDictionary<string, double>(StringComparer.Ordinal));
        var labels = Labels(tags);
        if (instrument.IsObservable)
        {
            series[labels] = value;
        }
        else
        {
            series.AddOrUpdate(labels, value, (_, sum) => sum + value);
        }
    }

    // The Prometheus type of an instrument this exposition writes; null for those it does not (histograms).
    private static string? Kind(Instrument instrument)
    {
        var type = instrument.GetType();
        var definition = type.IsGenericType ? type.GetGenericTypeDefinition() : type;
        return definition == typeof(Counter<>) || definition == typeof(ObservableCounter<>) ? "counter"
            : definition == typeof(UpDownCounter<>) || definition == typeof(ObservableUpDownCounter<>) || definition == typeof(ObservableGauge<>) || definition == typeof(Gauge<>) ? "gauge"
            : null;
    }

    private static string PrometheusName(Instrument instrument)
    {
        var name = instrument.Name.Replace('.', '_').Replace('-', '_');
        return Kind(instrument) == "counter" && !name.EndsWith("_total", StringComparison.Ordinal) ? name + "_total" : name;
    }

    private static string Labels(ReadOnlySpan<KeyValuePair<string, object?>> tags)
    {
        if (tags.Length == 0)
        {
            return string.Empty;
        }

        var pairs = new List<string>(tags.Length);
        foreach (var (key, value) in tags)
        {
            var text = Convert.ToString(value, CultureInfo.InvariantCulture) ?? string.Empty;
            pairs.Add(key.Replace('.', '_') + "=\"" + text.Replace("\\", "\\\\", StringComparison.Ordinal).Replace("\"", "\\\"", StringComparison.Ordinal).Replace("\n", "\\n", StringComparison.Ordinal) + "\"");
        }

        pairs.Sort(StringComparer.Ordinal);
        return string.Join(',', pairs);
    }

    private IEnumerable<Measurement<long>> RequestsByClass()
    {
        for (var c = 1; c <= 5; c++)
        {
            yield return new Measurement<long>(Interlocked.Read(ref _requestsByClass[c]), new KeyValuePair<string, object?>("code", $"{c}xx"));
        }
    }

    private static void Header(StringBuilder text, string name, string help, string type) =>
        text.Append("# HELP ").Append(name).Append(' ').Append(help).Append('\n')
            .Append("# TYPE ").Append(name).Append(' ').Append(type).Append('\n');

    private static void Sample(StringBuilder text, string name, string labels, double value)
    {
        text.Append(name);
        if (labels.Length > 0)
        {
            text.Append('{').Append(labels).Append('}');
        }

        text.Append(' ').Append(value.ToString("R", CultureInfo.InvariantCulture)).Append('\n');
    }

    private sealed class ExportScope(ServerMetrics metrics) : IDisposable
    {
        private int _disposed;

        public void Dispose()
        {
            if (Interlocked.Exchange(ref _disposed, 1) == 0)
            {
                Interlocked.Decrement(ref metrics._exportsInFlight);
            }
        }
    }
}
