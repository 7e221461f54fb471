namespace ImageActors.Actors.Persistence;

/// <summary>A snapshot store held in memory, for tests and benchmarks.</summary>
public sealed class InMemorySnapshotStore : ISnapshotStore
{
    private readonly Lock _gate = new();
    private readonly Dictionary<string, List<SelectedSnapshot>> _byId = new(StringComparer.Ordinal);

    /// <inheritdoc />
    public ValueTask<SelectedSnapshot?> LoadAsync(string persistenceId, SnapshotSelectionCriteria criteria, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(criteria);
        lock (_gate)
        {
            var found = _byId.TryGetValue(persistenceId, out var list)
                ? list.Where(s => criteria.Matches(s.Metadata)).MaxBy(s => s.Metadata.SequenceNr)
                : null;
            return ValueTask.FromResult(found);
        }
    }

    /// <inheritdoc />
    public ValueTask SaveAsync(SnapshotMetadata metadata, object snapshot, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(metadata);
        lock (_gate)
        {
            if (!_byId.TryGetValue(metadata.PersistenceId, out var list))
            {
                list = [];
                _byId.Add(metadata.PersistenceId, list);
            }

            list.RemoveAll(s => s.Metadata.SequenceNr == metadata.SequenceNr);
            list.Add(new SelectedSnapshot(metadata, snapshot));
        }

        return ValueTask.CompletedTask;
    }

    /// <inheritdoc />
    public ValueTask DeleteAsync(SnapshotMetadata metadata, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(metadata);
        lock (_gate)
        {
            if (_byId.TryGetValue(metadata.PersistenceId, out var list))
            {
                list.RemoveAll(s => s.Metadata.SequenceNr == metadata.SequenceNr);
            }
        }

        return ValueTask.CompletedTask;
    }

    /// <inheritdoc />
    public ValueTask DeleteAsync(string persistenceId, SnapshotSelectionCriteria criteria, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(criteria);
        lock (_gate)
        {
            if (_byId.TryGetValue(persistenceId, out var list))
            {
                list.RemoveAll(s => criteria.Matches(s.Metadata));
            }
        }

        return ValueTask.CompletedTask;
    }
}
