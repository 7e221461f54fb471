using System.Runtime.CompilerServices;

namespace ImageActors.Actors.Persistence;

/// <summary>
/// A journal held in memory, for tests and benchmarks. It has the same semantics as the SQL
/// journals (single writer per persistence id, atomic writes, delete keeps the highest).
/// </summary>
public sealed class InMemoryJournal : IJournal, IJournalQueries
{
    private readonly Lock _gate = new();
    private readonly Dictionary<string, List<PersistentRepresentation>> _byId = new(StringComparer.Ordinal);
    private readonly List<EventEnvelope> _all = [];
    private readonly Dictionary<string, long> _deletedTo = new(StringComparer.Ordinal);
    private readonly TimeProvider _clock;

    public InMemoryJournal(TimeProvider? clock = null) => _clock = clock ?? TimeProvider.System;

    /// <inheritdoc />
    public ValueTask WriteAsync(AtomicWrite write, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(write);
        if (write.Events.Count == 0)
        {
            return ValueTask.CompletedTask;
        }

        lock (_gate)
        {
            if (!_byId.TryGetValue(write.PersistenceId, out var events))
            {
                events = [];
                _byId.Add(write.PersistenceId, events);
            }

            var highest = events.Count == 0 ? 0 : events[^1].SequenceNr;
            var expected = highest + 1;
            foreach (var e in write.Events)
            {
                if (e.PersistenceId != write.PersistenceId)
                {
                    throw new EventRejectedException($"Event for '{e.PersistenceId}' inside an atomic write for '{write.PersistenceId}'.");
                }

                if (e.SequenceNr <= highest)
                {
                    throw new ConcurrencyException(write.PersistenceId, e.SequenceNr);
                }

                if (e.SequenceNr != expected++)
                {
                    throw new EventRejectedException($"Sequence numbers of '{write.PersistenceId}' must be contiguous: got {e.SequenceNr} after {expected - 2}.");
                }
            }

            var now = _clock.GetUtcNow();
            foreach (var e in write.Events)
            {
                var stored = e with { Timestamp = now };
                events.Add(stored);
                _all.Add(new EventEnvelope(_all.Count + 1, stored));
            }
        }

        return ValueTask.CompletedTask;
    }

    /// <inheritdoc />
    public async IAsyncEnumerable<PersistentRepresentation> ReplayAsync(
        string persistenceId, long fromSequenceNr, long toSequenceNr, long max,
        [EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        PersistentRepresentation[] selected;
        lock (_gate)
        {
            var deletedTo = _deletedTo.GetValueOrDefault(persistenceId);
            selected = _byId.TryGetValue(persistenceId, out var events)
                ? events.Where(e => e.SequenceNr > deletedTo && e.SequenceNr >= fromSequenceNr && e.SequenceNr <= toSequenceNr)
                    .Take((int)Math.Min(max, int.MaxValue)).ToArray()
                : [];
        }

        foreach (var e in selected)
        {
            cancellationToken.ThrowIfCancellationRequested();
            yield return e;
        }

        await Task.CompletedTask.ConfigureAwait(false);
    }

    /// <inheritdoc />
    public ValueTask<long> ReadHighestSequenceNrAsync(string persistenceId, long fromSequenceNr = 0, CancellationToken cancellationToken = default)
    {
        lock (_gate)
        {
            return ValueTask.FromResult(_byId.TryGetValue(persistenceId, out var events) && events.Count > 0 ? events[^1].SequenceNr : 0L);
        }
    }

    /// <inheritdoc />
    public ValueTask DeleteMessagesToAsync(string persistenceId, long toSequenceNr, CancellationToken cancellationToken = default)
    {
        lock (_gate)
        {
            // Events stay in the lists (so the highest sequence number is never lost); a
            // watermark hides the deleted ones from replays and queries.
            var current = _deletedTo.GetValueOrDefault(persistenceId);
            _deletedTo[persistenceId] = Math.Max(current, toSequenceNr);
        }

        return ValueTask.CompletedTask;
    }

    /// <inheritdoc />
    public async IAsyncEnumerable<EventEnvelope> CurrentEventsByTagAsync(
        string tag, long afterOrdering, [EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        EventEnvelope[] selected;
        lock (_gate)
        {
            selected = _all.Where(e => e.Ordering > afterOrdering && e.Event.Tags.Contains(tag) && e.Event.SequenceNr > _deletedTo.GetValueOrDefault(e.Event.PersistenceId)).ToArray();
        }

        foreach (var e in selected)
        {
            cancellationToken.ThrowIfCancellationRequested();
            yield return e;
        }

        await Task.CompletedTask.ConfigureAwait(false);
    }

    /// <inheritdoc />
    public async IAsyncEnumerable<string> CurrentPersistenceIdsAsync([EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        string[] ids;
        lock (_gate)
        {
            ids = [.. _byId.Keys];
        }

        foreach (var id in ids)
        {
            cancellationToken.ThrowIfCancellationRequested();
            yield return id;
        }

        await Task.CompletedTask.ConfigureAwait(false);
    }

    /// <inheritdoc />
    public ValueTask<long> ReadHighestOrderingAsync(CancellationToken cancellationToken = default)
    {
        lock (_gate)
        {
            return ValueTask.FromResult((long)_all.Count);
        }
    }
}
