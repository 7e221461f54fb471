using ImageActors.Actors.Persistence;
using ImageActors.Persistence.Sql.Sqlite;

namespace ImageActors.Persistence.Sql.Tests.Sqlite;

/// <summary>A database file in a temp directory, deleted afterwards.</summary>
internal sealed class TempDatabase : IDisposable
{
    private readonly DirectoryInfo _directory = Directory.CreateTempSubdirectory("imageactors-journal-");

    public string Path => System.IO.Path.Combine(_directory.FullName, "journal.db");

    public void Dispose() => _directory.Delete(recursive: true);
}

public sealed class SqliteJournalTests : SqlJournalSpec
{
    private readonly TempDatabase _database = new();

    protected override async Task<SqlStore> OpenStoreAsync() => await SqliteStore.OpenAsync(new SqliteSettings(_database.Path));

    protected override async Task CleanupAsync()
    {
        await base.CleanupAsync();
        _database.Dispose();
    }
}

public sealed class SqliteSnapshotStoreTests : SnapshotStoreSpec
{
    private readonly TempDatabase _database = new();
    private SqliteStore? _store;

    protected override async Task<ISnapshotStore> CreateStoreAsync()
    {
        _store = await SqliteStore.OpenAsync(new SqliteSettings(_database.Path) { Synchronous = SqliteSynchronous.Full });
        return new SqlSnapshotStore(_store, TestEvents.Registry());
    }

    protected override async Task CleanupAsync()
    {
        if (_store is not null)
        {
            await _store.DisposeAsync();
        }

        _database.Dispose();
    }
}

public sealed class SqliteSchemaUpgradeTests : SchemaUpgradeSpec
{
    private readonly TempDatabase _database = new();

    protected override async Task<SqlStore> OpenStoreAsync(int schemaVersion) =>
        await SqliteStore.OpenAsync(new SqliteSettings(_database.Path), schemaVersion);

    public override Task DisposeAsync()
    {
        _database.Dispose();
        return Task.CompletedTask;
    }
}
