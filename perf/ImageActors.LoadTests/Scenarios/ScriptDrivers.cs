using System.Diagnostics;
using System.Globalization;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;

namespace ImageActors.LoadTests.Scenarios;

/// <summary>
/// One-shot drivers the scripts under <c>perf/</c> use against a running server, spoken to over its unix socket (a
/// trusted client, as the command line is); they time one burst and print one JSON line, without the scenario runner:
/// <list type="bullet">
/// <item><c>copy</c>: N concurrent <c>POST /1.0/images</c> copies of one remote image, then waits for every
/// operation; prints the wall time, the failures and the distinct fingerprints.</item>
/// <item><c>import</c>: N small distinct unified images uploaded with <c>POST /1.0/images</c>, P at a time.</item>
/// </list>
/// Each prints one JSON line on stdout; progress and errors go to stderr.
/// </summary>
public static class ScriptDrivers
{
    private const string Usage = """
        usage:
          ImageActors.LoadTests copy --socket PATH --server URL --image ALIAS [--protocol simplestreams|incus]
                                     [--certificate PEM-FILE] [--count N]
          ImageActors.LoadTests import --socket PATH [--count N] [--parallel P] [--prefix TEXT] [--public]
        """;

    public static async Task<int> RunAsync(string[] args)
    {
        if (args.Length == 0)
        {
            Console.Error.WriteLine(Usage);
            return 2;
        }

        var options = Parse(args.Skip(1));
        if (options is null || !options.TryGetValue("socket", out var socket))
        {
            Console.Error.WriteLine(Usage);
            return 2;
        }

        using var client = Http.ForUnixSocket(socket);
        try
        {
            return args[0] switch
            {
                "copy" => await CopyAsync(client, options),
                "import" => await ImportAsync(client, options),
                _ => Fail(Usage),
            };
        }
        catch (Exception e) when (e is HttpRequestException or IOException or InvalidOperationException or JsonException)
        {
            Console.Error.WriteLine("error: " + e.Message);
            return 1;
        }
    }

    private static int Fail(string message)
    {
        Console.Error.WriteLine(message);
        return 2;
    }

    private static Dictionary<string, string>? Parse(IEnumerable<string> args)
    {
        var result = new Dictionary<string, string>(StringComparer.Ordinal);
        string? key = null;
        foreach (var arg in args)
        {
            if (arg.StartsWith("--", StringComparison.Ordinal))
            {
                if (key is not null)
                {
                    result[key] = "true";
                }

                key = arg[2..];
            }
            else if (key is not null)
            {
                result[key] = arg;
                key = null;
            }
            else
            {
                return null;
            }
        }

        if (key is not null)
        {
            result[key] = "true";
        }

        return result;
    }

    /// <summary>N concurrent copies of one remote image; the clock runs from the first POST to the last finished operation.</summary>
    private static async Task<int> CopyAsync(HttpClient client, Dictionary<string, string> options)
    {
        var count = int.Parse(options.GetValueOrDefault("count", "1"), CultureInfo.InvariantCulture);
        var certificate = options.TryGetValue("certificate", out var file) ? await File.ReadAllTextAsync(file) : string.Empty;
        var body = new JsonObject
        {
            ["source"] = new JsonObject
            {
                ["type"] = "image",
                ["mode"] = "pull",
                ["server"] = options["server"],
                ["protocol"] = options.GetValueOrDefault("protocol", "simplestreams"),
                ["certificate"] = certificate,
                ["alias"] = options["image"],
            },
            ["public"] = true,
        }.ToJsonString();

        var clock = Stopwatch.StartNew();
        var copies = Enumerable.Range(0, count).Select(async _ =>
        {
            using var content = new StringContent(body, Encoding.UTF8, "application/json");
            using var response = await client.PostAsync(new Uri("/1.0/images", UriKind.Relative), content);
            var operation = await FinishAsync(client, response);
            return operation?["metadata"]?["fingerprint"]?.GetValue<string>();
        }).ToList();
        var results = await Task.WhenAll(copies);
        var seconds = clock.Elapsed.TotalSeconds;
        var failures = results.Count(r => r is null);
        var distinct = results.Where(r => r is not null).Distinct(StringComparer.Ordinal).Count();
        Console.WriteLine(new JsonObject
        {
            ["scenario"] = "copy",
            ["count"] = count,
            ["seconds"] = Math.Round(seconds, 4),
            ["failures"] = failures,
            ["distinct_fingerprints"] = distinct,
            ["connect_retries"] = Http.ConnectRetries,
        }.ToJsonString());
        return failures == 0 ? 0 : 1;
    }

    /// <summary>N small distinct images (a metadata.yaml and one 64-byte file, plain tar), P uploads at a time.</summary>
    private static async Task<int> ImportAsync(HttpClient client, Dictionary<string, string> options)
    {
        var count = int.Parse(options.GetValueOrDefault("count", "1000"), CultureInfo.InvariantCulture);
        var parallel = int.Parse(options.GetValueOrDefault("parallel", "16"), CultureInfo.InvariantCulture);
        var prefix = options.GetValueOrDefault("prefix", "img");
        var isPublic = options.ContainsKey("public");
        var next = -1;
        var failures = 0;
        var clock = Stopwatch.StartNew();
        var workers = Enumerable.Range(0, parallel).Select(async _ =>
        {
            int i;
            while ((i = Interlocked.Increment(ref next)) < count)
            {
                using var content = new ByteArrayContent(GeneratedImages.Small(prefix, i));
                content.Headers.ContentType = new("application/octet-stream");
                using var request = new HttpRequestMessage(HttpMethod.Post, new Uri("/1.0/images", UriKind.Relative)) { Content = content };
                request.Headers.Add("X-Incus-public", isPublic ? "true" : "false");
                request.Headers.Add("X-Incus-aliases", $"{prefix}/{i}");
                using var response = await client.SendAsync(request);
                if (await FinishAsync(client, response) is null)
                {
                    Interlocked.Increment(ref failures);
                }

                if ((i + 1) % 1000 == 0)
                {
                    Console.Error.WriteLine($"{i + 1} images in {clock.Elapsed.TotalSeconds:F1} s");
                }
            }
        }).ToList();
        await Task.WhenAll(workers);
        Console.WriteLine(new JsonObject
        {
            ["scenario"] = "import",
            ["count"] = count,
            ["parallel"] = parallel,
            ["seconds"] = Math.Round(clock.Elapsed.TotalSeconds, 4),
            ["failures"] = failures,
        }.ToJsonString());
        return failures == 0 ? 0 : 1;
    }

    /// <summary>Reads the reply to a POST; waits for its operation when it runs on; returns the finished operation, or null on failure.</summary>
    private static async Task<JsonNode?> FinishAsync(HttpClient client, HttpResponseMessage response)
    {
        var reply = JsonNode.Parse(await response.Content.ReadAsStringAsync());
        if (!response.IsSuccessStatusCode || reply?["metadata"] is not { } operation)
        {
            Console.Error.WriteLine($"POST failed: {(int)response.StatusCode} {reply?["error"]}");
            return null;
        }

        while (operation["status_code"]?.GetValue<int>() < 200)
        {
            var id = operation["id"]!.GetValue<string>();
            using var wait = await client.GetAsync(new Uri($"/1.0/operations/{id}/wait?timeout=-1", UriKind.Relative));
            var waited = JsonNode.Parse(await wait.Content.ReadAsStringAsync());
            if (!wait.IsSuccessStatusCode || waited?["metadata"] is not { } next)
            {
                Console.Error.WriteLine($"wait failed: {(int)wait.StatusCode} {waited?["error"]}");
                return null;
            }

            operation = next;
        }

        if (operation["status_code"]?.GetValue<int>() != 200)
        {
            Console.Error.WriteLine($"operation failed: {operation["err"]}");
            return null;
        }

        return operation;
    }
}
