using System.Collections.Concurrent;
using System.Net.Http.Headers;
using ImageActors.LoadTests.Runner;

namespace ImageActors.LoadTests.Scenarios;

/// <summary>Many different small images uploaded at once: <c>POST /1.0/images</c> and the wait for its operation.</summary>
public static class ImportStorm
{
    /// <summary>Runs the scenario against <c>--socket</c> or a server it starts.</summary>
    public static async Task<ScenarioResult> RunAsync(LoadOptions options, Workbench bench, CancellationToken cancellation)
    {
        ArgumentNullException.ThrowIfNull(options);
        ArgumentNullException.ThrowIfNull(bench);
        await using var serve = options.Socket is null ? await bench.ServeAsync("server") : null;
        using var client = Http.ForUnixSocket(options.Socket ?? serve!.Socket);
        var prefix = "storm-" + Guid.NewGuid().ToString("N")[..8];
        var acknowledged = new ConcurrentBag<string>();

        var scenario = new Scenario("import-storm", async context =>
        {
            var image = GeneratedImages.Small(prefix, context.Iteration);
            System.Text.Json.Nodes.JsonNode? reply = null;
            await context.StepAsync("upload", async ct =>
            {
                using var content = new ByteArrayContent(image);
                content.Headers.ContentType = new MediaTypeHeaderValue("application/octet-stream");
                content.Headers.Add("X-Incus-public", "false");
                reply = await Http.SendAsync(client, HttpMethod.Post, "/1.0/images", content, ct);
                return StepOutcome.Ok(image.Length);
            });
            await context.StepAsync("commit", async ct =>
            {
                var operation = await Http.WaitAsync(client, reply, ct);
                acknowledged.Add(operation["metadata"]?["fingerprint"]?.GetValue<string>() ?? GeneratedImages.Fingerprint(image));
                return StepOutcome.Ok();
            });
        })
        {
            Load = options.Load(16, TimeSpan.FromSeconds(30)),
            WarmUp = options.WarmUp ?? TimeSpan.FromSeconds(5),
            Thresholds = [.. options.Thresholds, Threshold.Parse("errors == 0")],
            Gauges = serve is null ? null : _ => Task.FromResult(serve.ProcessGauges()),
            Finish = async (result, ct) =>
            {
                var listed = await Http.SendAsync(client, HttpMethod.Get, "/1.0/images", null, ct);
                var present = listed?["metadata"]?.AsArray().Select(u => u!.GetValue<string>().Split('/')[^1]).ToHashSet(StringComparer.Ordinal) ?? [];
                var missing = acknowledged.Count(fp => !present.Contains(fp));
                result.AddFact("images acknowledged (warm-up included)", acknowledged.Count.ToString(System.Globalization.CultureInfo.InvariantCulture));
                result.AddCheck("every acknowledged import is listed", missing == 0, $"{missing} missing of {acknowledged.Count}");
            },
        };
        return await bench.RunAsync(scenario, cancellation);
    }
}
