using System.Data.Common;
using System.Globalization;
using Microsoft.Data.Sqlite;

namespace ImageActors.Persistence.Sql.Sqlite;

/// <summary>
/// The embedded SQLite database of a journal and snapshot store: WAL mode, exactly one writer
/// connection (SQLite admits one writer at a time, so all writes — the journal's batches,
/// deletes, snapshots — take turns on it) and a pool of read-only connections, which in WAL mode
/// read a consistent snapshot without blocking the writer.
/// </summary>
/// <remarks>
/// Durability, see <see cref="SqliteSynchronous"/>: with <c>synchronous=NORMAL</c> (default) a
/// SIGKILL of the process loses nothing acknowledged, a power loss can lose the last commits;
/// with <c>FULL</c> neither loses anything acknowledged.
/// </remarks>
public sealed class SqliteStore : SqlStore
{
    private static readonly SchemaMigration[] Steps =
    [
        new(1, "journal, tags and snapshots",
        [
            """
            CREATE TABLE IF NOT EXISTS journal (
                ordering INTEGER PRIMARY KEY,
                persistence_id TEXT NOT NULL,
                sequence_nr INTEGER NOT NULL,
                created INTEGER NOT NULL,
                manifest TEXT NOT NULL,
                payload BLOB NOT NULL,
                tags TEXT NULL,
                writer_uuid TEXT NOT NULL,
                deleted INTEGER NOT NULL DEFAULT 0)
            """,
            // Single writer per persistence id is enforced here. (ordering is the rowid: it never
            // goes back because delete-to keeps every persistence id's highest row.)
            "CREATE UNIQUE INDEX IF NOT EXISTS journal_persistence_id_sequence_nr_uq ON journal (persistence_id, sequence_nr)",
            "CREATE TABLE IF NOT EXISTS journal_tags (tag TEXT NOT NULL, ordering INTEGER NOT NULL, PRIMARY KEY (tag, ordering)) WITHOUT ROWID",
            """
            CREATE TABLE IF NOT EXISTS snapshot (
                persistence_id TEXT NOT NULL,
                sequence_nr INTEGER NOT NULL,
                created INTEGER NOT NULL,
                manifest TEXT NOT NULL,
                payload BLOB NOT NULL,
                PRIMARY KEY (persistence_id, sequence_nr)) WITHOUT ROWID
            """,
        ]),
        new(2, "integer persistence keys in the unique index",
        [
            // Every persistence id gets a small integer key; the unique index holds the key instead
            // of the text, so its entries are a third as long and a commit of writes of many ids
            // dirties fewer index pages (which are what a commit writes to the WAL).
            "CREATE TABLE journal_persistence_ids (persistence_key INTEGER PRIMARY KEY, persistence_id TEXT NOT NULL UNIQUE)",
            "INSERT INTO journal_persistence_ids (persistence_id) SELECT DISTINCT persistence_id FROM journal ORDER BY persistence_id",
            // SQLite cannot add a NOT NULL column without a default, so the table is rebuilt: same
            // rows, same ordering (rowid) values, the key filled in from the lookup table.
            """
            CREATE TABLE journal_v2 (
                ordering INTEGER PRIMARY KEY,
                persistence_key INTEGER NOT NULL,
                persistence_id TEXT NOT NULL,
                sequence_nr INTEGER NOT NULL,
                created INTEGER NOT NULL,
                manifest TEXT NOT NULL,
                payload BLOB NOT NULL,
                tags TEXT NULL,
                writer_uuid TEXT NOT NULL,
                deleted INTEGER NOT NULL DEFAULT 0)
            """,
            """
            INSERT INTO journal_v2 (ordering, persistence_key, persistence_id, sequence_nr, created, manifest, payload, tags, writer_uuid, deleted)
            SELECT j.ordering, p.persistence_key, j.persistence_id, j.sequence_nr, j.created, j.manifest, j.payload, j.tags, j.writer_uuid, j.deleted
            FROM journal j JOIN journal_persistence_ids p ON p.persistence_id = j.persistence_id
            ORDER BY j.ordering
            """,
            "DROP TABLE journal",
            "ALTER TABLE journal_v2 RENAME TO journal",
            // Single writer per persistence id is enforced here.
            "CREATE UNIQUE INDEX journal_persistence_key_sequence_nr_uq ON journal (persistence_key, sequence_nr)",
        ]),
    ];

    private readonly SqliteConnection _writer;
    private readonly SemaphoreSlim _writeTurn = new(1, 1);
    private readonly string _readConnectionString;

    private SqliteStore(SqliteConnection writer, string readConnectionString)
    {
        _writer = writer;
        _readConnectionString = readConnectionString;
    }

    /// <inheritdoc />
    public override IReadOnlyList<SchemaMigration> Migrations => Steps;

    /// <summary>Opens (creating if needed) the database and brings its schema up to date.</summary>
    public static Task<SqliteStore> OpenAsync(SqliteSettings settings, CancellationToken cancellationToken = default) =>
        OpenAsync(settings, int.MaxValue, cancellationToken);

    /// <summary>Opens the database with its schema brought up to <paramref name="schemaVersion"/> only.</summary>
    internal static async Task<SqliteStore> OpenAsync(SqliteSettings settings, int schemaVersion, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(settings);
        var directory = Path.GetDirectoryName(Path.GetFullPath(settings.DatabasePath));
        if (!string.IsNullOrEmpty(directory))
        {
            Directory.CreateDirectory(directory);
        }

        var timeout = (int)Math.Ceiling(settings.BusyTimeout.TotalSeconds);
        var writerConnectionString = new SqliteConnectionStringBuilder
        {
            DataSource = settings.DatabasePath,
            Mode = SqliteOpenMode.ReadWriteCreate,
            Pooling = false,
            DefaultTimeout = timeout,
        }.ToString();
        var readConnectionString = new SqliteConnectionStringBuilder
        {
            DataSource = settings.DatabasePath,
            Mode = SqliteOpenMode.ReadOnly,
            Pooling = true,
            DefaultTimeout = timeout,
        }.ToString();

        var writer = new SqliteConnection(writerConnectionString);
        try
        {
            await writer.OpenAsync(cancellationToken).ConfigureAwait(false);
            var synchronous = settings.Synchronous == SqliteSynchronous.Full ? "FULL" : "NORMAL";
            await using (var pragma = writer.CreateCommand())
            {
                pragma.CommandText = string.Create(CultureInfo.InvariantCulture,
                    $"PRAGMA journal_mode = WAL; PRAGMA synchronous = {synchronous}; PRAGMA wal_autocheckpoint = {settings.WalAutoCheckpointPages}; PRAGMA busy_timeout = {(int)settings.BusyTimeout.TotalMilliseconds};");
                await pragma.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
            }

            var store = new SqliteStore(writer, readConnectionString);
            await store.MigrateAsync(schemaVersion, cancellationToken).ConfigureAwait(false);
            return store;
        }
        catch
        {
            await writer.DisposeAsync().ConfigureAwait(false);
            throw;
        }
    }

    internal override async ValueTask<DbConnection> OpenReaderAsync(CancellationToken cancellationToken)
    {
        var connection = new SqliteConnection(_readConnectionString);
        await connection.OpenAsync(cancellationToken).ConfigureAwait(false);
        return connection;
    }

    internal override async Task<T> RunWriteAsync<T>(Func<DbConnection, Task<T>> work, CancellationToken cancellationToken)
    {
        await _writeTurn.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            return await work(_writer).ConfigureAwait(false);
        }
        finally
        {
            _writeTurn.Release();
        }
    }

    internal override ValueTask<DbTransaction> BeginWriteTransactionAsync(DbConnection connection, CancellationToken cancellationToken) =>
        ValueTask.FromResult<DbTransaction>(((SqliteConnection)connection).BeginTransaction(deferred: false));

    internal override Task LockSchemaAsync(DbConnection connection, DbTransaction transaction, CancellationToken cancellationToken) =>
        Task.CompletedTask; // BEGIN IMMEDIATE already excludes other writers.

    internal override Task<IReadOnlyDictionary<string, long>> ResolvePersistenceKeysAsync(
        DbConnection connection, DbTransaction transaction, IReadOnlyList<string> persistenceIds, CancellationToken cancellationToken)
    {
        // The transaction holds SQLite's write lock (BEGIN IMMEDIATE): no other writer, in this
        // process or another, can insert the same id between the look-up and the insert.
        var sqlite = (SqliteConnection)connection;
        using var select = sqlite.CreateCommand();
        select.Transaction = (SqliteTransaction)transaction;
        select.CommandText = "SELECT persistence_key FROM journal_persistence_ids WHERE persistence_id = @pid";
        var selectPid = select.Parameters.Add("@pid", SqliteType.Text);
        select.Prepare();
        using var insert = sqlite.CreateCommand();
        insert.Transaction = (SqliteTransaction)transaction;
        insert.CommandText = "INSERT INTO journal_persistence_ids (persistence_id) VALUES (@pid)";
        var insertPid = insert.Parameters.Add("@pid", SqliteType.Text);
        insert.Prepare();

        var keys = new Dictionary<string, long>(persistenceIds.Count, StringComparer.Ordinal);
        foreach (var id in persistenceIds)
        {
            selectPid.Value = id;
            if (select.ExecuteScalar() is long key)
            {
                keys[id] = key;
                continue;
            }

            insertPid.Value = id;
            insert.ExecuteNonQuery();
            keys[id] = SQLitePCL.raw.sqlite3_last_insert_rowid(sqlite.Handle);
        }

        return Task.FromResult<IReadOnlyDictionary<string, long>>(keys);
    }

    internal override Task InsertEventsAsync(
        DbConnection connection, DbTransaction transaction, IReadOnlyList<PendingWrite> writes, int start, long createdTicks, CancellationToken cancellationToken)
    {
        var sqlite = (SqliteConnection)connection;
        using var insert = sqlite.CreateCommand();
        insert.Transaction = (SqliteTransaction)transaction;
        insert.CommandText =
            "INSERT INTO journal (persistence_key, persistence_id, sequence_nr, created, manifest, payload, tags, writer_uuid) " +
            "VALUES (@key, @pid, @seq, @created, @manifest, @payload, @tags, @writer) ON CONFLICT DO NOTHING";
        var key = insert.Parameters.Add("@key", SqliteType.Integer);
        var pid = insert.Parameters.Add("@pid", SqliteType.Text);
        var seq = insert.Parameters.Add("@seq", SqliteType.Integer);
        insert.Parameters.Add("@created", SqliteType.Integer).Value = createdTicks;
        var manifest = insert.Parameters.Add("@manifest", SqliteType.Text);
        var payload = insert.Parameters.Add("@payload", SqliteType.Blob);
        var tags = insert.Parameters.Add("@tags", SqliteType.Text);
        var writer = insert.Parameters.Add("@writer", SqliteType.Text);
        insert.Prepare();

        SqliteCommand? tagInsert = null;
        try
        {
            for (var w = start; w < writes.Count; w++)
            {
                var write = writes[w];
                key.Value = write.PersistenceKey;
                pid.Value = write.PersistenceId;
                writer.Value = write.WriterUuid;
                foreach (var e in write.Events)
                {
                    seq.Value = e.SequenceNr;
                    manifest.Value = e.Manifest;
                    payload.Value = e.Payload;
                    tags.Value = (object?)e.Tags ?? DBNull.Value;
                    if (insert.ExecuteNonQuery() == 0)
                    {
                        write.ConflictingSequenceNr = e.SequenceNr;
                        break;
                    }

                    if (e.TagList.Count > 0)
                    {
                        var ordering = SQLitePCL.raw.sqlite3_last_insert_rowid(sqlite.Handle);
                        tagInsert ??= CreateTagInsert(sqlite, (SqliteTransaction)transaction);
                        tagInsert.Parameters[1].Value = ordering;
                        foreach (var tag in e.TagList)
                        {
                            tagInsert.Parameters[0].Value = tag;
                            tagInsert.ExecuteNonQuery();
                        }
                    }
                }
            }
        }
        finally
        {
            tagInsert?.Dispose();
        }

        return Task.CompletedTask;
    }

    /// <inheritdoc />
    public override async ValueTask DisposeAsync()
    {
        await _writeTurn.WaitAsync().ConfigureAwait(false);
        await _writer.DisposeAsync().ConfigureAwait(false);
        using (var reader = new SqliteConnection(_readConnectionString))
        {
            SqliteConnection.ClearPool(reader);
        }

        _writeTurn.Dispose();
    }

    private static SqliteCommand CreateTagInsert(SqliteConnection connection, SqliteTransaction transaction)
    {
        var command = connection.CreateCommand();
        command.Transaction = transaction;
        command.CommandText = "INSERT INTO journal_tags (tag, ordering) VALUES (@tag, @ordering)";
        command.Parameters.Add("@tag", SqliteType.Text);
        command.Parameters.Add("@ordering", SqliteType.Integer);
        command.Prepare();
        return command;
    }
}
