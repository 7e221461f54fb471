using ImageActors.Actors.Persistence;

namespace ImageActors.Persistence.Sql;

/// <summary>
/// The durable snapshot store on a <see cref="SqlStore"/>: one row per (persistence_id, sequence_nr);
/// snapshots are rare, so each save is its own transaction (no group commit).
/// </summary>
public sealed class SqlSnapshotStore(SqlStore store, IEventSerializer serializer) : ISnapshotStore
{
    private readonly SqlStore _store = store ?? throw new ArgumentNullException(nameof(store));
    private readonly IEventSerializer _serializer = serializer ?? throw new ArgumentNullException(nameof(serializer));

    /// <inheritdoc />
    public async ValueTask<SelectedSnapshot?> LoadAsync(string persistenceId, SnapshotSelectionCriteria criteria, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(criteria);
        await using var connection = await _store.OpenReaderAsync(cancellationToken).ConfigureAwait(false);
        await using var command = SqlStore.Command(connection, null,
            "SELECT sequence_nr, created, manifest, payload FROM snapshot WHERE persistence_id = @pid" + Where + " ORDER BY sequence_nr DESC LIMIT 1",
            [("pid", persistenceId), .. Bounds(criteria)]);
        await using var reader = await command.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
        if (!await reader.ReadAsync(cancellationToken).ConfigureAwait(false))
        {
            return null;
        }

        var metadata = new SnapshotMetadata(persistenceId, reader.GetInt64(0), new DateTimeOffset(reader.GetInt64(1), TimeSpan.Zero));
        return new SelectedSnapshot(metadata, _serializer.Deserialize(reader.GetString(2), (byte[])reader.GetValue(3)));
    }

    /// <inheritdoc />
    public async ValueTask SaveAsync(SnapshotMetadata metadata, object snapshot, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(metadata);
        ArgumentNullException.ThrowIfNull(snapshot);
        var (manifest, payload) = _serializer.Serialize(snapshot);
        await ExecuteWriteAsync(
            "INSERT INTO snapshot (persistence_id, sequence_nr, created, manifest, payload) VALUES (@pid, @seq, @created, @manifest, @payload) " +
            "ON CONFLICT (persistence_id, sequence_nr) DO UPDATE SET created = excluded.created, manifest = excluded.manifest, payload = excluded.payload",
            [("pid", metadata.PersistenceId), ("seq", metadata.SequenceNr), ("created", metadata.Timestamp.UtcTicks), ("manifest", manifest), ("payload", payload)],
            cancellationToken).ConfigureAwait(false);
    }

    /// <inheritdoc />
    public ValueTask DeleteAsync(SnapshotMetadata metadata, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(metadata);
        return ExecuteWriteAsync(
            "DELETE FROM snapshot WHERE persistence_id = @pid AND sequence_nr = @seq",
            [("pid", metadata.PersistenceId), ("seq", metadata.SequenceNr)],
            cancellationToken);
    }

    /// <inheritdoc />
    public ValueTask DeleteAsync(string persistenceId, SnapshotSelectionCriteria criteria, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(criteria);
        return ExecuteWriteAsync("DELETE FROM snapshot WHERE persistence_id = @pid" + Where, [("pid", persistenceId), .. Bounds(criteria)], cancellationToken);
    }

    private const string Where =
        " AND sequence_nr <= @maxSeq AND sequence_nr >= @minSeq AND created <= @maxTs AND created >= @minTs";

    private static (string, object?)[] Bounds(SnapshotSelectionCriteria criteria) =>
    [
        ("maxSeq", criteria.MaxSequenceNr),
        ("minSeq", criteria.MinSequenceNr),
        ("maxTs", criteria.MaxTimestamp.UtcTicks),
        ("minTs", criteria.MinTimestamp.UtcTicks),
    ];

    private async ValueTask ExecuteWriteAsync(string sql, (string, object?)[] parameters, CancellationToken cancellationToken) =>
        await _store.RunWriteAsync(
            async connection =>
            {
                await using var command = SqlStore.Command(connection, null, sql, parameters);
                return await command.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
            },
            cancellationToken).ConfigureAwait(false);
}
