using System.Collections.Concurrent;
using System.Diagnostics;
using System.Globalization;
using System.Net.Http.Headers;
using System.Text.Json.Nodes;
using ImageActors.LoadTests.Runner;

namespace ImageActors.LoadTests.Scenarios;

/// <summary>
/// <c>--count</c> clients copy one remote image through the appliance at the same moment (<c>POST /1.0/images</c> with
/// a pull source, then the wait for the operation). An upstream <c>imageactors serve</c> holds the image; the appliance
/// must fetch it once. The baseline is one copy of the same image into the same appliance, timed before the storm.
/// </summary>
public static class CopyStorm
{
    /// <summary>Runs the scenario on two servers it starts.</summary>
    public static async Task<ScenarioResult> RunAsync(LoadOptions options, Workbench bench, CancellationToken cancellation)
    {
        ArgumentNullException.ThrowIfNull(options);
        ArgumentNullException.ThrowIfNull(bench);
        var count = options.Count ?? 1000;
        var size = (int)(options.Size ?? 64L * 1024 * 1024);
        await using var upstream = await bench.ServeAsync("upstream");
        await using var appliance = await bench.ServeAsync("appliance");
        using var upstreamClient = upstream.SocketClient();
        using var client = appliance.SocketClient();

        var image = GeneratedImages.OfSize("copy-storm", 0, size);
        var fingerprint = GeneratedImages.Fingerprint(image);
        using (var content = new ByteArrayContent(image))
        {
            content.Headers.ContentType = new MediaTypeHeaderValue("application/octet-stream");
            content.Headers.Add("X-Incus-public", "true");
            content.Headers.Add("X-Incus-aliases", "storm");
            await Http.WaitAsync(upstreamClient, await Http.SendAsync(upstreamClient, HttpMethod.Post, "/1.0/images", content, cancellation), cancellation);
        }

        var certificate = await File.ReadAllTextAsync(upstream.CertificatePath, cancellation);
        var request = upstream.PullRequest(certificate, "storm");

        // One copy alone, three times (the image deleted in between), so the storm has its baseline from this run.
        var singles = new List<double>();
        for (var n = 0; n < 3; n++)
        {
            var clock = Stopwatch.StartNew();
            await Http.WaitAsync(client, await Http.SendAsync(client, HttpMethod.Post, "/1.0/images", Http.Json(request.DeepClone()), cancellation), cancellation);
            singles.Add(clock.Elapsed.TotalMilliseconds);
            await Http.WaitAsync(client, await Http.SendAsync(client, HttpMethod.Delete, $"/1.0/images/{fingerprint}", null, cancellation), cancellation);
        }

        singles.Sort();
        var single = singles[1];
        await bench.Log.WriteLineAsync(string.Create(CultureInfo.InvariantCulture, $"copy-storm: one copy alone of {size / 1048576.0:0.#} MiB: {string.Join(", ", singles.Select(s => $"{s:0} ms"))} (median {single:0} ms)"));
        var exportsBefore = await Workbench.MetricAsync(upstreamClient, "imageactors_exports_total", cancellation: cancellation);
        var fingerprints = new ConcurrentBag<string>();

        var scenario = new Scenario("copy-storm", async context =>
        {
            JsonNode? reply = null;
            await context.StepAsync("request", async ct =>
            {
                reply = await Http.SendAsync(client, HttpMethod.Post, "/1.0/images", Http.Json(request.DeepClone()), ct);
                return StepOutcome.Ok();
            });
            await context.StepAsync("wait", async ct =>
            {
                var operation = await Http.WaitAsync(client, reply, ct);
                fingerprints.Add(operation["metadata"]?["fingerprint"]?.GetValue<string>() ?? "?");
                return StepOutcome.Ok(size);
            });
        })
        {
            Load = [new LoadSimulation.IterationsForConstant(count, count, options.Duration ?? TimeSpan.FromMinutes(10))],
            Thresholds = [.. options.Thresholds, Threshold.Parse("errors == 0"), Threshold.Parse(string.Create(CultureInfo.InvariantCulture, $"p99 <= {single * 1.2:0.#}ms"))],
            Gauges = _ => Task.FromResult(appliance.ProcessGauges()),
            Finish = async (result, ct) =>
            {
                var downloads = await Workbench.MetricAsync(upstreamClient, "imageactors_exports_total", cancellation: ct) - exportsBefore;
                var distinct = fingerprints.Distinct(StringComparer.Ordinal).ToList();
                result.AddFact("image", $"{size / 1048576.0:0.#} MiB unified, {fingerprint[..12]}");
                result.AddFact("one copy alone (median of 3, ms)", string.Join(", ", singles.Select(s => s.ToString("0", CultureInfo.InvariantCulture))));
                result.AddFact("p99 of the storm / one copy alone", (result.Iterations.P99 / single).ToString("0.00", CultureInfo.InvariantCulture));
                result.AddFact("unix socket connects retried (accept queue full)", Http.ConnectRetries.ToString(CultureInfo.InvariantCulture));
                result.AddCheck("upstream downloads == 1", downloads == 1, downloads.ToString(CultureInfo.InvariantCulture));
                result.AddCheck("every client got the same fingerprint", distinct.Count == 1 && distinct[0] == fingerprint, string.Join(", ", distinct.Select(d => d.Length > 12 ? d[..12] : d)));
            },
        };
        return await bench.RunAsync(scenario, cancellation);
    }
}
