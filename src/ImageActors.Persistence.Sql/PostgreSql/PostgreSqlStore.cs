using System.Data.Common;
using Npgsql;
using NpgsqlTypes;

namespace ImageActors.Persistence.Sql.PostgreSql;

/// <summary>
/// The PostgreSQL database of a journal and snapshot store, shared by the nodes of a cluster.
/// A batch is one multi-row <c>INSERT … SELECT FROM unnest(arrays) ON CONFLICT DO NOTHING
/// RETURNING</c>: one round trip whatever its size, and the rows it did not return are exactly
/// the contested ones. (Binary COPY would be a little faster but aborts the whole batch on the
/// first unique violation without saying which writer lost, so one stale writer would fail all.)
/// Every acknowledged commit is durable as PostgreSQL's <c>synchronous_commit</c> makes it.
/// </summary>
public sealed class PostgreSqlStore : SqlStore
{
    private const string FirstUniqueConstraint = "journal_persistence_id_sequence_nr_uq";
    private const string UniqueConstraint = "journal_persistence_key_sequence_nr_uq";

    private static readonly SchemaMigration[] Steps =
    [
        new(1, "journal, tags and snapshots",
        [
            """
            CREATE TABLE IF NOT EXISTS journal (
                ordering BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
                persistence_id TEXT NOT NULL,
                sequence_nr BIGINT NOT NULL,
                created BIGINT NOT NULL,
                manifest TEXT NOT NULL,
                payload BYTEA NOT NULL,
                tags TEXT NULL,
                writer_uuid TEXT NOT NULL,
                deleted BOOLEAN NOT NULL DEFAULT FALSE)
            """,
            // Single writer per persistence id is enforced here; named, and added only when missing.
            $"""
            DO $$
            BEGIN
                IF NOT EXISTS (SELECT 1 FROM pg_constraint WHERE conname = '{FirstUniqueConstraint}' AND conrelid = 'journal'::regclass) THEN
                    ALTER TABLE journal ADD CONSTRAINT {FirstUniqueConstraint} UNIQUE (persistence_id, sequence_nr);
                END IF;
            END $$
            """,
            "CREATE TABLE IF NOT EXISTS journal_tags (tag TEXT NOT NULL, ordering BIGINT NOT NULL, PRIMARY KEY (tag, ordering))",
            """
            CREATE TABLE IF NOT EXISTS snapshot (
                persistence_id TEXT NOT NULL,
                sequence_nr BIGINT NOT NULL,
                created BIGINT NOT NULL,
                manifest TEXT NOT NULL,
                payload BYTEA NOT NULL,
                PRIMARY KEY (persistence_id, sequence_nr))
            """,
        ]),
        new(2, "integer persistence keys in the unique index",
        [
            // Every persistence id gets a small integer key; the unique index holds the key instead
            // of the text, so its entries are shorter and a commit touches fewer index pages.
            "CREATE TABLE IF NOT EXISTS journal_persistence_ids (persistence_key BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY, persistence_id TEXT NOT NULL UNIQUE)",
            "INSERT INTO journal_persistence_ids (persistence_id) SELECT DISTINCT persistence_id FROM journal ORDER BY persistence_id ON CONFLICT (persistence_id) DO NOTHING",
            "ALTER TABLE journal ADD COLUMN IF NOT EXISTS persistence_key BIGINT",
            "UPDATE journal j SET persistence_key = p.persistence_key FROM journal_persistence_ids p WHERE p.persistence_id = j.persistence_id AND j.persistence_key IS NULL",
            "ALTER TABLE journal ALTER COLUMN persistence_key SET NOT NULL",
            $"ALTER TABLE journal DROP CONSTRAINT IF EXISTS {FirstUniqueConstraint}",
            // Single writer per persistence id is enforced here; named, and added only when missing.
            $"""
            DO $$
            BEGIN
                IF NOT EXISTS (SELECT 1 FROM pg_constraint WHERE conname = '{UniqueConstraint}' AND conrelid = 'journal'::regclass) THEN
                    ALTER TABLE journal ADD CONSTRAINT {UniqueConstraint} UNIQUE (persistence_key, sequence_nr);
                END IF;
            END $$
            """,
        ]),
    ];

    private readonly NpgsqlDataSource _dataSource;

    private PostgreSqlStore(NpgsqlDataSource dataSource) => _dataSource = dataSource;

    /// <inheritdoc />
    public override IReadOnlyList<SchemaMigration> Migrations => Steps;

    /// <summary>Connects and brings the schema up to date.</summary>
    public static Task<PostgreSqlStore> OpenAsync(PostgreSqlSettings settings, CancellationToken cancellationToken = default) =>
        OpenAsync(settings, int.MaxValue, cancellationToken);

    /// <summary>Connects and brings the schema up to <paramref name="schemaVersion"/> only.</summary>
    internal static async Task<PostgreSqlStore> OpenAsync(PostgreSqlSettings settings, int schemaVersion, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(settings);
        var store = new PostgreSqlStore(NpgsqlDataSource.Create(settings.ConnectionString));
        try
        {
            await store.MigrateAsync(schemaVersion, cancellationToken).ConfigureAwait(false);
            return store;
        }
        catch
        {
            await store.DisposeAsync().ConfigureAwait(false);
            throw;
        }
    }

    internal override async ValueTask<DbConnection> OpenReaderAsync(CancellationToken cancellationToken) =>
        await _dataSource.OpenConnectionAsync(cancellationToken).ConfigureAwait(false);

    internal override async Task<T> RunWriteAsync<T>(Func<DbConnection, Task<T>> work, CancellationToken cancellationToken)
    {
        await using var connection = await _dataSource.OpenConnectionAsync(cancellationToken).ConfigureAwait(false);
        return await work(connection).ConfigureAwait(false);
    }

    internal override async ValueTask<DbTransaction> BeginWriteTransactionAsync(DbConnection connection, CancellationToken cancellationToken) =>
        await ((NpgsqlConnection)connection).BeginTransactionAsync(cancellationToken).ConfigureAwait(false);

    internal override async Task LockSchemaAsync(DbConnection connection, DbTransaction transaction, CancellationToken cancellationToken)
    {
        // Nodes starting together must not run the same step twice.
        await using var command = Command(connection, transaction, "SELECT pg_advisory_xact_lock(7418234511)");
        await command.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
    }

    internal override async Task<IReadOnlyDictionary<string, long>> ResolvePersistenceKeysAsync(
        DbConnection connection, DbTransaction transaction, IReadOnlyList<string> persistenceIds, CancellationToken cancellationToken)
    {
        // Inserted in one order by every writer, so two writers inserting overlapping new ids wait
        // for each other instead of deadlocking; the loser of a race waits for the winner's commit
        // and then, in the SELECT (a new snapshot under READ COMMITTED), sees the winner's key.
        var ids = persistenceIds.ToArray();
        await using var batch = new NpgsqlBatch((NpgsqlConnection)connection, (NpgsqlTransaction)transaction)
        {
            BatchCommands =
            {
                new NpgsqlBatchCommand(
                    "INSERT INTO journal_persistence_ids (persistence_id) SELECT u.pid FROM unnest($1) AS u(pid) ORDER BY u.pid ON CONFLICT (persistence_id) DO NOTHING")
                {
                    Parameters = { new NpgsqlParameter { NpgsqlDbType = NpgsqlDbType.Array | NpgsqlDbType.Text, Value = ids } },
                },
                new NpgsqlBatchCommand("SELECT persistence_id, persistence_key FROM journal_persistence_ids WHERE persistence_id = ANY($1)")
                {
                    Parameters = { new NpgsqlParameter { NpgsqlDbType = NpgsqlDbType.Array | NpgsqlDbType.Text, Value = ids } },
                },
            },
        };
        var keys = new Dictionary<string, long>(ids.Length, StringComparer.Ordinal);
        await using var reader = await batch.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
        while (await reader.ReadAsync(cancellationToken).ConfigureAwait(false))
        {
            keys[reader.GetString(0)] = reader.GetInt64(1);
        }

        return keys;
    }

    internal override async Task InsertEventsAsync(
        DbConnection connection, DbTransaction transaction, IReadOnlyList<PendingWrite> writes, int start, long createdTicks, CancellationToken cancellationToken)
    {
        var count = 0;
        for (var w = start; w < writes.Count; w++)
        {
            count += writes[w].Events.Length;
        }

        var keys = new long[count];
        var pids = new string[count];
        var seqs = new long[count];
        var manifests = new string[count];
        var payloads = new byte[count][];
        var tags = new string?[count];
        var writers = new string[count];
        var row = 0;

        // Two writes of one call claiming the same sequence number: the first queued wins (as on
        // SQLite), found here because the insert's RETURNING cannot tell the two rows apart. (A
        // row inserted by an earlier call of the same batch conflicts in the database.)
        var claimed = new HashSet<(string, long)>(count);
        for (var w = start; w < writes.Count; w++)
        {
            var write = writes[w];
            foreach (var e in write.Events)
            {
                if (claimed.Contains((write.PersistenceId, e.SequenceNr)))
                {
                    write.ConflictingSequenceNr = e.SequenceNr;
                    break;
                }
            }

            if (write.ConflictingSequenceNr != 0)
            {
                continue;
            }

            foreach (var e in write.Events)
            {
                claimed.Add((write.PersistenceId, e.SequenceNr));
            }

            foreach (var e in write.Events)
            {
                keys[row] = write.PersistenceKey;
                pids[row] = write.PersistenceId;
                seqs[row] = e.SequenceNr;
                manifests[row] = e.Manifest;
                payloads[row] = e.Payload;
                tags[row] = e.Tags;
                writers[row] = write.WriterUuid;
                row++;
            }
        }

        if (row < count)
        {
            Array.Resize(ref keys, row);
            Array.Resize(ref pids, row);
            Array.Resize(ref seqs, row);
            Array.Resize(ref manifests, row);
            Array.Resize(ref payloads, row);
            Array.Resize(ref tags, row);
            Array.Resize(ref writers, row);
        }

        var inserted = new Dictionary<(long, long), long>(row);
        await using (var insert = new NpgsqlCommand(
            $"""
            INSERT INTO journal (persistence_key, persistence_id, sequence_nr, created, manifest, payload, tags, writer_uuid)
            SELECT u.pkey, u.pid, u.seq, @created, u.manifest, u.payload, u.tags, u.writer
            FROM unnest(@keys, @pids, @seqs, @manifests, @payloads, @tags, @writers) WITH ORDINALITY AS u(pkey, pid, seq, manifest, payload, tags, writer, n)
            ORDER BY u.n
            ON CONFLICT ON CONSTRAINT {UniqueConstraint} DO NOTHING
            RETURNING ordering, persistence_key, sequence_nr
            """,
            (NpgsqlConnection)connection,
            (NpgsqlTransaction)transaction))
        {
            insert.Parameters.Add(new NpgsqlParameter<long>("created", createdTicks));
            insert.Parameters.Add(new NpgsqlParameter("keys", NpgsqlDbType.Array | NpgsqlDbType.Bigint) { Value = keys });
            insert.Parameters.Add(new NpgsqlParameter("pids", NpgsqlDbType.Array | NpgsqlDbType.Text) { Value = pids });
            insert.Parameters.Add(new NpgsqlParameter("seqs", NpgsqlDbType.Array | NpgsqlDbType.Bigint) { Value = seqs });
            insert.Parameters.Add(new NpgsqlParameter("manifests", NpgsqlDbType.Array | NpgsqlDbType.Text) { Value = manifests });
            insert.Parameters.Add(new NpgsqlParameter("payloads", NpgsqlDbType.Array | NpgsqlDbType.Bytea) { Value = payloads });
            insert.Parameters.Add(new NpgsqlParameter("tags", NpgsqlDbType.Array | NpgsqlDbType.Text) { Value = tags });
            insert.Parameters.Add(new NpgsqlParameter("writers", NpgsqlDbType.Array | NpgsqlDbType.Text) { Value = writers });
            await using var reader = await insert.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
            while (await reader.ReadAsync(cancellationToken).ConfigureAwait(false))
            {
                inserted[(reader.GetInt64(1), reader.GetInt64(2))] = reader.GetInt64(0);
            }
        }

        var tagNames = new List<string>();
        var tagOrderings = new List<long>();
        var conflicted = false;
        for (var w = start; w < writes.Count; w++)
        {
            var write = writes[w];
            if (write.ConflictingSequenceNr != 0)
            {
                conflicted = true;
                continue;
            }

            foreach (var e in write.Events)
            {
                if (!inserted.TryGetValue((write.PersistenceKey, e.SequenceNr), out var ordering))
                {
                    write.ConflictingSequenceNr = e.SequenceNr;
                    conflicted = true;
                    break;
                }

                foreach (var tag in e.TagList)
                {
                    tagNames.Add(tag);
                    tagOrderings.Add(ordering);
                }
            }
        }

        if (tagNames.Count > 0 && !conflicted)
        {
            await using var tagInsert = new NpgsqlCommand(
                "INSERT INTO journal_tags (tag, ordering) SELECT * FROM unnest(@tags, @orderings)",
                (NpgsqlConnection)connection,
                (NpgsqlTransaction)transaction);
            tagInsert.Parameters.Add(new NpgsqlParameter("tags", NpgsqlDbType.Array | NpgsqlDbType.Text) { Value = tagNames.ToArray() });
            tagInsert.Parameters.Add(new NpgsqlParameter("orderings", NpgsqlDbType.Array | NpgsqlDbType.Bigint) { Value = tagOrderings.ToArray() });
            await tagInsert.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
        }
    }

    /// <inheritdoc />
    public override ValueTask DisposeAsync() => _dataSource.DisposeAsync();
}
