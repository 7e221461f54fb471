using System.Data.Common;

namespace ImageActors.Persistence.Sql;

/// <summary>
/// A database that holds a journal and a snapshot store: the dialect-specific part (connections,
/// schema steps, the batched insert). <see cref="SqlJournal"/> and <see cref="SqlSnapshotStore"/>
/// run on top of it. Open one with <c>SqliteStore.OpenAsync</c> or <c>PostgreSqlStore.OpenAsync</c>.
/// </summary>
public abstract class SqlStore : IAsyncDisposable
{
    /// <summary>The numbered schema steps of this dialect.</summary>
    public abstract IReadOnlyList<SchemaMigration> Migrations { get; }

    /// <summary>Opens a connection for reading (pooled).</summary>
    internal abstract ValueTask<DbConnection> OpenReaderAsync(CancellationToken cancellationToken);

    /// <summary>Runs <paramref name="work"/> on the connection used for writing; SQLite serializes these.</summary>
    internal abstract Task<T> RunWriteAsync<T>(Func<DbConnection, Task<T>> work, CancellationToken cancellationToken);

    /// <summary>Begins a write transaction that takes the write lock at once (SQLite: BEGIN IMMEDIATE).</summary>
    internal abstract ValueTask<DbTransaction> BeginWriteTransactionAsync(DbConnection connection, CancellationToken cancellationToken);

    /// <summary>Serializes schema changes of concurrent starters (PostgreSQL: an advisory lock).</summary>
    internal abstract Task LockSchemaAsync(DbConnection connection, DbTransaction transaction, CancellationToken cancellationToken);

    /// <summary>
    /// The keys of <paramref name="persistenceIds"/> in <c>journal_persistence_ids</c>, inserting
    /// the ids that have none inside <paramref name="transaction"/> (so a rollback takes them back).
    /// Another writer on the same database inserting the same id concurrently ends with the same key.
    /// </summary>
    internal abstract Task<IReadOnlyDictionary<string, long>> ResolvePersistenceKeysAsync(
        DbConnection connection, DbTransaction transaction, IReadOnlyList<string> persistenceIds, CancellationToken cancellationToken);

    /// <summary>
    /// Inserts the events of <paramref name="writes"/> from index <paramref name="start"/> on (and
    /// their tag rows) inside <paramref name="transaction"/>; a batch may be inserted in several
    /// such calls as its writes arrive. Every write's <see cref="PendingWrite.PersistenceKey"/> is
    /// set. A row whose (persistence_key, sequence_nr) exists is not
    /// inserted: its write's <see cref="PendingWrite.ConflictingSequenceNr"/> is set to the
    /// contested sequence number. The caller rolls back when any write conflicted.
    /// </summary>
    internal abstract Task InsertEventsAsync(
        DbConnection connection, DbTransaction transaction, IReadOnlyList<PendingWrite> writes, int start, long createdTicks, CancellationToken cancellationToken);

    /// <summary>Creates or upgrades the schema (idempotent; safe with concurrent starters).</summary>
    public Task MigrateAsync(CancellationToken cancellationToken = default) => MigrateAsync(int.MaxValue, cancellationToken);

    /// <summary>Applies the schema steps up to <paramref name="targetVersion"/> only (tests build older databases with it).</summary>
    internal Task MigrateAsync(int targetVersion, CancellationToken cancellationToken) =>
        RunWriteAsync(
            async connection =>
            {
                await using var tx = await BeginWriteTransactionAsync(connection, cancellationToken).ConfigureAwait(false);
                await LockSchemaAsync(connection, tx, cancellationToken).ConfigureAwait(false);
                await ExecuteAsync(connection, tx, "CREATE TABLE IF NOT EXISTS schema_version (version INTEGER PRIMARY KEY, description TEXT NOT NULL, applied BIGINT NOT NULL)", cancellationToken).ConfigureAwait(false);
                await using (var read = Command(connection, tx, "SELECT COALESCE(MAX(version), 0) FROM schema_version"))
                {
                    var current = Convert.ToInt32(await read.ExecuteScalarAsync(cancellationToken).ConfigureAwait(false), System.Globalization.CultureInfo.InvariantCulture);
                    foreach (var step in Migrations.Where(m => m.Version > current && m.Version <= targetVersion).OrderBy(m => m.Version))
                    {
                        foreach (var statement in step.Statements)
                        {
                            await ExecuteAsync(connection, tx, statement, cancellationToken).ConfigureAwait(false);
                        }

                        await using var record = Command(connection, tx, "INSERT INTO schema_version (version, description, applied) VALUES (@version, @description, @applied)",
                            ("version", step.Version), ("description", step.Description), ("applied", DateTimeOffset.UtcNow.UtcTicks));
                        await record.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
                    }
                }

                await tx.CommitAsync(cancellationToken).ConfigureAwait(false);
                return true;
            },
            cancellationToken);

    /// <summary>The schema versions applied so far, in order.</summary>
    public async Task<IReadOnlyList<int>> ReadSchemaVersionsAsync(CancellationToken cancellationToken = default)
    {
        await using var connection = await OpenReaderAsync(cancellationToken).ConfigureAwait(false);
        await using var command = Command(connection, null, "SELECT version FROM schema_version ORDER BY version");
        await using var reader = await command.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
        var versions = new List<int>();
        while (await reader.ReadAsync(cancellationToken).ConfigureAwait(false))
        {
            versions.Add(Convert.ToInt32(reader.GetValue(0), System.Globalization.CultureInfo.InvariantCulture));
        }

        return versions;
    }

    /// <inheritdoc />
    public abstract ValueTask DisposeAsync();

    internal static DbCommand Command(DbConnection connection, DbTransaction? transaction, string sql, params ReadOnlySpan<(string Name, object? Value)> parameters)
    {
        var command = connection.CreateCommand();
        command.Transaction = transaction;
        command.CommandText = sql;
        foreach (var (name, value) in parameters)
        {
            var parameter = command.CreateParameter();
            parameter.ParameterName = name;
            parameter.Value = value ?? DBNull.Value;
            command.Parameters.Add(parameter);
        }

        return command;
    }

    internal static async Task ExecuteAsync(DbConnection connection, DbTransaction? transaction, string sql, CancellationToken cancellationToken)
    {
        await using var command = Command(connection, transaction, sql);
        await command.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
    }
}
