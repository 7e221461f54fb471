using System.Data.Common;
using System.Runtime.CompilerServices;
using System.Threading.Channels;
using ImageActors.Actors.Persistence;

namespace ImageActors.Persistence.Sql;

/// <summary>
/// The durable journal on a <see cref="SqlStore"/>, with group commit: writes from every actor go
/// into one bounded queue (a full queue makes writers wait: back-pressure) and one writer loop
/// commits everything queued as one transaction. While a batch commits the queue fills again, so
/// batches grow with the load — which is what the unique (persistence_id, sequence_nr) index needs,
/// as every commit rewrites one index page per persistence id it touches.
/// A write whose sequence number is taken fails alone with <see cref="ConcurrencyException"/>
/// (the batch is rolled back and committed again without it); an event that cannot be serialized
/// fails alone with <see cref="EventRejectedException"/> before it is queued.
/// </summary>
public sealed class SqlJournal : IJournal, IJournalQueries, IAsyncDisposable
{
    private const string Columns = "j.persistence_id, j.sequence_nr, j.created, j.manifest, j.payload, j.tags, j.writer_uuid, j.deleted";

    private readonly SqlStore _store;
    private readonly IEventSerializer _serializer;
    private readonly JournalSettings _settings;
    private readonly TimeProvider _clock;
    private readonly Channel<PendingWrite> _queue;
    private readonly SemaphoreSlim _writerGate = new(1, 1);
    private readonly Task _writer;
    private long _batchesCommitted;

    /// <summary>Creates the journal and starts its writer loop. The store's schema must be migrated.</summary>
    public SqlJournal(SqlStore store, IEventSerializer serializer, JournalSettings? settings = null, TimeProvider? clock = null)
    {
        _store = store ?? throw new ArgumentNullException(nameof(store));
        _serializer = serializer ?? throw new ArgumentNullException(nameof(serializer));
        _settings = settings ?? JournalSettings.Default;
        _clock = clock ?? TimeProvider.System;
        ArgumentOutOfRangeException.ThrowIfLessThan(_settings.QueueCapacity, 1);
        ArgumentOutOfRangeException.ThrowIfLessThan(_settings.MaxBatchEvents, 1);
        _queue = Channel.CreateBounded<PendingWrite>(new BoundedChannelOptions(_settings.QueueCapacity)
        {
            SingleReader = true,
            FullMode = BoundedChannelFullMode.Wait,
        });
        _writer = Task.Factory.StartNew(RunWriterAsync, CancellationToken.None, TaskCreationOptions.LongRunning, TaskScheduler.Default).Unwrap();
    }

    /// <summary>How many batches (transactions) the writer has committed; for tests and metrics.</summary>
    public long BatchesCommitted => Interlocked.Read(ref _batchesCommitted);

    /// <inheritdoc />
    public async ValueTask WriteAsync(AtomicWrite write, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(write);
        if (write.Events.Count == 0)
        {
            return;
        }

        var pending = Serialize(write);
        try
        {
            if (!_queue.Writer.TryWrite(pending))
            {
                await _queue.Writer.WriteAsync(pending, cancellationToken).ConfigureAwait(false);
            }
        }
        catch (ChannelClosedException e)
        {
            throw new ObjectDisposedException("The journal is closed.", e);
        }

        // Once queued the write may commit at any moment, so cancellation no longer applies to it.
        await pending.Completion.Task.ConfigureAwait(false);
    }

    /// <inheritdoc />
    public async IAsyncEnumerable<PersistentRepresentation> ReplayAsync(
        string persistenceId, long fromSequenceNr, long toSequenceNr, long max, [EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        if (max <= 0 || toSequenceNr < fromSequenceNr)
        {
            yield break;
        }

        await using var connection = await _store.OpenReaderAsync(cancellationToken).ConfigureAwait(false);
        await using var command = SqlStore.Command(connection, null,
            $"SELECT {Columns} FROM journal j WHERE j.persistence_id = @pid AND j.sequence_nr >= @from AND j.sequence_nr <= @to AND j.deleted = FALSE ORDER BY j.sequence_nr LIMIT @max",
            ("pid", persistenceId), ("from", fromSequenceNr), ("to", toSequenceNr), ("max", max));
        await using var reader = await command.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
        while (await reader.ReadAsync(cancellationToken).ConfigureAwait(false))
        {
            yield return ReadEvent(reader, 0);
        }
    }

    /// <inheritdoc />
    public async ValueTask<long> ReadHighestSequenceNrAsync(string persistenceId, long fromSequenceNr = 0, CancellationToken cancellationToken = default)
    {
        await using var connection = await _store.OpenReaderAsync(cancellationToken).ConfigureAwait(false);
        await using var command = SqlStore.Command(connection, null, "SELECT MAX(sequence_nr) FROM journal WHERE persistence_id = @pid", ("pid", persistenceId));
        var highest = await command.ExecuteScalarAsync(cancellationToken).ConfigureAwait(false);
        return highest is null or DBNull ? 0 : Convert.ToInt64(highest, System.Globalization.CultureInfo.InvariantCulture);
    }

    /// <inheritdoc />
    public async ValueTask DeleteMessagesToAsync(string persistenceId, long toSequenceNr, CancellationToken cancellationToken = default)
    {
        await _store.RunWriteAsync(
            async connection =>
            {
                await using var tx = await _store.BeginWriteTransactionAsync(connection, cancellationToken).ConfigureAwait(false);

                // Mark, drop the tag rows, then remove all but the highest row, which stays (marked
                // deleted) so that the highest sequence number, and with it single-writer safety, survives.
                string[] statements =
                [
                    "UPDATE journal SET deleted = TRUE WHERE persistence_id = @pid AND sequence_nr <= @to AND deleted = FALSE",
                    "DELETE FROM journal_tags WHERE ordering IN (SELECT ordering FROM journal WHERE persistence_id = @pid AND sequence_nr <= @to)",
                    "DELETE FROM journal WHERE persistence_id = @pid AND sequence_nr <= @to AND sequence_nr < (SELECT MAX(sequence_nr) FROM journal WHERE persistence_id = @pid)",
                ];
                foreach (var sql in statements)
                {
                    await using var command = SqlStore.Command(connection, tx, sql, ("pid", persistenceId), ("to", toSequenceNr));
                    await command.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
                }

                await tx.CommitAsync(cancellationToken).ConfigureAwait(false);
                return true;
            },
            cancellationToken).ConfigureAwait(false);
    }

    /// <inheritdoc />
    public async IAsyncEnumerable<EventEnvelope> CurrentEventsByTagAsync(string tag, long afterOrdering, [EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        await using var connection = await _store.OpenReaderAsync(cancellationToken).ConfigureAwait(false);
        await using var command = SqlStore.Command(connection, null,
            $"SELECT t.ordering, {Columns} FROM journal_tags t JOIN journal j ON j.ordering = t.ordering WHERE t.tag = @tag AND t.ordering > @after AND j.deleted = FALSE ORDER BY t.ordering",
            ("tag", tag), ("after", afterOrdering));
        await using var reader = await command.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
        while (await reader.ReadAsync(cancellationToken).ConfigureAwait(false))
        {
            yield return new EventEnvelope(reader.GetInt64(0), ReadEvent(reader, 1));
        }
    }

    /// <inheritdoc />
    public async IAsyncEnumerable<string> CurrentPersistenceIdsAsync([EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        await using var connection = await _store.OpenReaderAsync(cancellationToken).ConfigureAwait(false);
        await using var command = SqlStore.Command(connection, null, "SELECT DISTINCT persistence_id FROM journal ORDER BY persistence_id");
        await using var reader = await command.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
        while (await reader.ReadAsync(cancellationToken).ConfigureAwait(false))
        {
            yield return reader.GetString(0);
        }
    }

    /// <inheritdoc />
    public async ValueTask<long> ReadHighestOrderingAsync(CancellationToken cancellationToken = default)
    {
        await using var connection = await _store.OpenReaderAsync(cancellationToken).ConfigureAwait(false);
        await using var command = SqlStore.Command(connection, null, "SELECT MAX(ordering) FROM journal");
        var highest = await command.ExecuteScalarAsync(cancellationToken).ConfigureAwait(false);
        return highest is null or DBNull ? 0 : Convert.ToInt64(highest, System.Globalization.CultureInfo.InvariantCulture);
    }

    /// <summary>
    /// Holds the writer loop before its next batch until the returned handle is disposed; writes
    /// queue up meanwhile. Lets tests put many writes into one batch deterministically.
    /// </summary>
    internal async Task<IDisposable> PauseWriterAsync()
    {
        await _writerGate.WaitAsync().ConfigureAwait(false);
        return new Resume(_writerGate);
    }

    /// <summary>Stops taking writes, commits what is queued, and stops the writer loop.</summary>
    public async ValueTask DisposeAsync()
    {
        _queue.Writer.TryComplete();
        await _writer.ConfigureAwait(false);
        _writerGate.Dispose();
    }

    private PendingWrite Serialize(AtomicWrite write)
    {
        var events = new SerializedEvent[write.Events.Count];
        var writerUuid = write.Events[0].WriterUuid ?? "";
        for (var i = 0; i < events.Length; i++)
        {
            var e = write.Events[i];
            if (e.PersistenceId != write.PersistenceId)
            {
                throw new EventRejectedException($"Event for '{e.PersistenceId}' inside an atomic write for '{write.PersistenceId}'.");
            }

            if (i > 0 && e.SequenceNr != write.Events[i - 1].SequenceNr + 1)
            {
                throw new EventRejectedException($"Sequence numbers of '{write.PersistenceId}' must be contiguous: got {e.SequenceNr} after {write.Events[i - 1].SequenceNr}.");
            }

            if (e.SequenceNr < 1)
            {
                throw new EventRejectedException($"Sequence numbers of '{write.PersistenceId}' start at 1: got {e.SequenceNr}.");
            }

            var tags = e.Tags ?? [];
            foreach (var tag in tags)
            {
                if (string.IsNullOrEmpty(tag) || tag.Contains(';', StringComparison.Ordinal))
                {
                    throw new EventRejectedException($"Tag '{tag}' of '{write.PersistenceId}' is empty or contains ';'.");
                }
            }

            (string Manifest, byte[] Payload) serialized;
            try
            {
                serialized = _serializer.Serialize(e.Payload);
            }
            catch (EventRejectedException)
            {
                throw;
            }
            catch (Exception ex) when (ex is not OutOfMemoryException)
            {
                throw new EventRejectedException($"Event {e.SequenceNr} of '{write.PersistenceId}' could not be serialized: {ex.Message}", ex);
            }

            events[i] = new SerializedEvent(e.SequenceNr, serialized.Manifest, serialized.Payload, tags.Count == 0 ? null : string.Join(';', tags), tags);
        }

        return new PendingWrite(write, events, writerUuid);
    }

    private async Task RunWriterAsync()
    {
        var reader = _queue.Reader;
        var batch = new List<PendingWrite>();
        var lastBatchWrites = 0;
        while (await reader.WaitToReadAsync().ConfigureAwait(false))
        {
            await _writerGate.WaitAsync().ConfigureAwait(false);
            try
            {
                // Under load (the last batch held several writes), wait a moment, as PostgreSQL's
                // commit_delay does, so that the writers whose previous write just committed queue
                // their next one into this batch instead of starting a train of small batches.
                if (lastBatchWrites > 1 && reader.Count < _settings.MaxBatchEvents && _settings.CommitDelay > TimeSpan.Zero)
                {
                    await Task.Delay(_settings.CommitDelay).ConfigureAwait(false);
                }

                // Take everything queued (up to the cap): the batch adapts to the load.
                var events = 0;
                while (events < _settings.MaxBatchEvents && reader.TryRead(out var pending))
                {
                    batch.Add(pending);
                    events += pending.Events.Length;
                }

                lastBatchWrites = batch.Count;
                await CommitAsync(batch).ConfigureAwait(false);
            }
            finally
            {
                batch.Clear();
                _writerGate.Release();
            }
        }
    }

    private async Task CommitAsync(List<PendingWrite> batch)
    {
        IReadOnlyList<PendingWrite> live = batch;
        try
        {
            while (live.Count > 0)
            {
                var conflicts = new long[live.Count];
                var created = _clock.GetUtcNow().UtcTicks;
                var attempt = live;
                var committed = await _store.RunWriteAsync(
                    async connection =>
                    {
                        await using var tx = await _store.BeginWriteTransactionAsync(connection, CancellationToken.None).ConfigureAwait(false);
                        await _store.InsertEventsAsync(connection, tx, attempt, created, conflicts, CancellationToken.None).ConfigureAwait(false);
                        if (conflicts.AsSpan().ContainsAnyExcept(0L))
                        {
                            await tx.RollbackAsync(CancellationToken.None).ConfigureAwait(false);
                            return false;
                        }

                        await tx.CommitAsync(CancellationToken.None).ConfigureAwait(false);
                        return true;
                    },
                    CancellationToken.None).ConfigureAwait(false);

                if (committed)
                {
                    Interlocked.Increment(ref _batchesCommitted);
                    foreach (var pending in live)
                    {
                        pending.Completion.TrySetResult();
                    }

                    return;
                }

                // Fail only the writers that lost their sequence numbers; commit the others again.
                var rest = new List<PendingWrite>(live.Count);
                for (var i = 0; i < live.Count; i++)
                {
                    if (conflicts[i] != 0)
                    {
                        live[i].Completion.TrySetException(new ConcurrencyException(live[i].PersistenceId, conflicts[i]));
                    }
                    else
                    {
                        rest.Add(live[i]);
                    }
                }

                live = rest;
            }
        }
        catch (Exception e)
        {
            // The store failed (not a single writer's fault): every write of the batch fails and
            // its writer must stop; the loop goes on with the next batch.
            foreach (var pending in live)
            {
                pending.Completion.TrySetException(e);
            }
        }
    }

    private PersistentRepresentation ReadEvent(DbDataReader reader, int first)
    {
        var manifest = reader.GetString(first + 3);
        var payload = (byte[])reader.GetValue(first + 4);
        var tags = reader.IsDBNull(first + 5) ? [] : reader.GetString(first + 5).Split(';');
        return new PersistentRepresentation(
            reader.GetString(first),
            reader.GetInt64(first + 1),
            _serializer.Deserialize(manifest, payload),
            reader.GetString(first + 6),
            new DateTimeOffset(reader.GetInt64(first + 2), TimeSpan.Zero),
            tags)
        {
            IsDeleted = reader.GetBoolean(first + 7),
        };
    }

    private sealed class Resume(SemaphoreSlim gate) : IDisposable
    {
        private int _released;

        public void Dispose()
        {
            if (Interlocked.Exchange(ref _released, 1) == 0)
            {
                gate.Release();
            }
        }
    }
}
