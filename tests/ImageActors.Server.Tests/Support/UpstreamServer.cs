using ImageActors.Images;
using ImageActors.Images.Remote;
using ImageActors.Server.Hosting;
using ImageActors.Server.Images;
using Microsoft.AspNetCore.Hosting;
using Microsoft.Extensions.DependencyInjection;

namespace ImageActors.Server.Tests.Support;

/// <summary>
/// A real ImageActors server on loopback with a store of its own: the upstream that copy and cache-appliance tests
/// fetch from. It is seeded before it listens; disposal stops the server, then the store, then removes its folder.
/// </summary>
internal sealed class UpstreamServer : IAsyncDisposable
{
    private readonly TempDirectory _data = new();
    private EmbeddedImageStore _store = null!;
    private LoopbackServer _server = null!;

    private UpstreamServer()
    {
    }

    /// <summary>The upstream's image store.</summary>
    public ImageStore Images => _store.Store;

    /// <summary>The running server.</summary>
    public LoopbackServer Server => _server;

    public Uri Https => _server.Https;

    public Uri Http => _server.Http;

    /// <summary>The server certificate as PEM, to pin.</summary>
    public string CertificatePem => _server.Server.Certificate.ExportCertificatePem();

    /// <summary>This server as an <c>images.upstreams</c> entry of the Incus protocol, its certificate pinned.</summary>
    public RemoteSource IncusSource => new(Https, "incus", CertificatePem);

    /// <summary>Opens the store, lets <paramref name="seed"/> fill it, and starts serving it (<paramref name="observer"/> sees every request).</summary>
    public static async Task<UpstreamServer> StartAsync(Func<ImageStore, Task> seed, IReadOnlyList<string>? tokens = null, IStartupFilter? observer = null)
    {
        var upstream = new UpstreamServer();
        upstream._store = await EmbeddedStores.OpenAsync(upstream._data.Path, []);
        await seed(upstream.Images);
        await upstream.Images.WaitForReadModelAsync();
        upstream._server = await LoopbackServer.StartAsync(upstream._data.Path, tokens, services =>
        {
            services.AddSingleton<IImageBackend>(new ImageStoreBackend(upstream.Images));
            if (observer is not null)
            {
                services.AddSingleton(observer);
            }
        });
        return upstream;
    }

    public async ValueTask DisposeAsync()
    {
        if (_server is not null)
        {
            await _server.DisposeAsync();
        }

        await _store.DisposeAsync();
        _data.Dispose();
    }
}
