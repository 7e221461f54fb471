using ImageActors.Images.Hosting;

namespace ImageActors.Images.Tests.Store;

/// <summary>A temp data folder, a SQLite journal file beside it, and a started store; restartable on the same journal.</summary>
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

    /// <summary>The SQLite journal and snapshot file.</summary>
    public string JournalPath => Path.Combine(Root.FullName, "journal.db");

    public ImageStore Store { get; private set; } = null!;

    public static async Task<StoreFixture> StartAsync(Func<ImageStoreSettings, ImageStoreSettings>? configure = null)
    {
        var fixture = new StoreFixture(Directory.CreateTempSubdirectory("imageactors-images-"));
        fixture.Store = await ImageStore.StartAsync(fixture.Settings(configure));
        return fixture;
    }

    public ImageStoreSettings Settings(Func<ImageStoreSettings, ImageStoreSettings>? configure = null)
    {
        var settings = new ImageStoreSettings(Data, StorePersistence.Sqlite(JournalPath))
        {
            Durable = false,
            AskTimeout = TimeSpan.FromSeconds(60),
            EvictionInterval = null,
            VerifyMessageSerialization = true,
        };
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
