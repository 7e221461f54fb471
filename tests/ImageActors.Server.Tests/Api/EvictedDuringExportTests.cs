using System.Net;
using System.Security.Cryptography;
using ImageActors.Images;
using ImageActors.Images.Caching;
using ImageActors.Images.Domain;
using ImageActors.Images.Filtering;
using ImageActors.Images.Remote;
using ImageActors.Server.Hosting;
using ImageActors.Server.Images;
using ImageActors.Server.Tests.Support;
using ImageActors.Streaming;
using Microsoft.Extensions.DependencyInjection;

namespace ImageActors.Server.Tests.Api;

/// <summary>
/// An appliance under load evicts images while clients export them: the export request found the image, and by the
/// time it opened the files the image was gone. The client must get the image (fetched again), not a 404.
/// </summary>
public sealed class EvictedDuringExportTests : IAsyncLifetime
{
    private const string Token = "evicted-during-export-token";
    private readonly TempDirectory _applianceData = new();
    private readonly TempDirectory _files = new();
    private EmbeddedImageStore _applianceStore = null!;
    private UpstreamServer _upstream = null!;
    private LoopbackServer _appliance = null!;
    private ImageRecord _debian = null!;

    public async Task InitializeAsync()
    {
        _upstream = await UpstreamServer.StartAsync(async images =>
            _debian = await images.ImportAsync(new ImportRequest(new ImageSource.UnifiedFile(EmbeddedStores.WriteImage(_files.Path, "debian", "12"))) { Public = true, Aliases = ["debian12"] }));
        _applianceStore = await EmbeddedStores.OpenAsync(_applianceData.Path, [_upstream.IncusSource]);
        var backend = new DeletesBeforeTheFirstOpen(new ImageStoreBackend(_applianceStore.Store, _applianceStore.Copier, _applianceStore.PullThrough), _applianceStore.Store);
        _appliance = await LoopbackServer.StartAsync(_applianceData.Path, [Token], s => s.AddSingleton<IImageBackend>(backend));
    }

    public async Task DisposeAsync()
    {
        await _appliance.DisposeAsync();
        await _upstream.DisposeAsync();
        await _applianceStore.DisposeAsync();
        _files.Dispose();
        _applianceData.Dispose();
    }

    [Fact]
    public async Task An_export_whose_image_was_evicted_after_it_was_found_fetches_it_again_instead_of_answering_404()
    {
        using var client = EmbeddedStores.TrustedClient(_appliance, Token);
        using (var pulled = await client.GetAsync(new Uri("/1.0/images/aliases/debian12", UriKind.Relative)))
        {
            Assert.Equal(HttpStatusCode.OK, pulled.StatusCode);
        }

        using var response = await client.GetAsync(new Uri($"/1.0/images/{_debian.Fingerprint}/export", UriKind.Relative));

        var body = await response.Content.ReadAsByteArrayAsync();
        Assert.True(response.StatusCode == HttpStatusCode.OK, $"{(int)response.StatusCode} {System.Text.Encoding.UTF8.GetString(body)}");
        Assert.Equal(_debian.Fingerprint.ToString(), Convert.ToHexStringLower(SHA256.HashData(body)));
    }

    /// <summary>The store's own backend, except that the first export deletes its image just before opening it, as an eviction run may.</summary>
    private sealed class DeletesBeforeTheFirstOpen(IImageBackend inner, ImageStore store) : IImageBackend
    {
        private int _opened;

        public ImageRecord? Find(ProjectName project, Fingerprint fingerprint) => inner.Find(project, fingerprint);

        public ImageRecord GetByPrefix(ProjectName project, string prefix) => inner.GetByPrefix(project, prefix);

        public IReadOnlyList<ImageRecord> List(ProjectName project, ImageFilter? filter) => inner.List(project, filter);

        public AliasRecord? FindAlias(ProjectName project, AliasName name) => inner.FindAlias(project, name);

        public IReadOnlyList<AliasRecord> ListAliases(ProjectName project) => inner.ListAliases(project);

        public async ValueTask<Images.ImageExport> OpenExportAsync(ProjectName project, Fingerprint fingerprint, CancellationToken cancellationToken)
        {
            if (Interlocked.Exchange(ref _opened, 1) == 0)
            {
                await store.DeleteAsync(project, fingerprint.ToString(), cancellationToken);
            }

            return await inner.OpenExportAsync(project, fingerprint, cancellationToken);
        }

        public void RecordUse(ProjectName project, Fingerprint fingerprint) => inner.RecordUse(project, fingerprint);

        public ImageRetention? RetentionOf(ImageRecord image) => inner.RetentionOf(image);

        public Task<ImageRecord> ImportAsync(ImageUpload upload, CancellationToken cancellationToken) => inner.ImportAsync(upload, cancellationToken);

        public Task<ImageRecord> UpdateAsync(ProjectName project, Fingerprint fingerprint, ImageChanges changes, CancellationToken cancellationToken) => inner.UpdateAsync(project, fingerprint, changes, cancellationToken);

        public Task DeleteAsync(ProjectName project, Fingerprint fingerprint, CancellationToken cancellationToken) => inner.DeleteAsync(project, fingerprint, cancellationToken);

        public Task<AliasRecord> CreateAliasAsync(ProjectName project, AliasName name, Fingerprint target, string description, CancellationToken cancellationToken) => inner.CreateAliasAsync(project, name, target, description, cancellationToken);

        public Task<AliasRecord> UpdateAliasAsync(ProjectName project, AliasName name, Fingerprint target, string description, CancellationToken cancellationToken) => inner.UpdateAliasAsync(project, name, target, description, cancellationToken);

        public Task<AliasRecord> RenameAliasAsync(ProjectName project, AliasName name, AliasName newName, CancellationToken cancellationToken) => inner.RenameAliasAsync(project, name, newName, cancellationToken);

        public Task DeleteAliasAsync(ProjectName project, AliasName name, CancellationToken cancellationToken) => inner.DeleteAliasAsync(project, name, cancellationToken);

        public Task<ImageRecord> CopyAsync(CopyRequest request, CancellationToken cancellationToken) => inner.CopyAsync(request, cancellationToken);

        public Task<ImageRecord?> PullThroughAsync(ProjectName project, string aliasOrFingerprint, CancellationToken cancellationToken) => inner.PullThroughAsync(project, aliasOrFingerprint, cancellationToken);

        public Task<IReadOnlyList<UpstreamImage>?> ListUpstreamImagesAsync(CancellationToken cancellationToken) => inner.ListUpstreamImagesAsync(cancellationToken);

        public Task<ImageRecord?> RefreshAsync(ProjectName project, Fingerprint fingerprint, CancellationToken cancellationToken) => inner.RefreshAsync(project, fingerprint, cancellationToken);
    }
}
