using ImageActors.Images.Domain;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;

namespace ImageActors.Images.Tests.Store;

/// <summary>The store in a real generic host (<see cref="HostApplicationBuilder"/>), on a real SQLite journal, through its public API only.</summary>
public sealed class GenericHostTests : IDisposable
{
    private static readonly TimeSpan Deadline = TimeSpan.FromMinutes(2);
    private readonly DirectoryInfo _root = Directory.CreateTempSubdirectory("imageactors-host-");

    private string Data => Path.Combine(_root.FullName, "data");

    public void Dispose() => _root.Delete(recursive: true);

    [Fact]
    public async Task A_background_service_gets_the_store_in_its_constructor_and_its_first_call_waits_for_the_start()
    {
        var source = TestImages.Unified(_root.FullName, "injected");
        var builder = Host.CreateApplicationBuilder(new HostApplicationBuilderSettings { DisableDefaults = true });

        // Registered ahead of the store, so that it runs before the store has started.
        builder.Services.AddSingleton(new ImportOnStart.Source(source));
        builder.Services.AddHostedService<ImportOnStart>();
        builder.Services.AddImageActors(Data);
        using var host = builder.Build();
        var importer = host.Services.GetServices<IHostedService>().OfType<ImportOnStart>().Single();

        await host.StartAsync();
        var imported = await importer.Imported.WaitAsync(Deadline);

        var store = host.Services.GetRequiredService<ImageStore>();
        Assert.Equal(imported.Fingerprint, store.Get(ProjectName.Default, "injected").Fingerprint);
        await host.StopAsync();
    }

    [Fact]
    public async Task After_the_host_stopped_calls_fail_at_once_and_an_import_in_flight_leaves_no_temp_file()
    {
        var source = TestImages.Unified(_root.FullName, "after-stop");
        var builder = Host.CreateApplicationBuilder(new HostApplicationBuilderSettings { DisableDefaults = true });
        builder.Services.AddImageActors(Data);
        using var host = builder.Build();
        await host.StartAsync();
        var store = host.Services.GetRequiredService<ImageStore>();
        var existing = await store.ImportAsync(new ImportRequest(new ImageSource.UnifiedFile(source)) { Aliases = ["kept"] });
        await using var upload = new StalledUpload(await File.ReadAllBytesAsync(source));
        var inFlight = store.ImportAsync(new ImportRequest(new ImageSource.UnifiedStream(upload, "stalled.tar.xz")));
        await upload.Stalled.WaitAsync(Deadline);
        Assert.NotEmpty(Directory.GetFiles(Path.Combine(Data, "tmp")));

        await host.StopAsync().WaitAsync(Deadline);

        var cut = await Assert.ThrowsAnyAsync<Exception>(() => inFlight.WaitAsync(Deadline));
        Assert.True(cut is OperationCanceledException or ObjectDisposedException, "the import in flight ended with " + cut);
        Assert.Empty(Directory.GetFiles(Path.Combine(Data, "tmp")));
        Assert.Throws<ObjectDisposedException>(() => store.List());
        Assert.Throws<ObjectDisposedException>(() => store.Get(ProjectName.Default, existing.Fingerprint.ToString()));
        await Assert.ThrowsAsync<ObjectDisposedException>(() => store.ImportAsync(new ImportRequest(new ImageSource.UnifiedFile(source))).WaitAsync(Deadline));
        await Assert.ThrowsAsync<ObjectDisposedException>(() => store.CreateAliasAsync(ProjectName.Default, "late", existing.Fingerprint.ToString()).WaitAsync(Deadline));
        await Assert.ThrowsAsync<ObjectDisposedException>(() => store.DeleteAsync(ProjectName.Default, existing.Fingerprint.ToString()).WaitAsync(Deadline));
    }

    /// <summary>Imports one image as soon as the host starts it, with the store it was given at construction.</summary>
    private sealed class ImportOnStart(ImageStore store, ImportOnStart.Source source) : BackgroundService
    {
        private readonly TaskCompletionSource<ImageRecord> _imported = new(TaskCreationOptions.RunContinuationsAsynchronously);

        public Task<ImageRecord> Imported => _imported.Task;

        protected override async Task ExecuteAsync(CancellationToken stoppingToken)
        {
            try
            {
                _imported.TrySetResult(await store.ImportAsync(new ImportRequest(new ImageSource.UnifiedFile(source.Path)) { Aliases = ["injected"] }, stoppingToken));
            }
            catch (Exception e)
            {
                _imported.TrySetException(e);
            }
        }

        public sealed record Source(string Path);
    }

    /// <summary>An upload that sends its first half, then nothing until it is cancelled.</summary>
    private sealed class StalledUpload(byte[] bytes) : Stream
    {
        private readonly TaskCompletionSource _stalled = new(TaskCreationOptions.RunContinuationsAsynchronously);
        private int _position;

        public Task Stalled => _stalled.Task;

        public override bool CanRead => true;

        public override bool CanSeek => false;

        public override bool CanWrite => false;

        public override long Length => throw new NotSupportedException();

        public override long Position { get => _position; set => throw new NotSupportedException(); }

        public override async ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default)
        {
            var half = bytes.Length / 2;
            if (_position < half)
            {
                var n = Math.Min(buffer.Length, half - _position);
                bytes.AsMemory(_position, n).CopyTo(buffer);
                _position += n;
                return n;
            }

            _stalled.TrySetResult();
            await Task.Delay(Timeout.Infinite, cancellationToken);
            return 0;
        }

        public override Task<int> ReadAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken) =>
            ReadAsync(buffer.AsMemory(offset, count), cancellationToken).AsTask();

        public override int Read(byte[] buffer, int offset, int count) => throw new NotSupportedException("The upload is read asynchronously.");

        public override void Flush()
        {
        }

        public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();

        public override void SetLength(long value) => throw new NotSupportedException();

        public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();
    }
}
