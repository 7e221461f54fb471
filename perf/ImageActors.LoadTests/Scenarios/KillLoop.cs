using System.Diagnostics;
using System.Globalization;
using System.Net.Http.Headers;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json.Nodes;

namespace ImageActors.LoadTests.Scenarios;

/// <summary>
/// <c>kill-loop</c>: <c>imageactors serve</c> (a cache appliance in front of an upstream server) is killed with SIGKILL
/// at a random moment while clients import, copy, pull through, refresh, delete, re-alias and change images through it,
/// with a small <c>images.cache_max_size</c> so eviction runs too; after each kill it is started again on the same data
/// directory and checked: every image listed is complete (its files hash to its fingerprint) and exports whole, no file
/// under <c>images/</c> belongs to no image, every alias points to a listed image, and <c>tmp/</c> holds nothing but kept
/// partial downloads. Any breach, or a start that fails, fails the run.
/// </summary>
public static class KillLoop
{
    private const int ImageSize = 1 << 20;
    private const int UpstreamImages = 8;

    private static readonly string[] Operations = ["import", "copy", "pull-through", "refresh", "delete", "alias", "property"];

    /// <summary>Runs <paramref name="kills"/> kill-and-check rounds; writes <c>report.md</c> into <paramref name="folder"/>.</summary>
    public static async Task<int> RunAsync(int kills, Workbench bench, string folder, CancellationToken cancellation)
    {
        ArgumentNullException.ThrowIfNull(bench);
        var log = bench.Log;
        await using var upstream = await bench.ServeAsync("upstream");
        using (var upstreamClient = upstream.SocketClient())
        {
            for (var i = 0; i < UpstreamImages; i++)
            {
                await UploadAsync(upstreamClient, GeneratedImages.OfSize("upstream", i, ImageSize), $"up/{i}", cancellation);
            }
        }

        var configuration = $$"""images.upstreams = [ { url = "{{upstream.Https.ToString().TrimEnd('/')}}", protocol = incus, certificate = "{{upstream.CertificatePath}}" } ]""" + "\n";
        string[] settings = [$"images.cache_max_size={4 * ImageSize}", "images.eviction_interval=1s"];
        var certificate = await File.ReadAllTextAsync(upstream.CertificatePath, cancellation);
        var violations = new List<string>();
        var inFlightAtKill = Operations.ToDictionary(o => o, _ => 0, StringComparer.Ordinal);
        var completedBeforeKill = Operations.ToDictionary(o => o, _ => 0, StringComparer.Ordinal);
        var starts = new List<double>();
        var imageCounts = new List<int>();
        var clock = Stopwatch.StartNew();
        var done = 0;
        for (var round = 1; round <= kills && !cancellation.IsCancellationRequested; round++)
        {
            var startClock = Stopwatch.StartNew();
            ServeProcess victim;
            try
            {
                victim = await bench.ServeAsync("victim", configuration, settings);
            }
            catch (InvalidOperationException e)
            {
                // The whole output goes to a file beside the report; the violation names what was not a warning.
                Directory.CreateDirectory(folder);
                var full = Path.Combine(folder, $"start-failure-{round}.log");
                await File.WriteAllTextAsync(full, e.Message, cancellation);
                var lines = e.Message.Split('\n').Where(l => !l.TrimStart().StartsWith("warn:", StringComparison.Ordinal)).TakeLast(5);
                violations.Add($"round {round}: the server did not start again after the kill: {OneLine(string.Join('\n', lines))} (whole output: {full})");
                break;
            }

            starts.Add(startClock.Elapsed.TotalSeconds);
            await using (victim)
            {
                using var trusted = victim.SocketClient();
                using var https = victim.HttpsClient();
                var found = await CheckAsync(victim, trusted, round, violations, cancellation);
                imageCounts.Add(found.Count);

                // The clients' work, all at once, and the kill at a random moment of it.
                var random = new Random(round);
                var work = new Dictionary<string, Task>(StringComparer.Ordinal)
                {
                    ["import"] = UploadAsync(trusted, GeneratedImages.OfSize("kill", round, ImageSize), $"kill/{round}", cancellation),
                    ["copy"] = CopyAsync(trusted, upstream, certificate, $"up/{random.Next(UpstreamImages)}", cancellation),
                    ["pull-through"] = PullThroughAsync(https, $"up/{random.Next(UpstreamImages)}", cancellation),
                };
                if (found.Count > 0)
                {
                    work["refresh"] = SendAsync(trusted, HttpMethod.Post, $"/1.0/images/{Pick(found, random)}/refresh", null, cancellation);
                    work["delete"] = SendAsync(trusted, HttpMethod.Delete, $"/1.0/images/{Pick(found, random)}", null, cancellation);
                    work["alias"] = RetargetAsync(trusted, "kill/latest", Pick(found, random), cancellation);
                    work["property"] = SendAsync(trusted, HttpMethod.Patch, $"/1.0/images/{Pick(found, random)}", Http.Json(new JsonObject { ["properties"] = new JsonObject { ["round"] = round.ToString(CultureInfo.InvariantCulture) } }), cancellation);
                }

                // Early kills catch requests being accepted, late ones catch commits, deletions and eviction.
                await Task.Delay(TimeSpan.FromMilliseconds(random.Next(20, 5000)), cancellation);
                foreach (var (operation, task) in work)
                {
                    (task.IsCompleted ? completedBeforeKill : inFlightAtKill)[operation]++;
                }

                victim.Kill();
                await Task.WhenAll(work.Values.Select(t => t.ContinueWith(_ => { }, TaskScheduler.Default)));
            }

            done = round;
            if (round % 10 == 0 || round == kills)
            {
                await log.WriteLineAsync(string.Create(CultureInfo.InvariantCulture, $"kill-loop: {round}/{kills} kills, {violations.Count} violations, {clock.Elapsed.TotalMinutes:0.0} min"));
            }
        }

        // The last kill is checked too.
        if (violations.Count == 0 || !violations[^1].Contains("did not start", StringComparison.Ordinal))
        {
            await using var final = await bench.ServeAsync("victim", configuration, settings);
            using var trusted = final.SocketClient();
            imageCounts.Add((await CheckAsync(final, trusted, done + 1, violations, cancellation)).Count);
        }

        Directory.CreateDirectory(folder);
        var report = Report(done, violations, inFlightAtKill, completedBeforeKill, starts, imageCounts, clock.Elapsed, bench.Binary);
        await File.WriteAllTextAsync(Path.Combine(folder, "report.md"), report, cancellation);
        await log.WriteLineAsync(string.Create(CultureInfo.InvariantCulture, $"kill-loop: {done} kills, {violations.Count} invariant violations; report: {Path.Combine(folder, "report.md")}"));
        foreach (var violation in violations.Take(20))
        {
            await log.WriteLineAsync("  " + violation);
        }

        return violations.Count == 0 && done == kills ? 0 : 1;
    }

    // The invariants, from outside: the REST API and the data directory's files. Returns the listed fingerprints.
    private static async Task<List<string>> CheckAsync(ServeProcess server, HttpClient client, int round, List<string> violations, CancellationToken cancellation)
    {
        var images = (await Http.SendAsync(client, HttpMethod.Get, "/1.0/images?recursion=1", null, cancellation))?["metadata"]?.AsArray() ?? [];
        var fingerprints = images.Select(i => i?["fingerprint"]?.GetValue<string>() ?? "").Where(f => f.Length == 64).ToList();
        var directory = Path.Combine(server.Data, "images");
        foreach (var fingerprint in fingerprints)
        {
            var file = Path.Combine(directory, fingerprint);
            var rootfs = file + ".rootfs";
            if (!File.Exists(file))
            {
                violations.Add($"round {round}: image {fingerprint} is listed but {file} does not exist");
                continue;
            }

            using var sha = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
            sha.AppendData(await File.ReadAllBytesAsync(file, cancellation));
            if (File.Exists(rootfs))
            {
                sha.AppendData(await File.ReadAllBytesAsync(rootfs, cancellation));
            }

            var actual = Convert.ToHexStringLower(sha.GetHashAndReset());
            if (actual != fingerprint)
            {
                violations.Add($"round {round}: image {fingerprint} is incomplete: its files hash to {actual}");
            }
        }

        foreach (var file in Directory.Exists(directory) ? Directory.GetFiles(directory) : [])
        {
            var name = Path.GetFileName(file);
            var owner = name.EndsWith(".rootfs", StringComparison.Ordinal) ? name[..^".rootfs".Length] : name;
            if (!fingerprints.Contains(owner, StringComparer.Ordinal))
            {
                violations.Add($"round {round}: {file} belongs to no listed image (an orphan)");
            }
        }

        var aliases = (await Http.SendAsync(client, HttpMethod.Get, "/1.0/images/aliases?recursion=1", null, cancellation))?["metadata"]?.AsArray() ?? [];
        foreach (var alias in aliases)
        {
            var target = alias?["target"]?.GetValue<string>();
            if (target is null || !fingerprints.Contains(target, StringComparer.Ordinal))
            {
                violations.Add($"round {round}: alias {alias?["name"]} points to {target}, which is not listed");
            }
        }

        var tmp = Path.Combine(server.Data, "tmp");
        var partial = Path.Combine(tmp, "partial") + Path.DirectorySeparatorChar;
        foreach (var file in Directory.Exists(tmp) ? Directory.GetFiles(tmp, "*", SearchOption.AllDirectories) : [])
        {
            if (!file.StartsWith(partial, StringComparison.Ordinal))
            {
                violations.Add($"round {round}: {file} was left in tmp/ after the restart");
            }
        }

        if (fingerprints.Count > 0)
        {
            var exported = fingerprints[round % fingerprints.Count];
            using var response = await client.GetAsync(new Uri($"/1.0/images/{exported}/export", UriKind.Relative), cancellation);
            var body = await response.Content.ReadAsByteArrayAsync(cancellation);
            if (!response.IsSuccessStatusCode)
            {
                violations.Add($"round {round}: export of listed image {exported} answered {(int)response.StatusCode} {Http.Error(Encoding.UTF8.GetString(body))}");
            }
            else if (Convert.ToHexStringLower(SHA256.HashData(body)) != exported)
            {
                // Every image of this run is unified: its export is the one file whose hash is the fingerprint.
                violations.Add($"round {round}: export of {exported} does not hash to its fingerprint ({body.Length} bytes)");
            }
        }

        return fingerprints;
    }

    private static async Task UploadAsync(HttpClient client, byte[] image, string alias, CancellationToken cancellation)
    {
        using var content = new ByteArrayContent(image);
        content.Headers.ContentType = new MediaTypeHeaderValue("application/octet-stream");
        content.Headers.Add("X-Incus-public", "true");
        content.Headers.Add("X-Incus-aliases", alias);
        await Http.WaitAsync(client, await Http.SendAsync(client, HttpMethod.Post, "/1.0/images", content, cancellation), cancellation);
    }

    private static async Task CopyAsync(HttpClient client, ServeProcess upstream, string certificate, string alias, CancellationToken cancellation)
    {
        var request = upstream.PullRequest(certificate, alias);
        await Http.WaitAsync(client, await Http.SendAsync(client, HttpMethod.Post, "/1.0/images", Http.Json(request), cancellation), cancellation);
    }

    private static async Task PullThroughAsync(HttpClient client, string alias, CancellationToken cancellation)
    {
        var target = (await Http.SendAsync(client, HttpMethod.Get, $"/1.0/images/aliases/{alias}", null, cancellation))?["metadata"]?["target"]?.GetValue<string>();
        using var response = await client.GetAsync(new Uri($"/1.0/images/{target}/export", UriKind.Relative), cancellation);
        await response.Content.ReadAsByteArrayAsync(cancellation);
    }

    private static async Task RetargetAsync(HttpClient client, string alias, string fingerprint, CancellationToken cancellation)
    {
        try
        {
            await Http.SendAsync(client, HttpMethod.Put, $"/1.0/images/aliases/{alias}", Http.Json(new JsonObject { ["target"] = fingerprint, ["description"] = "" }), cancellation);
        }
        catch (Runner.StepFailedException)
        {
            await Http.SendAsync(client, HttpMethod.Post, "/1.0/images/aliases", Http.Json(new JsonObject { ["name"] = alias, ["target"] = fingerprint }), cancellation);
        }
    }

    private static async Task SendAsync(HttpClient client, HttpMethod method, string path, HttpContent? content, CancellationToken cancellation)
    {
        var reply = await Http.SendAsync(client, method, path, content, cancellation);
        if (reply?["type"]?.GetValue<string>() == "async")
        {
            await Http.WaitAsync(client, reply, cancellation);
        }
    }

    private static string Pick(List<string> fingerprints, Random random) => fingerprints[random.Next(fingerprints.Count)];

    private static string OneLine(string text) => string.Join(' ', text.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries));

    private static string Report(int kills, List<string> violations, Dictionary<string, int> inFlight, Dictionary<string, int> completed, List<double> starts, List<int> imageCounts, TimeSpan elapsed, string binary)
    {
        var text = new StringBuilder();
        var invariant = CultureInfo.InvariantCulture;
        text.AppendLine("# kill-loop").AppendLine();
        text.AppendLine(invariant, $"- Result: **{(violations.Count == 0 ? "passed" : "FAILED")}**: {kills} SIGKILLs, {violations.Count} invariant violations");
        text.AppendLine(invariant, $"- Binary: `{binary}`; {Environment.ProcessorCount} cores; {DateTime.UtcNow:yyyy-MM-dd HH:mm} UTC; {elapsed.TotalMinutes:0.0} min");
        if (starts.Count > 0)
        {
            var sorted = starts.Order().ToList();
            text.AppendLine(invariant, $"- Start after a kill (process start to listening): median {sorted[sorted.Count / 2]:0.00} s, max {sorted[^1]:0.00} s");
        }

        if (imageCounts.Count > 0)
        {
            text.AppendLine(invariant, $"- Images listed at the checks: {imageCounts.Min()}–{imageCounts.Max()}");
        }

        text.AppendLine().AppendLine("| operation | in flight at the kill | ended before the kill (done or failed) |").AppendLine("|---|---:|---:|");
        foreach (var operation in Operations)
        {
            text.AppendLine(invariant, $"| {operation} | {inFlight[operation]} | {completed[operation]} |");
        }

        text.AppendLine().AppendLine("## Violations").AppendLine();
        text.AppendLine(violations.Count == 0 ? "None." : string.Join(Environment.NewLine, violations.Select(v => "- " + v)));
        return text.ToString();
    }
}
