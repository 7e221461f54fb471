using Akka.Configuration;
using Akka.Persistence;
using Akka.Persistence.Snapshot;
using ImageActors.Persistence.Database;

namespace ImageActors.Persistence;

/// <summary>
/// An Akka.Persistence snapshot store on SQLite or PostgreSQL, in the <c>snapshot</c> table of
/// Akka.Persistence.Sql's default schema with rows as the stock plugin writes them. Shares the
/// database (on SQLite: the writer connection) with a <see cref="GroupCommitJournal"/> of the
/// same connection string. Its plugin block has the journal's <c>provider</c>,
/// <c>connection-string</c>, <c>synchronous</c> and <c>read-connections</c>.
/// </summary>
public sealed class SqlSnapshotStore : SnapshotStore
{
    private const string Criteria =
        "persistence_id = @pid AND sequence_number <= @maxSeq AND created <= @maxTs AND sequence_number >= @minSeq AND created >= @minTs";

    private readonly SqlDatabase _database;
    private readonly Akka.Serialization.Serialization _serialization;

    /// <summary>Creates the snapshot store from its plugin block; Akka calls this.</summary>
    public SqlSnapshotStore(Config config)
    {
        ArgumentNullException.ThrowIfNull(config);
        _serialization = Context.System.Serialization;
        _database = SqlDatabase.Acquire(PluginSettings.From(config, "the snapshot store plugin"));
    }

    /// <inheritdoc />
    protected override Task<SelectedSnapshot?> LoadAsync(string persistenceId, SnapshotSelectionCriteria criteria, CancellationToken cancellationToken) =>
        _database.ReadAsync<SelectedSnapshot?>(async connection =>
        {
            await using var command = SqlDatabase.Command(connection, null,
                $"SELECT sequence_number, created, snapshot, manifest, serializer_id FROM snapshot WHERE {Criteria} ORDER BY sequence_number DESC LIMIT 1",
                Parameters(persistenceId, criteria));
            await using var reader = await command.ExecuteReaderAsync().ConfigureAwait(false);
            if (!await reader.ReadAsync().ConfigureAwait(false))
            {
                return null;
            }

            var manifest = reader.IsDBNull(3) ? string.Empty : reader.GetString(3);
            int? identifier = reader.IsDBNull(4) ? null : reader.GetInt32(4);
            var snapshot = PayloadSerialization.Deserialize(_serialization, (byte[])reader.GetValue(2), identifier, manifest);
            return new SelectedSnapshot(new SnapshotMetadata(persistenceId, reader.GetInt64(0), new DateTime(reader.GetInt64(1))), snapshot);
        });

    /// <inheritdoc />
    protected override async Task SaveAsync(SnapshotMetadata metadata, object snapshot, CancellationToken cancellationToken)
    {
        var (bytes, manifest, identifier) = PayloadSerialization.Serialize(_serialization, snapshot);
        await ExecuteAsync(
            "INSERT INTO snapshot (persistence_id, sequence_number, created, snapshot, manifest, serializer_id) VALUES (@pid, @seq, @created, @snapshot, @manifest, @serializer) " +
            "ON CONFLICT (persistence_id, sequence_number) DO UPDATE SET created = excluded.created, snapshot = excluded.snapshot, manifest = excluded.manifest, serializer_id = excluded.serializer_id",
            ("@pid", metadata.PersistenceId), ("@seq", metadata.SequenceNr), ("@created", metadata.Timestamp.Ticks), ("@snapshot", bytes), ("@manifest", manifest), ("@serializer", identifier)).ConfigureAwait(false);
    }

    /// <inheritdoc />
    protected override Task DeleteAsync(SnapshotMetadata metadata, CancellationToken cancellationToken) =>
        ExecuteAsync("DELETE FROM snapshot WHERE persistence_id = @pid AND sequence_number = @seq", ("@pid", metadata.PersistenceId), ("@seq", metadata.SequenceNr));

    /// <inheritdoc />
    protected override Task DeleteAsync(string persistenceId, SnapshotSelectionCriteria criteria, CancellationToken cancellationToken) =>
        ExecuteAsync($"DELETE FROM snapshot WHERE {Criteria}", Parameters(persistenceId, criteria));

    /// <inheritdoc />
    protected override void PostStop()
    {
        base.PostStop();
        _ = SqlDatabase.ReleaseAsync(_database).AsTask();
    }

    private static (string, object?)[] Parameters(string persistenceId, SnapshotSelectionCriteria criteria) =>
    [
        ("@pid", persistenceId), ("@maxSeq", criteria.MaxSequenceNr), ("@maxTs", criteria.MaxTimeStamp.Ticks),
        ("@minSeq", criteria.MinSequenceNr), ("@minTs", criteria.MinTimestamp?.Ticks ?? 0L),
    ];

    private async Task ExecuteAsync(string sql, params (string, object?)[] parameters)
    {
        await _database.Ready.ConfigureAwait(false);
        await _database.WriteAsync(async connection =>
        {
            await using var command = SqlDatabase.Command(connection, null, sql, parameters);
            return await command.ExecuteNonQueryAsync().ConfigureAwait(false);
        }).ConfigureAwait(false);
    }
}
