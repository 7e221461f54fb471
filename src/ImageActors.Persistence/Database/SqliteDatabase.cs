using System.Data.Common;
using Microsoft.Data.Sqlite;

namespace ImageActors.Persistence.Database;

/// <summary>
/// An SQLite file in WAL mode with exactly one writer connection (SQLite admits one writer at a
/// time, so the journal's batches, deletes and snapshots take turns on it) and read-only
/// connections for the read queue, which read a consistent snapshot without blocking the writer.
/// </summary>
internal sealed class SqliteDatabase : SqlDatabase
{
    // The stock plugin's default schema on SQLite, column for column and index for index, as
    // Akka.Persistence.Sql 1.5.73 creates it (AUTOINCREMENT: an ordering is never handed out twice).
    private static readonly string[] Schema =
    [
        """
        CREATE TABLE IF NOT EXISTS [journal]
        (
            [ordering]        INTEGER        NOT NULL PRIMARY KEY AUTOINCREMENT,
            [created]         INTEGER        NOT NULL,
            [deleted]         Bit            NOT NULL,
            [persistence_id]  NVarChar(255)  NOT NULL,
            [sequence_number] INTEGER        NOT NULL,
            [message]         VarBinary      NOT NULL,
            [manifest]        NVarChar(500)      NULL,
            [identifier]      INTEGER            NULL,
            [writer_uuid]     NVarChar(128)      NULL
        )
        """,
        "CREATE UNIQUE INDEX IF NOT EXISTS journal_uq ON journal (persistence_id, sequence_number)",
        "CREATE INDEX IF NOT EXISTS journal_created_idx ON journal (created)",
        "CREATE INDEX IF NOT EXISTS journal_sequence_number_idx ON journal (sequence_number)",
        """
        CREATE TABLE IF NOT EXISTS [tags]
        (
            [ordering_id]    INTEGER       NOT NULL,
            [tag]            NVarChar(64)  NOT NULL,
            [sequence_nr]    INTEGER       NOT NULL,
            [persistence_id] NVarChar(255) NOT NULL,

            CONSTRAINT [PK_tags] PRIMARY KEY ([ordering_id], [tag])
        )
        """,
        "CREATE INDEX IF NOT EXISTS tags_persistence_id_sequence_nr_idx ON tags (persistence_id, sequence_nr)",
        "CREATE INDEX IF NOT EXISTS tags_tag_idx ON tags (tag)",
        """
        CREATE TABLE IF NOT EXISTS [snapshot]
        (
            [persistence_id]  NVarChar(255) NOT NULL,
            [sequence_number] INTEGER       NOT NULL,
            [created]         INTEGER       NOT NULL,
            [snapshot]        VarBinary         NULL,
            [manifest]        NVarChar(500)     NULL,
            [serializer_id]   INTEGER           NULL,

            CONSTRAINT [PK_snapshot] PRIMARY KEY ([persistence_id], [sequence_number])
        )
        """,
        "CREATE INDEX IF NOT EXISTS snapshot_sequence_number_idx ON snapshot (sequence_number)",
        "CREATE INDEX IF NOT EXISTS snapshot_created_idx ON snapshot (created)",
    ];

    private readonly SqliteConnection _writer;
    private readonly SemaphoreSlim _writeTurn = new(1, 1);
    private readonly string _readConnectionString;

    public SqliteDatabase(PluginSettings settings)
        : base(settings.ReadConnections)
    {
        var builder = new SqliteConnectionStringBuilder(settings.ConnectionString);
        if (string.IsNullOrWhiteSpace(builder.DataSource))
        {
            throw new ArgumentException($"The SQLite connection string '{settings.ConnectionString}' names no file: give it as \"Data Source=PATH\".");
        }

        var directory = Path.GetDirectoryName(Path.GetFullPath(builder.DataSource));
        if (!string.IsNullOrEmpty(directory))
        {
            Directory.CreateDirectory(directory);
        }

        var writer = new SqliteConnectionStringBuilder(builder.ConnectionString) { Mode = SqliteOpenMode.ReadWriteCreate, Pooling = false };
        _readConnectionString = new SqliteConnectionStringBuilder(builder.ConnectionString) { Mode = SqliteOpenMode.ReadOnly, Pooling = false }.ToString();
        _writer = new SqliteConnection(writer.ToString());
        _writer.Open();
        using var pragma = _writer.CreateCommand();
        pragma.CommandText = $"PRAGMA journal_mode = WAL; PRAGMA synchronous = {(settings.Synchronous == SqliteSynchronous.Full ? "FULL" : "NORMAL")}; PRAGMA busy_timeout = 30000;";
        pragma.ExecuteNonQuery();
    }

    public override async Task<T> WriteAsync<T>(Func<DbConnection, Task<T>> work, CancellationToken cancellationToken = default)
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

    public override ValueTask<DbTransaction> BeginWriteAsync(DbConnection connection) =>
        ValueTask.FromResult<DbTransaction>(((SqliteConnection)connection).BeginTransaction(deferred: false));

    public override Task InsertAsync(DbConnection connection, DbTransaction transaction, IReadOnlyList<PendingWrite> writes, string writerUuid, bool findConflicts)
    {
        var sqlite = (SqliteConnection)connection;
        using var insert = sqlite.CreateCommand();
        insert.Transaction = (SqliteTransaction)transaction;
        insert.CommandText =
            "INSERT INTO journal (created, deleted, persistence_id, sequence_number, message, manifest, identifier, writer_uuid) " +
            "VALUES (@created, 0, @pid, @seq, @message, @manifest, @identifier, @writer) ON CONFLICT DO NOTHING";
        var created = insert.Parameters.Add("@created", SqliteType.Integer);
        var pid = insert.Parameters.Add("@pid", SqliteType.Text);
        var seq = insert.Parameters.Add("@seq", SqliteType.Integer);
        var message = insert.Parameters.Add("@message", SqliteType.Blob);
        var manifest = insert.Parameters.Add("@manifest", SqliteType.Text);
        var identifier = insert.Parameters.Add("@identifier", SqliteType.Integer);
        insert.Parameters.Add("@writer", SqliteType.Text).Value = writerUuid;
        insert.Prepare();

        SqliteCommand? tagInsert = null;
        SqliteParameter? tagOrdering = null, tagValue = null, tagSeq = null, tagPid = null;
        try
        {
            foreach (var write in writes)
            {
                pid.Value = write.PersistenceId;
                foreach (var e in write.Events)
                {
                    seq.Value = e.SequenceNr;
                    created.Value = e.CreatedTicks;
                    message.Value = e.Message;
                    manifest.Value = e.Manifest;
                    identifier.Value = e.Identifier;
                    if (insert.ExecuteNonQuery() == 0)
                    {
                        write.ConflictingSequenceNr = e.SequenceNr;
                        break;
                    }

                    if (e.Tags.Length == 0)
                    {
                        continue;
                    }

                    var ordering = SQLitePCL.raw.sqlite3_last_insert_rowid(sqlite.Handle);
                    if (tagInsert is null)
                    {
                        tagInsert = sqlite.CreateCommand();
                        tagInsert.Transaction = (SqliteTransaction)transaction;
                        tagInsert.CommandText = "INSERT INTO tags (ordering_id, tag, sequence_nr, persistence_id) VALUES (@ordering, @tag, @seq, @pid)";
                        tagOrdering = tagInsert.Parameters.Add("@ordering", SqliteType.Integer);
                        tagValue = tagInsert.Parameters.Add("@tag", SqliteType.Text);
                        tagSeq = tagInsert.Parameters.Add("@seq", SqliteType.Integer);
                        tagPid = tagInsert.Parameters.Add("@pid", SqliteType.Text);
                        tagInsert.Prepare();
                    }

                    tagOrdering!.Value = ordering;
                    tagSeq!.Value = e.SequenceNr;
                    tagPid!.Value = write.PersistenceId;
                    foreach (var tag in e.Tags)
                    {
                        tagValue!.Value = tag;
                        tagInsert.ExecuteNonQuery();
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

    protected override Task CreateTablesAsync() =>
        WriteAsync(async connection =>
        {
            await using var tx = await BeginWriteAsync(connection).ConfigureAwait(false);
            foreach (var statement in Schema)
            {
                await using var command = Command(connection, tx, statement);
                await command.ExecuteNonQueryAsync().ConfigureAwait(false);
            }

            await tx.CommitAsync().ConfigureAwait(false);
            return true;
        });

    protected override async Task<DbConnection> OpenReadConnectionAsync()
    {
        var connection = new SqliteConnection(_readConnectionString);
        await connection.OpenAsync().ConfigureAwait(false);
        return connection;
    }

    public override async ValueTask DisposeAsync()
    {
        await base.DisposeAsync().ConfigureAwait(false);
        await _writeTurn.WaitAsync().ConfigureAwait(false);
        await _writer.DisposeAsync().ConfigureAwait(false);
        _writeTurn.Dispose();
    }
}
