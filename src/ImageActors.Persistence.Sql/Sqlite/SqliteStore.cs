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
    public static async Task<SqliteStore> OpenAsync(SqliteSettings settings, CancellationToken cancellationToken = default)
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
            await store.MigrateAsync(cancellationToken).ConfigureAwait(false);
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

    internal override Task InsertEventsAsync(
        DbConnection connection, DbTransaction transaction, IReadOnlyList<PendingWrite> writes, int start, long createdTicks, CancellationToken cancellationToken)
    {
        var sqlite = (SqliteConnection)connection;
        using var insert = sqlite.CreateCommand();
        insert.Transaction = (SqliteTransaction)transaction;
        insert.CommandText =
            "INSERT INTO journal (persistence_id, sequence_nr, created, manifest, payload, tags, writer_uuid) " +
            "VALUES (@pid, @seq, @created, @manifest, @payload, @tags, @writer) ON CONFLICT DO NOTHING";
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
