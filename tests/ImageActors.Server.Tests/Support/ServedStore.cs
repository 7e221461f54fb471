using ImageActors.Images;
using ImageActors.Images.Configuration;
using ImageActors.Images.Remote;
using ImageActors.Server.Hosting;
using ImageActors.Server.Images;
using Microsoft.Extensions.DependencyInjection;

namespace ImageActors.Server.Tests.Support;

/// <summary>
/// A real embedded store in its own temp directory served by a real Kestrel on loopback, with its copier and
/// pull-through wired as <c>imageactors serve</c> wires them (an appliance when upstreams are given); disposed together.
/// </summary>
internal sealed class ServedStore : IAsyncDisposable
{
    private readonly TempDirectory _data;

    private ServedStore(TempDirectory data, EmbeddedImageStore embedded, LoopbackServer loopback)
    {
        _data = data;
        Embedded = embedded;
        Loopback = loopback;
    }

    public EmbeddedImageStore Embedded { get; }

    public LoopbackServer Loopback { get; }

    public ImageStore Store => Embedded.Store;

    public ImageActorsServer Server => Loopback.Server;

    public Uri Https => Loopback.Https;

    public static Task<ServedStore> StartAsync(IReadOnlyList<RemoteSource>? upstreams = null, params string[] tokens) =>
        StartAsync(upstreams, null, null, tokens);

    /// <summary>As <see cref="StartAsync(IReadOnlyList{RemoteSource}?, string[])"/>, with changed <c>images.*</c> and <c>actors.*</c> options.</summary>
    public static async Task<ServedStore> StartAsync(IReadOnlyList<RemoteSource>? upstreams, Func<ImagesOptions, ImagesOptions>? images, ActorSystemOptions? actors, params string[] tokens)
    {
        var data = new TempDirectory();
        var embedded = await EmbeddedStores.OpenAsync(data.Path, upstreams, images, actors);
        var loopback = await LoopbackServer.StartAsync(data.Path, tokens, s =>
            s.AddSingleton<IImageBackend>(new ImageStoreBackend(embedded.Store, embedded.Copier, embedded.PullThrough)));
        return new ServedStore(data, embedded, loopback);
    }

    public HttpClient HttpsClient() => Loopback.HttpsClient();

    public HttpClient TrustedClient(string token) => EmbeddedStores.TrustedClient(Loopback, token);

    public async ValueTask DisposeAsync()
    {
        await Loopback.DisposeAsync();
        await Embedded.DisposeAsync();
        _data.Dispose();
    }
}
