using System.Globalization;
using System.Net;
using ImageActors.IntegrationTests.Support;
using ImageActors.Server.Tests.Support;

namespace ImageActors.IntegrationTests;

/// <summary><c>/metrics</c> of a real <c>imageactors serve</c>: the store's and the server's instruments, under the names operators chart.</summary>
public sealed class ServeMetricsTests
{
    [Fact]
    public async Task Metrics_of_a_running_serve_count_an_import_through_its_socket_and_an_export_to_a_client()
    {
        using var root = new TempDirectory();
        await using var serve = await ImageActorsServe.StartAsync(new ImageActorsCli(root.Path), root.Path);
        using var client = new HttpClient(new HttpClientHandler { ServerCertificateCustomValidationCallback = (_, _, _, _) => true }) { BaseAddress = serve.Https };
        var before = await client.GetStringAsync(new Uri("/metrics", UriKind.Relative));
        Assert.Equal(0, Sample(before, "imageactors_imports_total{result=\"success\"}"));
        Assert.Equal(0, Sample(before, "imageactors_exports_total"));

        var image = await RealImages.UnifiedAsync(root.Path, "measured", "12");
        var fingerprint = (await serve.Cli.RunAsync("image", "import", image, "--public")).ImportedFingerprint();
        using (var export = await client.GetAsync(new Uri($"/1.0/images/{fingerprint}/export", UriKind.Relative)))
        {
            Assert.Equal(HttpStatusCode.OK, export.StatusCode);
            Assert.Equal(new FileInfo(image).Length, (await export.Content.ReadAsByteArrayAsync()).Length);
        }

        var after = await client.GetStringAsync(new Uri("/metrics", UriKind.Relative));
        Assert.Contains("# TYPE imageactors_imports_total counter\n", after, StringComparison.Ordinal);
        Assert.Equal(1, Sample(after, "imageactors_imports_total{result=\"success\"}"));
        Assert.Equal(0, Sample(after, "imageactors_imports_total{result=\"failure\"}"));
        Assert.Contains("# TYPE imageactors_exports_total counter\n", after, StringComparison.Ordinal);
        Assert.Equal(1, Sample(after, "imageactors_exports_total"));
        Assert.Equal(0, Sample(after, "imageactors_exports_in_flight"));
        Assert.Equal(1, Sample(after, "imageactors_images"));
        Assert.True(Sample(after, "imageactors_mailbox_depth{actor=\"images\"}") >= 0);

        // The journal's group commit: the import's events were committed in transactions the writer spent time in.
        Assert.Contains("# TYPE imageactors_journal_events_total counter\n", after, StringComparison.Ordinal);
        // (Counted over the process, which here also runs other tests' stores; before any commit they are not listed.)
        Assert.True(Sample(after, "imageactors_journal_events_total") > SampleOrZero(before, "imageactors_journal_events_total"));
        Assert.True(Sample(after, "imageactors_journal_transactions_total") > SampleOrZero(before, "imageactors_journal_transactions_total"));
        Assert.True(Sample(after, "imageactors_journal_writer_busy_total") > 0);
    }

    private static double SampleOrZero(string text, string series) =>
        text.Split('\n').Any(l => l.StartsWith(series + " ", StringComparison.Ordinal)) ? Sample(text, series) : 0;

    private static double Sample(string text, string series)
    {
        var line = text.Split('\n').SingleOrDefault(l => l.StartsWith(series + " ", StringComparison.Ordinal));
        Assert.True(line is not null, $"{series} is not in /metrics:\n{text}");
        return double.Parse(line[(series.Length + 1)..], CultureInfo.InvariantCulture);
    }
}
