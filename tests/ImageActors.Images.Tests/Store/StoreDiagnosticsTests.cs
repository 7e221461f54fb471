using System.Collections.Concurrent;
using System.Diagnostics;
using System.Diagnostics.Metrics;
using ImageActors.Images.Diagnostics;
using ImageActors.Images.Domain;
using ImageActors.Images.Remote;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace ImageActors.Images.Tests.Store;

/// <summary>
/// What a hosting platform sees of the store in a real generic host: its meter (made by the host's meter factory, so
/// OpenTelemetry's <c>AddMeter("ImageActors")</c> finds it), its activities, and its logs through the host's logger factory.
/// </summary>
public sealed class StoreDiagnosticsTests : IDisposable
{
    private static readonly TimeSpan Deadline = TimeSpan.FromMinutes(2);
    private const string CallerName = "ImageActors.Tests.Caller";
    private static readonly ActivitySource Caller = new(CallerName);
    private readonly DirectoryInfo _root = Directory.CreateTempSubdirectory("imageactors-diagnostics-");

    private string Data => Path.Combine(_root.FullName, "data");

    public void Dispose() => _root.Delete(recursive: true);

    [Fact]
    public async Task An_import_is_counted_on_the_hosts_meter_and_traced_as_an_activity_under_the_callers()
    {
        var source = TestImages.Unified(_root.FullName, "measured");
        var builder = Host.CreateApplicationBuilder(new HostApplicationBuilderSettings { DisableDefaults = true });
        builder.Services.AddImageActors(b => b.Set("data_dir", Data));
        using var host = builder.Build();
        var meterFactory = host.Services.GetRequiredService<IMeterFactory>();
        using var imports = new ResultCounts(meterFactory, "imageactors.imports");
        var stopped = new ConcurrentQueue<Activity>();
        using var activities = new ActivityListener
        {
            ShouldListenTo = s => s.Name is ImageActorsDiagnostics.Name or CallerName,
            Sample = (ref ActivityCreationOptions<ActivityContext> _) => ActivitySamplingResult.AllDataAndRecorded,
            ActivityStopped = stopped.Enqueue,
        };
        ActivitySource.AddActivityListener(activities);
        await host.StartAsync();
        try
        {
            var store = host.Services.GetRequiredService<ImageStore>();
            Assert.Equal((0, 0), imports.Read());

            ImageRecord imported;
            string callerSpan;
            using (var call = Caller.StartActivity("platform.provision"))
            {
                Assert.NotNull(call);
                callerSpan = call.SpanId.ToHexString();
                imported = await store.ImportAsync(new ImportRequest(new ImageSource.UnifiedFile(source)));
            }

            Assert.Equal((1, 0), imports.Read());
            var import = Assert.Single(stopped, a => a.OperationName == ImageActorsDiagnostics.ImportActivity && a.ParentSpanId.ToHexString() == callerSpan);
            Assert.Equal(ImageActorsDiagnostics.Name, import.Source.Name);
            Assert.Equal(imported.Fingerprint.ToString(), import.GetTagItem(ImageActorsDiagnostics.FingerprintTag));
            Assert.NotEqual(ActivityStatusCode.Error, import.Status);

            await Assert.ThrowsAsync<InvalidImageException>(() => store.ImportAsync(new ImportRequest(new ImageSource.UnifiedFile(WriteNotAnImage()))));
            Assert.Equal((1, 1), imports.Read());
        }
        finally
        {
            await host.StopAsync();
        }
    }

    [Fact]
    public async Task A_copy_that_the_source_answers_with_404_is_logged_through_the_hosts_logger_factory_naming_the_source_and_counted_failed()
    {
        var logs = new RecordingLogs();
        await using var missing = await LoopbackServer.StartAsync(app => app.Run(context =>
        {
            context.Response.StatusCode = StatusCodes.Status404NotFound;
            return Task.CompletedTask;
        }));
        var url = new Uri(missing.BaseUri, "/images/debian-12.tar.xz");
        var builder = Host.CreateApplicationBuilder(new HostApplicationBuilderSettings { DisableDefaults = true });
        builder.Logging.AddProvider(logs).SetMinimumLevel(LogLevel.Warning);
        builder.Services.AddImageActors(b => b.Set("data_dir", Data));
        using var host = builder.Build();
        using var copies = new ResultCounts(host.Services.GetRequiredService<IMeterFactory>(), "imageactors.copies");
        await host.StartAsync();
        try
        {
            var copier = host.Services.GetRequiredService<RemoteImageCopier>();

            var failed = await Assert.ThrowsAsync<ImageCopyException>(() => copier.ImportUrlAsync(url, ProjectName.Default).WaitAsync(Deadline));

            Assert.Contains(missing.BaseUri.Authority, failed.Message, StringComparison.Ordinal);
            var entry = Assert.Single(logs.Entries, e => e.Category == typeof(RemoteImageCopier).FullName);
            Assert.Equal(LogLevel.Warning, entry.Level);
            Assert.Contains(url.ToString(), entry.Message, StringComparison.Ordinal);
            Assert.Empty(host.Services.GetRequiredService<ImageStore>().List());
            Assert.Equal((0, 1), copies.Read());
        }
        finally
        {
            await host.StopAsync();
        }
    }

    private string WriteNotAnImage()
    {
        var path = Path.Combine(_root.FullName, "not-an-image.tar.xz");
        File.WriteAllText(path, "these bytes are no image\n");
        return path;
    }

    /// <summary>Reads a counter by result of the stores whose meter the given factory made (this host's only).</summary>
    private sealed class ResultCounts : IDisposable
    {
        private readonly MeterListener _listener = new();
        private readonly ConcurrentDictionary<string, long> _latest = new(StringComparer.Ordinal);

        public ResultCounts(IMeterFactory meterFactory, string name)
        {
            _listener.InstrumentPublished = (instrument, listener) =>
            {
                if (instrument.Meter.Name == ImageActorsDiagnostics.Name && instrument.Meter.Scope == meterFactory && instrument.Name == name)
                {
                    listener.EnableMeasurementEvents(instrument);
                }
            };
            _listener.SetMeasurementEventCallback<long>((_, value, tags, _) =>
            {
                foreach (var tag in tags)
                {
                    if (tag.Key == "result")
                    {
                        _latest[(string)tag.Value!] = value;
                    }
                }
            });
            _listener.Start();
        }

        public (long Succeeded, long Failed) Read()
        {
            _latest.Clear();
            _listener.RecordObservableInstruments();
            Assert.True(_latest.ContainsKey("success") && _latest.ContainsKey("failure"), "the host's meter has no such counter by result");
            return (_latest["success"], _latest["failure"]);
        }

        public void Dispose() => _listener.Dispose();
    }
}
