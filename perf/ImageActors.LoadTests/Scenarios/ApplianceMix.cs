using System.Globalization;
using System.Net.Http.Headers;
using ImageActors.LoadTests.Runner;

namespace ImageActors.LoadTests.Scenarios;

/// <summary>
/// Clients of the cache appliance over https resolve an alias, read the image's record and export it, from a working
/// set (an upstream <c>imageactors serve</c>) larger than the appliance's <c>images.cache_max_size</c>, so eviction
/// runs under load; one iteration in ten also lists the images. A fifth of the images take four fifths of the requests.
/// As <c>soak</c> it runs for 20 minutes and judges the server's memory, threads and open files for growth.
/// </summary>
public static class ApplianceMix
{
    /// <summary>Runs the scenario on two servers it starts.</summary>
    public static async Task<ScenarioResult> RunAsync(LoadOptions options, Workbench bench, bool soak, CancellationToken cancellation)
    {
        ArgumentNullException.ThrowIfNull(options);
        ArgumentNullException.ThrowIfNull(bench);
        var images = options.Images ?? 24;
        var size = (int)(options.Size ?? 4L * 1024 * 1024);
        await using var upstream = await bench.ServeAsync("upstream");
        using var upstreamClient = upstream.SocketClient();
        var workingSet = 0L;
        var aliasTargets = new string[images];
        var lengths = new Dictionary<string, long>(StringComparer.Ordinal);
        for (var i = 0; i < images; i++)
        {
            var image = GeneratedImages.OfSize("mix", i, size);
            workingSet += image.Length;
            using var content = new ByteArrayContent(image);
            content.Headers.ContentType = new MediaTypeHeaderValue("application/octet-stream");
            content.Headers.Add("X-Incus-public", "true");
            content.Headers.Add("X-Incus-aliases", $"mix/{i}");
            var imported = await Http.WaitAsync(upstreamClient, await Http.SendAsync(upstreamClient, HttpMethod.Post, "/1.0/images", content, cancellation), cancellation);
            aliasTargets[i] = imported["metadata"]?["fingerprint"]?.GetValue<string>() ?? throw new InvalidOperationException("the upstream's import named no fingerprint");
            lengths[aliasTargets[i]] = image.Length;
        }

        // The images this run's requests are about right now (an image is held by the appliance while it answers a
        // request about it, and the cache rules never remove a held image): the bound may be passed by those.
        var inUse = new System.Collections.Concurrent.ConcurrentDictionary<string, int>(StringComparer.Ordinal);
        async Task<StepOutcome> Using(string? fingerprint, Func<Task<StepOutcome>> request)
        {
            if (fingerprint is null)
            {
                return await request();
            }

            inUse.AddOrUpdate(fingerprint, 1, (_, n) => n + 1);
            try
            {
                return await request();
            }
            finally
            {
                inUse.AddOrUpdate(fingerprint, 0, (_, n) => n - 1);
            }
        }

        // Room for about half the working set.
        var bound = workingSet / 2;
        const int EvictionIntervalSeconds = 1;
        await using var appliance = await bench.ServeAsync(
            "appliance",
            $$"""images.upstreams = [ { url = "{{upstream.Https.ToString().TrimEnd('/')}}", protocol = incus, certificate = "{{upstream.CertificatePath}}" } ]""" + "\n",
            $"images.cache_max_size={bound}",
            $"images.eviction_interval={EvictionIntervalSeconds}s");
        using var trusted = appliance.SocketClient();
        using var client = appliance.HttpsClient();
        await bench.Log.WriteLineAsync(string.Create(CultureInfo.InvariantCulture, $"appliance-mix: {images} images of {size / 1048576.0:0.#} MiB ({workingSet / 1048576.0:0} MiB) upstream; appliance bound {bound / 1048576.0:0} MiB"));

        async Task<double> Hits(CancellationToken ct) => await Workbench.MetricAsync(trusted, "imageactors_cache_requests_total", "result=\"hit\"", ct);
        async Task<double> Misses(CancellationToken ct) => await Workbench.MetricAsync(trusted, "imageactors_cache_requests_total", "result=\"miss\"", ct);
        var hitsBefore = 0.0;
        var missesBefore = 0.0;

        var scenario = new Scenario(soak ? "soak" : "appliance-mix", async context =>
        {
            var random = Random.Shared;
            var pick = random.Next(5) < 4 ? random.Next(Math.Max(1, images / 5)) : random.Next(images);
            string? fingerprint = null;
            if (random.Next(10) == 0)
            {
                await context.StepAsync("list", async ct =>
                {
                    using var response = await client.GetAsync(new Uri("/1.0/images?recursion=1", UriKind.Relative), ct);
                    var bytes = await response.Content.ReadAsByteArrayAsync(ct);
                    return response.IsSuccessStatusCode ? StepOutcome.Ok(bytes.Length) : StepOutcome.Fail($"http {(int)response.StatusCode}");
                });
            }

            await context.StepAsync("alias", ct => Using(aliasTargets[pick], async () =>
            {
                var reply = await Http.SendAsync(client, HttpMethod.Get, $"/1.0/images/aliases/mix/{pick}", null, ct);
                fingerprint = reply?["metadata"]?["target"]?.GetValue<string>();
                return fingerprint is null ? StepOutcome.Fail("no target") : StepOutcome.Ok();
            }));
            await context.StepAsync("info", ct => Using(fingerprint, async () =>
            {
                await Http.SendAsync(client, HttpMethod.Get, $"/1.0/images/{fingerprint}", null, ct);
                return StepOutcome.Ok();
            }));
            await context.StepAsync("export", ct => Using(fingerprint, async () =>
            {
                using var response = await client.GetAsync(new Uri($"/1.0/images/{fingerprint}/export", UriKind.Relative), HttpCompletionOption.ResponseHeadersRead, ct);
                if (!response.IsSuccessStatusCode)
                {
                    var text = await response.Content.ReadAsStringAsync(ct);
                    return StepOutcome.Fail($"http {(int)response.StatusCode}", detail: $"GET /1.0/images/{fingerprint}/export: {(int)response.StatusCode} {Http.Error(text)}");
                }

                await using var body = await response.Content.ReadAsStreamAsync(ct);
                var buffer = new byte[81920];
                long total = 0;
                int read;
                while ((read = await body.ReadAsync(buffer, ct)) > 0)
                {
                    total += read;
                }

                // A cut or padded answer is a failure, not a fast export.
                return total == lengths.GetValueOrDefault(fingerprint!)
                    ? StepOutcome.Ok(total)
                    : StepOutcome.Fail("wrong length", total, $"GET /1.0/images/{fingerprint}/export: {total} bytes, the image has {lengths.GetValueOrDefault(fingerprint!)}");
            }));
        })
        {
            Load = options.Load(100, soak ? TimeSpan.FromMinutes(20) : TimeSpan.FromSeconds(30)),
            WarmUp = options.WarmUp ?? TimeSpan.FromSeconds(soak ? 60 : 5),
            Thresholds = [.. options.Thresholds, Threshold.Parse("errors == 0")],
            Gauges = async ct =>
            {
                var gauges = new Dictionary<string, double>(appliance.ProcessGauges(), StringComparer.Ordinal);
                var listed = await Http.SendAsync(trusted, HttpMethod.Get, "/1.0/images?recursion=1", null, ct);
                var cached = listed?["metadata"]?.AsArray().Where(i => i?["cached"]?.GetValue<bool>() == true).ToList() ?? [];
                gauges["cached MiB"] = cached.Sum(i => i!["size"]!.GetValue<long>()) / 1048576.0;
                gauges["cached MiB in use by requests"] = cached.Where(i => inUse.GetValueOrDefault(i!["fingerprint"]!.GetValue<string>()) > 0).Sum(i => i!["size"]!.GetValue<long>()) / 1048576.0;

                // The server's own view, read in one scrape: what its read model counts against the bound and what open
                // exports and requests hold (the cache rules may not remove those).
                var metrics = await trusted.GetStringAsync(new Uri("/metrics", UriKind.Relative), ct);
                gauges["server: cached MiB"] = Workbench.Metric(metrics, "imageactors_cache_size") / 1048576.0;
                gauges["server: cached MiB held"] = Workbench.Metric(metrics, "imageactors_images_held_bytes", "cached=\"true\"") / 1048576.0;
                gauges["mailbox depth (all store actors)"] = await Workbench.MetricAsync(trusted, "imageactors_mailbox_depth", cancellation: ct);
                if (hitsBefore == 0 && missesBefore == 0)
                {
                    (hitsBefore, missesBefore) = (await Hits(ct), await Misses(ct));
                }

                return gauges;
            },
            Finish = async (result, ct) =>
            {
                var hits = await Hits(ct) - hitsBefore;
                var misses = await Misses(ct) - missesBefore;
                var cachedNow = result.Gauges.Count > 0 ? result.Gauges[^1].Values.GetValueOrDefault("cached MiB") : 0;
                var imageMiB = size / 1048576.0;
                result.AddFact("working set", string.Create(CultureInfo.InvariantCulture, $"{images} images × {imageMiB:0.#} MiB = {workingSet / 1048576.0:0} MiB; images.cache_max_size = {bound / 1048576.0:0} MiB"));
                result.AddFact("hit ratio (appliance's cache_requests_total)", string.Create(CultureInfo.InvariantCulture, $"{(hits + misses == 0 ? 0 : hits / (hits + misses)):P1} ({hits:0} hits, {misses:0} misses)"));
                result.AddFact("evictions per second (misses that downloaded, less the growth of the cache)", string.Create(CultureInfo.InvariantCulture, $"{Math.Max(0, misses - (cachedNow / imageMiB)) / result.Measured.TotalSeconds:0.00}"));

                // The bound may be passed only between a download's commit and its eviction, or by images held for
                // requests under way (those may not go); so the total may exceed the larger of the bound and what is held.
                // Judged from the server's gauges (its cached total and what it holds, read in one scrape), and reported
                // from the client's side too (the listed total against the images this run's requests are about).
                var boundMiB = bound / 1048576.0;
                static int LongestAbove(IEnumerable<IReadOnlyDictionary<string, double>> samples, string total, string held, double bound)
                {
                    var longest = 0;
                    var run = 0;
                    foreach (var sample in samples)
                    {
                        run = sample.GetValueOrDefault(total) > Math.Max(bound, sample.GetValueOrDefault(held)) + 0.01 ? run + 1 : 0;
                        longest = Math.Max(longest, run);
                    }

                    return longest;
                }

                var values = result.Gauges.Select(g => g.Values).ToList();
                var aboveBound = values.Count(v => v.GetValueOrDefault("server: cached MiB") > boundMiB + 0.01);
                var clientAboveBound = values.Count(v => v.GetValueOrDefault("cached MiB") > boundMiB + 0.01);
                var serverLongest = LongestAbove(values, "server: cached MiB", "server: cached MiB held", boundMiB);
                var clientLongest = LongestAbove(values, "cached MiB", "cached MiB in use by requests", boundMiB);
                result.AddFact("samples with the cached total above the bound (server's gauge; listed)", string.Create(CultureInfo.InvariantCulture, $"{aboveBound}; {clientAboveBound} of {result.Gauges.Count}"));
                result.AddFact(
                    "longest run of samples above both the bound and what is held (client's count of images its requests are about)",
                    string.Create(CultureInfo.InvariantCulture, $"{clientLongest}"));
                result.AddCheck(
                    $"cached total above both the bound and what the server holds for requests (its gauges) for at most one eviction pass ({EvictionIntervalSeconds}s) plus one sample",
                    serverLongest <= EvictionIntervalSeconds + 1,
                    $"{serverLongest} consecutive samples above");
                if (soak)
                {
                    Growth(result, "server RSS (MiB)", 0.10);
                    Growth(result, "server threads", 0.10);
                    Growth(result, "server open files", 0.10);
                }
            },
        };
        return await bench.RunAsync(scenario, cancellation);
    }

    /// <summary>
    /// Growth after warm-up: the median of the last quarter of the samples against the median of the second quarter
    /// (the first quarter still fills caches and pools); more than <paramref name="allowed"/> fails the run.
    /// </summary>
    private static void Growth(ScenarioResult result, string gauge, double allowed)
    {
        var values = result.Gauges.Where(g => g.Values.ContainsKey(gauge)).Select(g => g.Values[gauge]).ToList();
        if (values.Count < 8)
        {
            result.AddCheck($"{gauge} does not grow", false, $"only {values.Count} samples");
            return;
        }

        static double Median(IEnumerable<double> v)
        {
            var sorted = v.Order().ToList();
            return sorted[sorted.Count / 2];
        }

        var quarter = values.Count / 4;
        var early = Median(values.Skip(quarter).Take(quarter));
        var late = Median(values.Skip(values.Count - quarter));
        var growth = early == 0 ? 0 : (late - early) / early;
        result.AddCheck(
            string.Create(CultureInfo.InvariantCulture, $"{gauge} grows by at most {allowed:P0} from the second quarter to the last (medians)"),
            growth <= allowed,
            string.Create(CultureInfo.InvariantCulture, $"{early:0.#} → {late:0.#} ({growth:+0.0%;-0.0%})"));
    }
}
