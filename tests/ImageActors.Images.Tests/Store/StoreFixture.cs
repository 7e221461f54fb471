using ImageActors.Actors.Persistence;

namespace ImageActors.Images.Tests.Store;

/// <summary>A temp data folder, an in-memory journal, and a started store; restartable on the same journal.</summary>
internal sealed class StoreFixture : IAsyncDisposable
{
    private StoreFixture(DirectoryInfo root)
    {
        Root = root;
        Sources = root.CreateSubdirectory("sources").FullName;
        Data = root.CreateSubdirectory("data").FullName;
    }

    public DirectoryInfo Root { get; }

    public string Sources { get; }

    public string Data { get; }

    public InMemoryJournal Journal { get; } = new();

    public InMemorySnapshotStore Snapshots { get; } = new();

    public ImageStore Store { get; private set; } = null!;

    public static async Task<StoreFixture> StartAsync(Func<ImageStoreSettings, ImageStoreSettings>? configure = null)
    {
        var fixture = new StoreFixture(Directory.CreateTempSubdirectory("imageactors-images-"));
        fixture.Store = await ImageStore.StartAsync(fixture.Settings(configure));
        return fixture;
    }

    public ImageStoreSettings Settings(Func<ImageStoreSettings, ImageStoreSettings>? configure = null)
    {
        var settings = new ImageStoreSettings(Data, Journal, Journal, Snapshots) { Durable = false, AskTimeout = TimeSpan.FromSeconds(60), EvictionInterval = null };
        return configure is null ? settings : configure(settings);
    }

    public async Task RestartAsync(Func<ImageStoreSettings, ImageStoreSettings>? configure = null)
    {
        await Store.DisposeAsync();
        Store = await ImageStore.StartAsync(Settings(configure));
    }

    public string Unified(string seed, string? yaml = null) => TestImages.Unified(Sources, seed, yaml);

    public async ValueTask DisposeAsync()
    {
        await Store.DisposeAsync();
        Root.Delete(recursive: true);
    }
}
