using ImageActors.Images;
using ImageActors.Images.Configuration;
using ImageActors.Images.Events;
using ImageActors.Persistence.Sql;
using ImageActors.Persistence.Sql.Configuration;
using ImageActors.Persistence.Sql.Sqlite;

namespace ImageActors.Server.Hosting;

/// <summary>
/// The embedded defaults: an <see cref="ImageStore"/> on a SQLite journal and snapshot store with
/// its files under the data directory. Owns all three; dispose to stop them in order.
/// </summary>
public sealed class EmbeddedImageStore : IAsyncDisposable
{
    private readonly SqliteStore _database;
    private readonly SqlJournal _journal;

    private EmbeddedImageStore(SqliteStore database, SqlJournal journal, ImageStore store)
    {
        _database = database;
        _journal = journal;
        Store = store;
    }

    /// <summary>The running store.</summary>
    public ImageStore Store { get; }

    /// <summary>Opens (creating if needed) the journal and starts the store.</summary>
    public static async Task<EmbeddedImageStore> OpenAsync(string dataDirectory, PersistenceOptions persistence, ImagesOptions images, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(persistence);
        if (persistence.Plugin != "sqlite")
        {
            throw new NotSupportedException($"persistence.plugin = {persistence.Plugin}: the server opens the embedded SQLite journal only; clusters run with their own host");
        }

        var database = await SqliteStore.OpenAsync(persistence.ToSqliteSettings(), cancellationToken);
        SqlJournal? journal = null;
        try
        {
            journal = new SqlJournal(database, ImageEventSerializer.Instance, persistence.ToJournalSettings());
            var snapshots = new SqlSnapshotStore(database, ImageEventSerializer.Instance);
            var store = await ImageStore.StartAsync(new ImageStoreSettings(dataDirectory, journal, journal, snapshots) { Options = images }, cancellationToken);
            return new EmbeddedImageStore(database, journal, store);
        }
        catch
        {
            if (journal is not null)
            {
                await journal.DisposeAsync();
            }

            await database.DisposeAsync();
            throw;
        }
    }

    /// <inheritdoc />
    public async ValueTask DisposeAsync()
    {
        await Store.DisposeAsync();
        await _journal.DisposeAsync();
        await _database.DisposeAsync();
    }
}
