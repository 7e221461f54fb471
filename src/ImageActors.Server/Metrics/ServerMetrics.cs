using System.Collections.Concurrent;
using System.Globalization;
using System.Text;

namespace ImageActors.Server.Metrics;

/// <summary>
/// The server's counters and gauges, written in the Prometheus text format at <c>/metrics</c>.
/// Counters are plain interlocked longs: cheap enough to bump on every request.
/// </summary>
public sealed class ServerMetrics
{
    private readonly long[] _requestsByClass = new long[6];
    private readonly ConcurrentDictionary<string, Gauge> _gauges = new(StringComparer.Ordinal);
    private long _bytesServed;
    private long _bytesReceived;
    private long _exportsInFlight;
    private long _exportsTotal;
    private long _importsSucceeded;
    private long _importsFailed;

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

    /// <summary>Counts a finished import.</summary>
    public void ImportFinished(bool succeeded) => Interlocked.Increment(ref succeeded ? ref _importsSucceeded : ref _importsFailed);

    /// <summary>Exports being served right now.</summary>
    public long ExportsInFlight => Interlocked.Read(ref _exportsInFlight);

    /// <summary>
    /// Registers a gauge read at scrape time (operations running, event listeners, mailbox depths,
    /// cache hits and misses of the layers below). A later registration under the same name and
    /// labels replaces the earlier one.
    /// </summary>
    /// <param name="name">Metric name, e.g. <c>imageactors_mailbox_depth</c>.</param>
    /// <param name="help">One line of help.</param>
    /// <param name="read">Reads the current value.</param>
    /// <param name="labels">Prometheus labels without braces, e.g. <c>actor="images"</c>.</param>
    /// <param name="counter">Whether the value only ever grows (type counter rather than gauge).</param>
    public void Register(string name, string help, Func<double> read, string labels = "", bool counter = false)
    {
        ArgumentException.ThrowIfNullOrEmpty(name);
        ArgumentNullException.ThrowIfNull(read);
        _gauges[name + "{" + labels + "}"] = new Gauge(name, help ?? string.Empty, labels ?? string.Empty, read, counter);
    }

    /// <summary>Writes every metric in the Prometheus text exposition format (version 0.0.4).</summary>
    public string ToPrometheusText()
    {
        var text = new StringBuilder(2048);
        Header(text, "imageactors_http_requests_total", "HTTP requests answered, by status class.", "counter");
        for (var c = 1; c <= 5; c++)
        {
            Sample(text, "imageactors_http_requests_total", $"code=\"{c}xx\"", Interlocked.Read(ref _requestsByClass[c]));
        }

        Single(text, "imageactors_http_response_bytes_total", "Bytes sent in response bodies whose length was known or counted.", "counter", Interlocked.Read(ref _bytesServed));
        Single(text, "imageactors_upload_bytes_total", "Bytes received in image uploads.", "counter", Interlocked.Read(ref _bytesReceived));
        Single(text, "imageactors_exports_in_flight", "Image exports (downloads by clients) being served now.", "gauge", Interlocked.Read(ref _exportsInFlight));
        Single(text, "imageactors_exports_total", "Image exports started.", "counter", Interlocked.Read(ref _exportsTotal));
        Header(text, "imageactors_imports_total", "Image imports finished, by result.", "counter");
        Sample(text, "imageactors_imports_total", "result=\"success\"", Interlocked.Read(ref _importsSucceeded));
        Sample(text, "imageactors_imports_total", "result=\"failure\"", Interlocked.Read(ref _importsFailed));

        foreach (var group in _gauges.Values.GroupBy(g => g.Name).OrderBy(g => g.Key, StringComparer.Ordinal))
        {
            var first = group.First();
            Header(text, first.Name, first.Help, first.Counter ? "counter" : "gauge");
            foreach (var gauge in group.OrderBy(g => g.Labels, StringComparer.Ordinal))
            {
                double value;
                try
                {
                    value = gauge.Read();
                }
                catch (InvalidOperationException)
                {
                    // A source that is shutting down; skip its sample rather than fail the scrape.
                    continue;
                }

                Sample(text, gauge.Name, gauge.Labels, value);
            }
        }

        return text.ToString();
    }

    private static void Single(StringBuilder text, string name, string help, string type, double value)
    {
        Header(text, name, help, type);
        Sample(text, name, string.Empty, value);
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

    private sealed record Gauge(string Name, string Help, string Labels, Func<double> Read, bool Counter);

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
