using System.Net.Security;
using System.Security.Cryptography.X509Certificates;
using System.Text.Json;
using ImageActors.IntegrationTests.Support;
using ImageActors.Server.Tests.Support;

namespace ImageActors.IntegrationTests;

/// <summary>
/// The cache rules as an operator of the appliance sees them: a real upstream <c>imageactors serve</c>, the appliance
/// started with <c>--set images.…</c>, clients pulling and exporting over https, and only what the REST API and
/// <c>imageactors image info</c> show to wait on. Nothing here calls into a store.
/// </summary>
public sealed class CacheRulesFromOutsideTests : IAsyncLifetime
{
    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(90);

    private readonly TempDirectory _root = new();
    private ImageActorsServe _upstream = null!;
    private ImageActorsServe? _appliance;
    private HttpClient? _client;

    public async Task InitializeAsync()
    {
        var upstreamRoot = Directory.CreateDirectory(Path.Combine(_root.Path, "upstream")).FullName;
        _upstream = await ImageActorsServe.StartAsync(new ImageActorsCli(upstreamRoot), upstreamRoot);
    }

    public async Task DisposeAsync()
    {
        _client?.Dispose();
        if (_appliance is not null)
        {
            await _appliance.DisposeAsync();
        }

        await _upstream.DisposeAsync();
        _root.Dispose();
    }

    [Fact]
    public async Task An_unused_cached_image_expires_without_a_restart_while_a_users_alias_keeps_another_and_a_hand_imported_image_stays()
    {
        var kept = await UpstreamImageAsync("kept");
        var goes = await UpstreamImageAsync("goes");
        await StartApplianceAsync("images.remote_cache_expiry=15s", "images.eviction_interval=1s");
        var mine = await _appliance!.Cli.RunAsync("image", "import", await RealImages.UnifiedAsync(_root.Path, "hand", "3"), "--public");
        var handImported = mine.ImportedFingerprint();

        // Pulled by alias, so the appliance also creates that alias; "pinned" gets a user's alias on top.
        Assert.Equal(kept.Fingerprint, await PullByAliasAsync("kept/alias"));
        await _appliance.Cli.RunAsync("image", "alias", "create", "pinned", kept.Fingerprint);
        Assert.Equal(goes.Fingerprint, await PullByAliasAsync("goes/alias"));

        // "goes" was pulled after "kept", so the pass that removed it also found "kept" unused for longer than the expiry.
        await EventuallyAsync(async () => !(await ListedAsync()).Contains(goes.Fingerprint), "the unused cached image to expire");

        var listed = await ListedAsync();
        Assert.Contains(kept.Fingerprint, listed);
        Assert.Contains(handImported, listed);
        var aliases = await AliasNamesAsync();
        Assert.DoesNotContain("goes/alias", aliases);
        Assert.Contains("kept/alias", aliases);
        Assert.Contains("pinned", aliases);

        var retention = (await ImageAsync(kept.Fingerprint)).GetProperty("imageactors_retention");
        Assert.Equal(["pinned"], retention.GetProperty("pinned_by").EnumerateArray().Select(a => a.GetString()));
        Assert.Equal(["kept/alias"], retention.GetProperty("follows_image").EnumerateArray().Select(a => a.GetString()));
        var info = await _appliance.Cli.RunAsync("image", "info", kept.Fingerprint);
        Assert.Contains("Pinned by: pinned", info.Output, StringComparison.Ordinal);
        var handInfo = await _appliance.Cli.RunAsync("image", "info", handImported);
        Assert.Contains("Cached: no", handInfo.Output, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_pull_that_exceeds_the_size_bound_evicts_the_least_recently_used_image_before_it_answers()
    {
        var older = await UpstreamImageAsync("older");
        var newer = await UpstreamImageAsync("newer");
        var third = await UpstreamImageAsync("third");

        // Room for any two, not for all three.
        var bound = older.Size + third.Size + (newer.Size / 2);
        await StartApplianceAsync($"images.cache_max_size={bound}", "images.remote_cache_expiry=0", "images.eviction_interval=1h");

        Assert.Equal(older.Fingerprint, await PullByAliasAsync("older/alias"));
        await PullByFingerprintAsync(newer.Fingerprint);
        var newerPulled = LastUsed(await ImageAsync(newer.Fingerprint));

        // A client exports the older image: it becomes the more recently used one.
        await ExportAsync(older.Fingerprint);
        await EventuallyAsync(async () => LastUsed(await ImageAsync(older.Fingerprint)) > newerPulled, "the export to show in last_used_at");

        Assert.Equal(third.Fingerprint, await PullByAliasAsync("third/alias"));

        var listed = await ListedAsync();
        Assert.DoesNotContain(newer.Fingerprint, listed);
        Assert.Contains(older.Fingerprint, listed);
        Assert.Contains(third.Fingerprint, listed);
    }

    [Fact]
    public async Task An_image_a_slow_client_is_exporting_is_not_evicted_for_size_until_the_export_ended()
    {
        // Larger than what the kernel's socket buffers and the server's pipe hold, so the export stays open while the
        // client does not read.
        var exported = await UpstreamImageAsync("exported", payloadBytes: 48 << 20);
        var small = await UpstreamImageAsync("small");
        var third = await UpstreamImageAsync("third");

        // Room for the large image and half a small one: any second image takes the cache over its bound.
        var bound = exported.Size + (small.Size / 2);
        await StartApplianceAsync($"images.cache_max_size={bound}", "images.remote_cache_expiry=0", "images.eviction_interval=1h");
        Assert.Equal(exported.Fingerprint, await PullByAliasAsync("exported/alias"));

        // A client starts the export and stops reading after the first bytes.
        using var export = await _client!.GetAsync(new Uri($"/1.0/images/{exported.Fingerprint}/export", UriKind.Relative), HttpCompletionOption.ResponseHeadersRead);
        export.EnsureSuccessStatusCode();
        await using var body = await export.Content.ReadAsStreamAsync();
        var first = new byte[64 * 1024];
        await body.ReadExactlyAsync(first);

        // A pull over the bound evicts before it answers: the image it fetched stays, and the one being exported too.
        await PullByFingerprintAsync(small.Fingerprint);
        var whileExporting = await ListedAsync();

        // The slow client still gets the whole image, intact.
        using var sha = System.Security.Cryptography.IncrementalHash.CreateHash(System.Security.Cryptography.HashAlgorithmName.SHA256);
        sha.AppendData(first);
        var buffer = new byte[1 << 20];
        int read;
        while ((read = await body.ReadAsync(buffer)) > 0)
        {
            sha.AppendData(buffer, 0, read);
        }

        Assert.Equal(exported.Fingerprint, Convert.ToHexStringLower(sha.GetHashAndReset()));
        Assert.Contains(exported.Fingerprint, whileExporting);
        Assert.Contains(small.Fingerprint, whileExporting);

        // The export has ended: the next pull over the bound takes the least recently used image, the exported one.
        Assert.Equal(third.Fingerprint, await PullByAliasAsync("third/alias"));

        var listed = await ListedAsync();
        Assert.DoesNotContain(exported.Fingerprint, listed);
        Assert.Contains(small.Fingerprint, listed);
        Assert.Contains(third.Fingerprint, listed);
    }

    [Fact]
    public async Task Concurrent_pulls_that_take_the_cache_over_its_bound_while_an_export_holds_an_image_are_evicted_under_it_when_the_export_ends_without_waiting_for_the_interval()
    {
        // One image larger than the bound by itself, which a slow client keeps open, and small ones pulled at once.
        var held = await UpstreamImageAsync("held", payloadBytes: 48 << 20);
        var small = await Task.WhenAll(Enumerable.Range(0, 6).Select(i => UpstreamImageAsync($"small{i}")));
        var bound = held.Size / 2;

        // The timed pass never comes during the test: only a pass the store starts by itself can restore the bound.
        await StartApplianceAsync($"images.cache_max_size={bound}", "images.remote_cache_expiry=0", "images.eviction_interval=1h");
        Assert.Equal(held.Fingerprint, await PullByAliasAsync("held/alias"));
        using var export = await _client!.GetAsync(new Uri($"/1.0/images/{held.Fingerprint}/export", UriKind.Relative), HttpCompletionOption.ResponseHeadersRead);
        export.EnsureSuccessStatusCode();
        await using var body = await export.Content.ReadAsStreamAsync();
        var first = new byte[64 * 1024];
        await body.ReadExactlyAsync(first);

        // The server shows what it holds for the open export, so an operator can tell a held image from a late eviction.
        await EventuallyAsync(async () => await MetricAsync("imageactors_images_held_bytes{cached=\"true\"}") >= held.Size, "the held gauge to count the open export");

        await Task.WhenAll(small.Select(i => PullByFingerprintAsync(i.Fingerprint)));
        var whileHeld = await ListedAsync();
        Assert.Contains(held.Fingerprint, whileHeld);
        Assert.True(await CachedTotalAsync() > bound, "the pulls took the cache over its bound while the export held the large image");

        // The slow client reads to the end: the image is no longer held, and the store goes back under its bound.
        await body.CopyToAsync(Stream.Null);
        body.Close();
        export.Dispose();

        await EventuallyAsync(async () => await CachedTotalAsync() <= bound, "the cached total to come back under the bound");
        Assert.DoesNotContain(held.Fingerprint, await ListedAsync());
        await EventuallyAsync(async () => await MetricAsync("imageactors_images_held_bytes{cached=\"true\"}") == 0, "the held gauge to come back to zero");
        Assert.Equal(await CachedTotalAsync(), await MetricAsync("imageactors_cache_size"));
    }

    [Fact]
    public async Task An_image_evicted_for_size_pulled_again_by_fingerprint_and_then_by_its_alias_is_evicted_again_when_it_is_the_least_recently_used()
    {
        var again = await UpstreamImageAsync("again");
        var others = await Task.WhenAll(Enumerable.Range(0, 4).Select(i => UpstreamImageAsync($"other{i}")));
        var sizes = others.Select(i => i.Size).Append(again.Size).Order().ToList();

        // Room for any two images, not for any three.
        var bound = sizes[^1] + sizes[^2] + (sizes[0] / 2);
        await StartApplianceAsync($"images.cache_max_size={bound}", "images.remote_cache_expiry=0", "images.eviction_interval=1h");

        // Pulled by its alias, then the least recently used when a third image comes: evicted, with the alias the
        // appliance made for it.
        Assert.Equal(again.Fingerprint, await PullByAliasAsync("again/alias"));
        await PullByFingerprintAsync(others[0].Fingerprint);
        await PullByFingerprintAsync(others[1].Fingerprint);
        await EventuallyAsync(async () => !(await ListedAsync()).Contains(again.Fingerprint), "the first image to be evicted for size");

        // Pulled again by fingerprint (this record names no upstream alias), then asked for by its alias: the
        // appliance makes the alias again, and it is the appliance's, not a user's.
        await PullByFingerprintAsync(again.Fingerprint);
        Assert.Equal(again.Fingerprint, await PullByAliasAsync("again/alias"));
        var retention = (await ImageAsync(again.Fingerprint)).GetProperty("imageactors_retention");
        Assert.Empty(retention.GetProperty("pinned_by").EnumerateArray());
        Assert.Equal(["again/alias"], retention.GetProperty("follows_image").EnumerateArray().Select(a => a.GetString()));

        // Two more images: the second of them finds it the least recently used, and it goes.
        await PullByFingerprintAsync(others[2].Fingerprint);
        await PullByFingerprintAsync(others[3].Fingerprint);
        await EventuallyAsync(async () => !(await ListedAsync()).Contains(again.Fingerprint), "the image pulled again to be evicted for size again");

        Assert.Contains(others[3].Fingerprint, await ListedAsync());
        Assert.DoesNotContain("again/alias", await AliasNamesAsync());
        await EventuallyAsync(async () => await MetricAsync("imageactors_cache_size") <= bound, "the cache size gauge to be within the bound");
    }

    [Fact]
    public async Task Auto_update_is_set_on_a_cached_image_pulled_by_alias_with_its_source_alias_and_not_on_one_pulled_by_fingerprint()
    {
        var byAlias = await UpstreamImageAsync("by-alias");
        var byFingerprint = await UpstreamImageAsync("by-fingerprint");
        await StartApplianceAsync();

        await PullByAliasAsync("by-alias/alias");
        await PullByFingerprintAsync(byFingerprint.Fingerprint);

        var aliased = await ImageAsync(byAlias.Fingerprint);
        Assert.True(aliased.GetProperty("cached").GetBoolean());
        Assert.True(aliased.GetProperty("auto_update").GetBoolean());
        Assert.Equal("by-alias/alias", aliased.GetProperty("update_source").GetProperty("alias").GetString());

        var fingerprinted = await ImageAsync(byFingerprint.Fingerprint);
        Assert.True(fingerprinted.GetProperty("cached").GetBoolean());
        Assert.False(fingerprinted.GetProperty("auto_update").GetBoolean());
    }

    private sealed record UpstreamImage(string Fingerprint, long Size);

    // A unified image in the upstream, public, with the alias "<name>/alias"; a large uncompressed one with payloadBytes.
    private async Task<UpstreamImage> UpstreamImageAsync(string name, int payloadBytes = 0)
    {
        var file = payloadBytes > 0 ? await RealImages.LargeUnifiedAsync(_root.Path, name, "1", payloadBytes) : await RealImages.UnifiedAsync(_root.Path, name, "1");
        var imported = await _upstream.Cli.RunAsync("image", "import", file, "--alias", name + "/alias", "--public");
        return new UpstreamImage(imported.ImportedFingerprint(), new FileInfo(file).Length);
    }

    private async Task StartApplianceAsync(params string[] settings)
    {
        var root = Directory.CreateDirectory(Path.Combine(_root.Path, "appliance")).FullName;
        var configuration = $$"""
            images.upstreams = [ { url = "{{_upstream.Https}}", protocol = incus, certificate = "{{_upstream.CertificatePath}}" } ]
            """;
        _appliance = await ImageActorsServe.StartAsync(new ImageActorsCli(root), root, configuration, settings);

        // A client that trusts the appliance's own certificate and nothing else.
        using var pinned = X509Certificate2.CreateFromPem(await File.ReadAllTextAsync(_appliance.CertificatePath));
        var thumbprint = pinned.Thumbprint;
        _client = new HttpClient(new HttpClientHandler
        {
            ServerCertificateCustomValidationCallback = (_, certificate, _, errors) =>
                certificate is not null && (errors == SslPolicyErrors.None || certificate.Thumbprint == thumbprint),
        })
        {
            BaseAddress = _appliance.Https,
        };
    }

    private async Task<string> PullByAliasAsync(string alias)
    {
        using var document = JsonDocument.Parse(await _client!.GetStringAsync(new Uri("/1.0/images/aliases/" + alias, UriKind.Relative)));
        return document.RootElement.GetProperty("metadata").GetProperty("target").GetString()!;
    }

    private async Task PullByFingerprintAsync(string fingerprint) =>
        Assert.Equal(fingerprint, (await ImageAsync(fingerprint)).GetProperty("fingerprint").GetString());

    private async Task<JsonElement> ImageAsync(string fingerprint)
    {
        using var document = JsonDocument.Parse(await _client!.GetStringAsync(new Uri("/1.0/images/" + fingerprint, UriKind.Relative)));
        return document.RootElement.GetProperty("metadata").Clone();
    }

    private async Task ExportAsync(string fingerprint)
    {
        var bytes = await _client!.GetByteArrayAsync(new Uri($"/1.0/images/{fingerprint}/export", UriKind.Relative));
        Assert.NotEmpty(bytes);
    }

    // The list, not GET /1.0/images/<fp>: asking the appliance for an image it lacks would fetch it again.
    private async Task<IReadOnlyList<string>> ListedAsync()
    {
        using var document = JsonDocument.Parse(await _client!.GetStringAsync(new Uri("/1.0/images", UriKind.Relative)));
        return [.. document.RootElement.GetProperty("metadata").EnumerateArray().Select(u => u.GetString()!.Split('/')[^1])];
    }

    // What the appliance's list says the cached images take (the bytes images.cache_max_size bounds).
    private async Task<long> CachedTotalAsync()
    {
        using var document = JsonDocument.Parse(await _client!.GetStringAsync(new Uri("/1.0/images?recursion=1", UriKind.Relative)));
        return document.RootElement.GetProperty("metadata").EnumerateArray()
            .Where(i => i.GetProperty("cached").GetBoolean())
            .Sum(i => i.GetProperty("size").GetInt64());
    }

    // One series of the appliance's /metrics, which any client may read.
    private async Task<double> MetricAsync(string series)
    {
        var text = await _client!.GetStringAsync(new Uri("/metrics", UriKind.Relative));
        var line = text.Split('\n').FirstOrDefault(l => l.StartsWith(series + " ", StringComparison.Ordinal));
        Assert.True(line is not null, $"{series} is not in /metrics:\n{text}");
        return double.Parse(line[(series.Length + 1)..], System.Globalization.CultureInfo.InvariantCulture);
    }

    private async Task<IReadOnlyList<string>> AliasNamesAsync()
    {
        using var document = JsonDocument.Parse(await _client!.GetStringAsync(new Uri("/1.0/images/aliases?recursion=1", UriKind.Relative)));
        return [.. document.RootElement.GetProperty("metadata").EnumerateArray().Select(a => a.GetProperty("name").GetString()!)];
    }

    private static DateTimeOffset LastUsed(JsonElement image) => image.GetProperty("last_used_at").GetDateTimeOffset();

    private static async Task EventuallyAsync(Func<Task<bool>> condition, string what)
    {
        using var deadline = new CancellationTokenSource(Patience);
        while (!await condition())
        {
            if (deadline.IsCancellationRequested)
            {
                Assert.Fail($"Waited {Patience.TotalSeconds:0} s for {what}.");
            }

            await Task.Delay(TimeSpan.FromMilliseconds(250), CancellationToken.None);
        }
    }
}
