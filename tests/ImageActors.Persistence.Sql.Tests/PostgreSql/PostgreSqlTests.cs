using ImageActors.Actors.Persistence;
using ImageActors.Persistence.Sql.PostgreSql;

namespace ImageActors.Persistence.Sql.Tests.PostgreSql;

[Collection(PostgreSqlCollection.Name)]
public sealed class PostgreSqlJournalTests(PostgreSqlServer server) : SqlJournalSpec
{
    private string? _connectionString;

    protected override async Task<SqlStore> OpenStoreAsync()
    {
        _connectionString ??= await server.CreateSchemaAsync();
        return await PostgreSqlStore.OpenAsync(new PostgreSqlSettings(_connectionString));
    }
}

[Collection(PostgreSqlCollection.Name)]
public sealed class PostgreSqlSnapshotStoreTests(PostgreSqlServer server) : SnapshotStoreSpec
{
    private PostgreSqlStore? _store;

    protected override async Task<ISnapshotStore> CreateStoreAsync()
    {
        _store = await PostgreSqlStore.OpenAsync(new PostgreSqlSettings(await server.CreateSchemaAsync()));
        return new SqlSnapshotStore(_store, TestEvents.Registry());
    }

    protected override async Task CleanupAsync()
    {
        if (_store is not null)
        {
            await _store.DisposeAsync();
        }
    }
}

[Collection(PostgreSqlCollection.Name)]
public sealed class PostgreSqlSchemaUpgradeTests(PostgreSqlServer server) : SchemaUpgradeSpec
{
    private string? _connectionString;

    protected override async Task<SqlStore> OpenStoreAsync(int schemaVersion)
    {
        _connectionString ??= await server.CreateSchemaAsync();
        return await PostgreSqlStore.OpenAsync(new PostgreSqlSettings(_connectionString), schemaVersion);
    }
}
