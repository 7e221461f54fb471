using System.Globalization;
using System.Net.Http.Headers;
using System.Text.Json.Nodes;
using ImageActors.LoadTests.Runner;

namespace ImageActors.LoadTests.Scenarios;

/// <summary>
/// Writers retarget aliases (<c>PUT /1.0/images/aliases/NAME</c>) while readers resolve them (<c>GET</c>): one in five
/// iterations writes. The same client runs against <c>imageactors serve</c> or, with <c>--socket</c>, any server of
/// the Incus REST API (an Incus daemon's unix socket), so the two can be compared side by side.
/// </summary>
public static class AliasChurn
{
    private const int Images = 8;
    private const int Aliases = 100;

    /// <summary>Runs the scenario against <c>--socket</c> or a server it starts.</summary>
    public static async Task<ScenarioResult> RunAsync(LoadOptions options, Workbench bench, CancellationToken cancellation)
    {
        ArgumentNullException.ThrowIfNull(options);
        ArgumentNullException.ThrowIfNull(bench);
        await using var serve = options.Socket is null ? await bench.ServeAsync("server") : null;
        using var client = Http.ForUnixSocket(options.Socket ?? serve!.Socket);
        var run = Guid.NewGuid().ToString("N")[..8];

        var fingerprints = new List<string>();
        for (var i = 0; i < Images; i++)
        {
            var image = GeneratedImages.Small("churn-" + run, i);
            using var content = new ByteArrayContent(image);
            content.Headers.ContentType = new MediaTypeHeaderValue("application/octet-stream");
            var operation = await Http.WaitAsync(client, await Http.SendAsync(client, HttpMethod.Post, "/1.0/images", content, cancellation), cancellation);
            fingerprints.Add(operation["metadata"]?["fingerprint"]?.GetValue<string>() ?? GeneratedImages.Fingerprint(image));
        }

        string Name(int i) => $"churn-{run}-{i}";
        for (var i = 0; i < Aliases; i++)
        {
            await Http.SendAsync(client, HttpMethod.Post, "/1.0/images/aliases", Http.Json(new JsonObject { ["name"] = Name(i), ["target"] = fingerprints[i % Images], ["description"] = "" }), cancellation);
        }

        await bench.Log.WriteLineAsync($"alias-churn: {Images} images, {Aliases} aliases");
        var scenario = new Scenario("alias-churn", async context =>
        {
            var random = Random.Shared;
            var alias = Name(random.Next(Aliases));
            if (random.Next(5) == 0)
            {
                var target = fingerprints[random.Next(Images)];
                await context.StepAsync("retarget", async ct =>
                {
                    await Http.SendAsync(client, HttpMethod.Put, $"/1.0/images/aliases/{alias}", Http.Json(new JsonObject { ["target"] = target, ["description"] = "" }), ct);
                    return StepOutcome.Ok();
                });
            }
            else
            {
                await context.StepAsync("resolve", async ct =>
                {
                    var reply = await Http.SendAsync(client, HttpMethod.Get, $"/1.0/images/aliases/{alias}", null, ct);
                    return reply?["metadata"]?["target"] is null ? StepOutcome.Fail("no target") : StepOutcome.Ok();
                });
            }
        })
        {
            Load = options.Load(32, TimeSpan.FromSeconds(30)),
            WarmUp = options.WarmUp ?? TimeSpan.FromSeconds(5),
            Thresholds = [.. options.Thresholds, Threshold.Parse("errors == 0")],
            Gauges = serve is null ? null : _ => Task.FromResult(serve.ProcessGauges()),
            Finish = async (result, ct) =>
            {
                var wrong = 0;
                for (var i = 0; i < Aliases; i++)
                {
                    var reply = await Http.SendAsync(client, HttpMethod.Get, $"/1.0/images/aliases/{Name(i)}", null, ct);
                    wrong += fingerprints.Contains(reply?["metadata"]?["target"]?.GetValue<string>() ?? string.Empty) ? 0 : 1;
                    await Http.SendAsync(client, HttpMethod.Delete, $"/1.0/images/aliases/{Name(i)}", null, ct);
                }

                foreach (var fingerprint in fingerprints)
                {
                    await Http.WaitAsync(client, await Http.SendAsync(client, HttpMethod.Delete, $"/1.0/images/{fingerprint}", null, ct), ct);
                }

                var server = await Http.SendAsync(client, HttpMethod.Get, "/1.0", null, ct);
                result.AddFact("server", $"{server?["metadata"]?["environment"]?["server"]} {server?["metadata"]?["environment"]?["server_version"]}");
                result.AddFact("aliases, images", string.Create(CultureInfo.InvariantCulture, $"{Aliases}, {Images}; one iteration in five retargets"));
                result.AddCheck("every alias ends on one of the images", wrong == 0, $"{wrong} wrong of {Aliases}");
            },
        };
        return await bench.RunAsync(scenario, cancellation);
    }
}
