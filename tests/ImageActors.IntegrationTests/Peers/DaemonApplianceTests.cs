using System.Security.Cryptography;
using ImageActors.Images;
using ImageActors.Images.Domain;
using ImageActors.Images.Remote;
using ImageActors.IntegrationTests.Support;
using ImageActors.Server.Hosting;
using ImageActors.Server.Images;
using ImageActors.Server.Tests.Support;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.Extensions.DependencyInjection;

namespace ImageActors.IntegrationTests.Peers;

/// <summary>
/// The cache appliance with the real LXD or Incus daemon and its client as its clients: our server has an upstream
/// (another of our servers on loopback) holding images it lacks; <c>image copy ours:IMAGE local:</c> run
/// against the daemon gets them, fetched from the upstream once however many clients ask at the same time.
/// </summary>
public abstract class DaemonApplianceTests(PeerDaemon lxd) : IAsyncLifetime
{
    private readonly TempDirectory _upstreamData = new();
    private readonly TempDirectory _applianceData = new();
    private readonly TempDirectory _files = new();
    private readonly PeerClient _client = new(lxd.Kind);
    private readonly ExportCounter _upstreamExports = new();
    private EmbeddedImageStore _upstreamStore = null!;
    private EmbeddedImageStore _applianceStore = null!;
    private LoopbackServer _upstream = null!;
    private LoopbackServer _appliance = null!;

    public async Task InitializeAsync()
    {
        _upstreamStore = await EmbeddedStores.OpenAsync(_upstreamData.Path, []);
        _upstream = await LoopbackServer.StartAsync(_upstreamData.Path, services: s => s
            .AddSingleton<IImageBackend>(new ImageStoreBackend(_upstreamStore.Store))
            .AddSingleton<IStartupFilter>(_upstreamExports));

        var upstream = new RemoteSource(_upstream.Https, "incus", _upstream.Server.Certificate.ExportCertificatePem());
        _applianceStore = await EmbeddedStores.OpenAsync(_applianceData.Path, [upstream]);
        _appliance = await LoopbackServer.StartAsync(_applianceData.Path, services: s =>
            s.AddSingleton<IImageBackend>(new ImageStoreBackend(_applianceStore.Store, _applianceStore.Copier, _applianceStore.PullThrough)));

        await _client.RunOkAsync(null, "remote", "add", "ours", _appliance.Https.ToString().TrimEnd('/'), "--public", "--accept-certificate");
    }

    public async Task DisposeAsync()
    {
        await _appliance.DisposeAsync();
        await _upstream.DisposeAsync();
        await _applianceStore.DisposeAsync();
        await _upstreamStore.DisposeAsync();
        _client.Dispose();
        _files.Dispose();
        _applianceData.Dispose();
        _upstreamData.Dispose();
    }

    [Theory]
    [InlineData("alias")]
    [InlineData("fingerprint")]
    public async Task The_daemon_copies_an_image_the_appliance_lacks_which_is_fetched_from_the_upstream(string by)
    {
        var upstreamImage = await UpstreamImportAsync(await RealImages.UnifiedAsync(_files.Path, "appliance-by-" + by, "41"), null, "appliance/by-" + by);
        var fingerprint = upstreamImage.Fingerprint.ToString();
        await lxd.DeleteImageIfPresentAsync(fingerprint);
        Assert.Null(_applianceStore.Store.Catalog.Find(ProjectName.Default, upstreamImage.Fingerprint));

        await LocalAsync("image", "copy", "ours:" + (by == "alias" ? "appliance/by-alias" : fingerprint), "local:");

        Assert.NotNull(await lxd.FindImageAsync(fingerprint));
        var cached = _applianceStore.Store.Catalog.Find(ProjectName.Default, upstreamImage.Fingerprint);
        Assert.NotNull(cached);
        Assert.True(cached.Cached);
        Assert.Equal(1, _upstreamExports.Count);
    }

    [Fact]
    public async Task The_daemon_and_concurrent_client_exports_of_an_image_the_appliance_lacks_fetch_it_from_the_upstream_once()
    {
        var split = await RealImages.SplitAsync(_files.Path, "appliance-concurrent", "42");
        var upstreamImage = await UpstreamImportAsync(split.Metadata, split.Rootfs, "appliance/concurrent");
        var fingerprint = upstreamImage.Fingerprint.ToString();
        await lxd.DeleteImageIfPresentAsync(fingerprint);

        var copy = LocalAsync("image", "copy", "ours:appliance/concurrent", "local:");
        var exports = Enumerable.Range(0, 3).Select(i => ExportAsync("appliance/concurrent", Path.Combine(_files.Path, "export-" + i))).ToList();
        await Task.WhenAll([copy, .. exports]);

        Assert.NotNull(await lxd.FindImageAsync(fingerprint));
        foreach (var export in exports)
        {
            Assert.Equal(fingerprint, await export);
        }

        Assert.Equal(1, _upstreamExports.Count);
    }

    private async Task<ImageRecord> UpstreamImportAsync(string file, string? rootfs, string alias)
    {
        ImageSource source = rootfs is null ? new ImageSource.UnifiedFile(file) : new ImageSource.SplitFiles(file, rootfs);
        var record = await _upstreamStore.Store.ImportAsync(new ImportRequest(source) { Public = true, Aliases = [alias] });
        await _upstreamStore.Store.WaitForReadModelAsync();
        return record;
    }

    private Task<string> LocalAsync(params string[] arguments) => _client.RunOkAsync(null, arguments, lxd.Directory);

    // lxc image export writes a split image as two files, metadata first by name (meta-...); returns their combined hash.
    private async Task<string> ExportAsync(string image, string directory)
    {
        Directory.CreateDirectory(directory);
        await _client.RunOkAsync(directory, "image", "export", "ours:" + image);
        var files = Directory.GetFiles(directory).OrderBy(f => Path.GetFileName(f).StartsWith("meta-", StringComparison.Ordinal) ? 0 : 1).ToList();
        using var hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        foreach (var file in files)
        {
            hash.AppendData(await File.ReadAllBytesAsync(file));
        }

        return Convert.ToHexStringLower(hash.GetHashAndReset());
    }

    /// <summary>Counts the export requests a server receives, ahead of its own pipeline.</summary>
    private sealed class ExportCounter : IStartupFilter
    {
        private int _count;

        public int Count => Volatile.Read(ref _count);

        public Action<IApplicationBuilder> Configure(Action<IApplicationBuilder> next) => app =>
        {
            app.Use(async (context, proceed) =>
            {
                if (context.Request.Path.Value?.EndsWith("/export", StringComparison.Ordinal) == true)
                {
                    Interlocked.Increment(ref _count);
                }

                await proceed(context);
            });
            next(app);
        };
    }
}

/// <summary>The checks against the real LXD 5.0 daemon.</summary>
[Collection(LxdDaemonCollection.Name)]
public sealed class LxdApplianceTests(LxdDaemon daemon) : DaemonApplianceTests(daemon);

/// <summary>The checks against the real Incus 6.0 daemon.</summary>
[Collection(IncusDaemonCollection.Name)]
public sealed class IncusApplianceTests(IncusDaemon daemon) : DaemonApplianceTests(daemon);
