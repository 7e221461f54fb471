using System.Data.Common;
using Npgsql;
using NpgsqlTypes;

namespace ImageActors.Persistence.Database;

/// <summary>
/// A PostgreSQL database through Npgsql. The journal's writer commits one batch at a time, so
/// the orderings of this process's rows become visible in order (live queries of the read
/// journal do not wait on gaps that a later commit fills).
/// </summary>
internal sealed class PostgreSqlDatabase : SqlDatabase
{
    // The stock plugin's default schema on PostgreSQL 15 as Akka.Persistence.Sql 1.5.73 creates it.
    private static readonly string[] Schema =
    [
        "SELECT pg_advisory_xact_lock(7361726973)", // concurrent starters create the tables one after another
        """
        CREATE TABLE IF NOT EXISTS journal
        (
            ordering        BIGINT GENERATED ALWAYS AS IDENTITY NOT NULL,
            created         BIGINT  NOT NULL,
            deleted         BOOLEAN NOT NULL,
            persistence_id  TEXT    NOT NULL,
            sequence_number BIGINT  NOT NULL,
            message         BYTEA   NOT NULL,
            manifest        TEXT        NULL,
            identifier      INTEGER     NULL,
            writer_uuid     TEXT        NULL,

            CONSTRAINT "PK_journal" PRIMARY KEY (ordering)
        )
        """,
        """
        DO $$
        BEGIN
            IF NOT EXISTS (SELECT 1 FROM pg_constraint c JOIN pg_class t ON t.oid = c.conrelid
                           WHERE c.conname = 'journal_uq' AND t.oid = 'journal'::regclass) THEN
                ALTER TABLE journal ADD CONSTRAINT journal_uq UNIQUE (persistence_id, sequence_number);
            END IF;
        END $$
        """,
        "CREATE INDEX IF NOT EXISTS journal_created_idx ON journal (created)",
        "CREATE INDEX IF NOT EXISTS journal_sequence_number_idx ON journal (sequence_number)",
        """
        CREATE TABLE IF NOT EXISTS tags
        (
            ordering_id    BIGINT NOT NULL,
            tag            TEXT   NOT NULL,
            sequence_nr    BIGINT NOT NULL,
            persistence_id TEXT   NOT NULL,

            CONSTRAINT "PK_tags" PRIMARY KEY (ordering_id, tag)
        )
        """,
        "CREATE INDEX IF NOT EXISTS tags_persistence_id_sequence_nr_idx ON tags (persistence_id, sequence_nr)",
        "CREATE INDEX IF NOT EXISTS tags_tag_idx ON tags (tag)",
        """
        CREATE TABLE IF NOT EXISTS snapshot
        (
            persistence_id  TEXT   NOT NULL,
            sequence_number BIGINT NOT NULL,
            created         BIGINT NOT NULL,
            snapshot        BYTEA      NULL,
            manifest        TEXT       NULL,
            serializer_id   INTEGER    NULL,

            CONSTRAINT "PK_snapshot" PRIMARY KEY (persistence_id, sequence_number)
        )
        """,
        "CREATE INDEX IF NOT EXISTS snapshot_sequence_number_idx ON snapshot (sequence_number)",
        "CREATE INDEX IF NOT EXISTS snapshot_created_idx ON snapshot (created)",
    ];

    private const string InsertEvents =
        "INSERT INTO journal (created, deleted, persistence_id, sequence_number, message, manifest, identifier, writer_uuid) " +
        "SELECT u.c, FALSE, u.p, u.s, u.m, u.mf, u.i, @writer FROM unnest(@created, @pids, @seqs, @messages, @manifests, @identifiers) AS u(c, p, s, m, mf, i) " +
        "ON CONFLICT (persistence_id, sequence_number) DO NOTHING RETURNING ordering, persistence_id, sequence_number";

    private const string InsertEventsPlain =
        "INSERT INTO journal (created, deleted, persistence_id, sequence_number, message, manifest, identifier, writer_uuid) " +
        "SELECT u.c, FALSE, u.p, u.s, u.m, u.mf, u.i, @writer FROM unnest(@created, @pids, @seqs, @messages, @manifests, @identifiers) AS u(c, p, s, m, mf, i)";

    private const string InsertTags =
        "INSERT INTO tags (ordering_id, tag, sequence_nr, persistence_id) SELECT * FROM unnest(@orderings, @tags, @seqs, @pids)";

    private readonly NpgsqlDataSource _dataSource;

    public PostgreSqlDatabase(PluginSettings settings)
        : base(settings.ReadConnections)
    {
        _dataSource = NpgsqlDataSource.Create(settings.ConnectionString);
    }

    public override async Task<T> WriteAsync<T>(Func<DbConnection, Task<T>> work, CancellationToken cancellationToken = default)
    {
        try
        {
            await using var connection = await _dataSource.OpenConnectionAsync(cancellationToken).ConfigureAwait(false);
            return await work(connection).ConfigureAwait(false);
        }
        catch (Exception e) when (IsConnectionLost(e))
        {
            OnConnectionLost();
            throw;
        }
    }

    /// <summary>
    /// The pool's idle connections may all be dead (the server restarted, and PostgreSQL does not tell an idle client):
    /// they are dropped, so that the next requests open new ones instead of failing one by one.
    /// </summary>
    public override void OnConnectionLost() => _dataSource.Clear();

    public override async ValueTask<DbTransaction> BeginWriteAsync(DbConnection connection) =>
        await ((NpgsqlConnection)connection).BeginTransactionAsync().ConfigureAwait(false);

    public override async Task InsertAsync(DbConnection connection, DbTransaction transaction, IReadOnlyList<PendingWrite> writes, string writerUuid, bool findConflicts)
    {
        var count = 0;
        var tagged = false;
        foreach (var write in writes)
        {
            count += write.Events.Length;
            foreach (var e in write.Events)
            {
                tagged |= e.Tags.Length > 0;
            }
        }

        var pids = new string[count];
        var seqs = new long[count];
        var created = new long[count];
        var messages = new byte[count][];
        var manifests = new string[count];
        var identifiers = new int[count];
        var row = 0;
        foreach (var write in writes)
        {
            foreach (var e in write.Events)
            {
                pids[row] = write.PersistenceId;
                seqs[row] = e.SequenceNr;
                created[row] = e.CreatedTicks;
                messages[row] = e.Message;
                manifests[row] = e.Manifest;
                identifiers[row] = e.Identifier;
                row++;
            }
        }

        var npgsql = (NpgsqlConnection)connection;
        if (!findConflicts && !tagged)
        {
            // The common batch: no tags, so no orderings to read back, and no conflict expected,
            // so a plain insert; a taken sequence number fails it and the caller looks for which.
            await using var plain = new NpgsqlCommand(InsertEventsPlain, npgsql, (NpgsqlTransaction)transaction);
            AddEventParameters(plain, writerUuid, pids, seqs, created, messages, manifests, identifiers);
            try
            {
                await plain.ExecuteNonQueryAsync().ConfigureAwait(false);
            }
            catch (PostgresException e) when (e.SqlState == PostgresErrorCodes.UniqueViolation)
            {
                throw new DuplicateRowException(e);
            }

            return;
        }

        var inserted = new Dictionary<(string, long), long>(count);
        await using (var insert = new NpgsqlCommand(InsertEvents, npgsql, (NpgsqlTransaction)transaction))
        {
            AddEventParameters(insert, writerUuid, pids, seqs, created, messages, manifests, identifiers);
            await using var reader = await insert.ExecuteReaderAsync().ConfigureAwait(false);
            while (await reader.ReadAsync().ConfigureAwait(false))
            {
                inserted[(reader.GetString(1), reader.GetInt64(2))] = reader.GetInt64(0);
            }
        }

        var tagOrderings = new List<long>();
        var tagValues = new List<string>();
        var tagSeqs = new List<long>();
        var tagPids = new List<string>();
        foreach (var write in writes)
        {
            foreach (var e in write.Events)
            {
                // Remove: of two writes of one row in this batch, the second finds it taken.
                if (!inserted.Remove((write.PersistenceId, e.SequenceNr), out var ordering))
                {
                    write.ConflictingSequenceNr = e.SequenceNr;
                    break;
                }

                foreach (var tag in e.Tags)
                {
                    tagOrderings.Add(ordering);
                    tagValues.Add(tag);
                    tagSeqs.Add(e.SequenceNr);
                    tagPids.Add(write.PersistenceId);
                }
            }
        }

        if (tagOrderings.Count > 0)
        {
            await using var tags = new NpgsqlCommand(InsertTags, npgsql, (NpgsqlTransaction)transaction);
            tags.Parameters.Add(new NpgsqlParameter<long[]>("orderings", NpgsqlDbType.Array | NpgsqlDbType.Bigint) { TypedValue = [.. tagOrderings] });
            tags.Parameters.Add(new NpgsqlParameter<string[]>("tags", NpgsqlDbType.Array | NpgsqlDbType.Text) { TypedValue = [.. tagValues] });
            tags.Parameters.Add(new NpgsqlParameter<long[]>("seqs", NpgsqlDbType.Array | NpgsqlDbType.Bigint) { TypedValue = [.. tagSeqs] });
            tags.Parameters.Add(new NpgsqlParameter<string[]>("pids", NpgsqlDbType.Array | NpgsqlDbType.Text) { TypedValue = [.. tagPids] });
            await tags.ExecuteNonQueryAsync().ConfigureAwait(false);
        }
    }

    private static void AddEventParameters(NpgsqlCommand command, string writerUuid, string[] pids, long[] seqs, long[] created, byte[][] messages, string[] manifests, int[] identifiers)
    {
        command.Parameters.Add(new NpgsqlParameter<long[]>("created", NpgsqlDbType.Array | NpgsqlDbType.Bigint) { TypedValue = created });
        command.Parameters.Add(new NpgsqlParameter<string>("writer", writerUuid));
        command.Parameters.Add(new NpgsqlParameter<string[]>("pids", NpgsqlDbType.Array | NpgsqlDbType.Text) { TypedValue = pids });
        command.Parameters.Add(new NpgsqlParameter<long[]>("seqs", NpgsqlDbType.Array | NpgsqlDbType.Bigint) { TypedValue = seqs });
        command.Parameters.Add(new NpgsqlParameter<byte[][]>("messages", NpgsqlDbType.Array | NpgsqlDbType.Bytea) { TypedValue = messages });
        command.Parameters.Add(new NpgsqlParameter<string[]>("manifests", NpgsqlDbType.Array | NpgsqlDbType.Text) { TypedValue = manifests });
        command.Parameters.Add(new NpgsqlParameter<int[]>("identifiers", NpgsqlDbType.Array | NpgsqlDbType.Integer) { TypedValue = identifiers });
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

    protected override async Task<DbConnection> OpenReadConnectionAsync() =>
        await _dataSource.OpenConnectionAsync().ConfigureAwait(false);

    public override async ValueTask DisposeAsync()
    {
        await base.DisposeAsync().ConfigureAwait(false);
        await _dataSource.DisposeAsync().ConfigureAwait(false);
    }
}
