using System.Security.Cryptography.X509Certificates;
using ImageActors.Images.Configuration;
using ImageActors.Images.Domain;
using ImageActors.Images.Remote;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;

namespace ImageActors.Images.Tests.Remote;

/// <summary>The store a host registers copies from remotes and refreshes from them, with no further wiring.</summary>
public sealed class HostedRemoteWiringTests : IAsyncLifetime
{
    private static readonly X509Certificate2 ServerCertificate = TestCertificates.Create("hosted-remote-wiring-tests");
    private readonly FakeIncusServer _fake = new();
    private readonly FakeImage _first = FakeImage.Unified(RemoteTestImages.Unified(11));
    private readonly DirectoryInfo _data = Directory.CreateTempSubdirectory("imageactors-hosted-remote-");
    private LoopbackServer _server = null!;

    public async Task InitializeAsync()
    {
        _fake.Images.Add(_first);
        _fake.Aliases["debian/12"] = _first.Fingerprint;
        _server = await LoopbackServer.StartAsync(_fake.Map, ServerCertificate);
    }

    public async Task DisposeAsync()
    {
        await _server.DisposeAsync();
        _data.Delete(recursive: true);
    }

    [Fact]
    public async Task A_hosted_store_refreshes_an_image_copied_by_alias_from_its_remote()
    {
        // The periodic cycle is off so that only the test's refresh runs (the cycle takes the same path).
        var options = new ImagesOptions { AutoUpdateInterval = TimeSpan.Zero };
        var builder = Host.CreateApplicationBuilder(new HostApplicationBuilderSettings { DisableDefaults = true });
        builder.Services.AddImageActors(Path.Combine(_data.FullName, "data"), options);
        using var host = builder.Build();
        await host.StartAsync();
        try
        {
            var store = host.Services.GetRequiredService<ImageStore>();
            var copier = host.Services.GetRequiredService<RemoteImageCopier>();
            var source = new RemoteSource(_server.BaseUri, "incus", TestCertificates.Pem(ServerCertificate));
            var old = await copier.CopyAsync(new CopyRequest(source, "debian/12") { Aliases = ["deb"], AutoUpdate = true });
            var newer = FakeImage.Unified(RemoteTestImages.Unified(12, release: "12.1"));
            _fake.Images.Add(newer);
            _fake.Aliases["debian/12"] = newer.Fingerprint;

            var replacement = await store.RefreshAsync(ProjectName.Default, old.Fingerprint.ToString());

            Assert.Equal(newer.Fingerprint, replacement?.Fingerprint.ToString());
            Assert.Equal(newer.Fingerprint, store.GetAlias(ProjectName.Default, "deb").Target.ToString());
        }
        finally
        {
            await host.StopAsync();
        }
    }
}
