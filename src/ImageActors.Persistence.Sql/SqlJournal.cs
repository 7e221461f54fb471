using System.Data.Common;
using System.Diagnostics;
using System.Runtime.CompilerServices;
using System.Threading.Channels;
using ImageActors.Actors.Persistence;

namespace ImageActors.Persistence.Sql;

/// <summary>
/// The durable journal on a <see cref="SqlStore"/>, with group commit: writes from every actor go
/// into one bounded queue (a full queue makes writers wait: back-pressure) and one writer loop
/// commits everything queued as one transaction. While a batch commits the queue fills again, so
/// batches grow with the load — which is what the unique (persistence_key, sequence_nr) index needs,
/// as every commit rewrites one index page per persistence id it touches. (The index holds each
/// persistence id's integer key from <c>journal_persistence_ids</c>, not its text, so its entries
/// are short and ids with few events share pages; the writer loop caches the keys it has seen
/// committed, and inserts the key of a new id in the transaction of its first events.)
/// Under load a batch also inserts the writes that arrive while it is open, until it holds as
/// many as the previous one (see <see cref="JournalSettings.CommitDelay"/>), so the writers
/// acknowledged by one commit produce their next writes while the first of them are already
/// being inserted.
/// A write whose sequence number is taken fails alone with <see cref="ConcurrencyException"/>
/// (the batch is rolled back and committed again without it); an event that cannot be serialized
/// fails alone with <see cref="EventRejectedException"/> before it is queued.
/// </summary>
public sealed class SqlJournal : IJournal, IJournalQueries, IAsyncDisposable
{
    private const string Columns = "j.persistence_id, j.sequence_nr, j.created, j.manifest, j.payload, j.tags, j.writer_uuid, j.deleted";

    /// <summary>The integer key of the persistence id in parameter <c>@pid</c> (NULL when it has none: no rows match).</summary>
    private const string KeyOfPid = "(SELECT persistence_key FROM journal_persistence_ids WHERE persistence_id = @pid)";

    /// <summary>More keys than this in the writer's cache and it starts afresh (a look-up per id again).</summary>
    private const int MaxCachedKeys = 1 << 18;

    // Keys of persistence ids, as committed; used by the writer loop only (one batch at a time).
    private readonly Dictionary<string, long> _keys = new(StringComparer.Ordinal);

    private readonly SqlStore _store;
    private readonly IEventSerializer _serializer;
    private readonly JournalSettings _settings;
    private readonly TimeProvider _clock;
    private readonly Channel<PendingWrite> _queue;
    private readonly SemaphoreSlim _writerGate = new(1, 1);
    private readonly Task _writer;
    private long _batchesCommitted;

    // Arrival signalling between writers and the writer loop while a batch waits for more writes:
    // writers count what they queue and wake the loop once _wakeAt writes are queued.
    private const int WakeShare = 8;
    private int _queued;
    private int _wakeAt = int.MaxValue;
    private TaskCompletionSource? _arrival;

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

        if (Interlocked.Increment(ref _queued) >= Volatile.Read(ref _wakeAt))
        {
            Volatile.Read(ref _arrival)?.TrySetResult();
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
            $"SELECT {Columns} FROM journal j WHERE j.persistence_key = {KeyOfPid} AND j.sequence_nr >= @from AND j.sequence_nr <= @to AND j.deleted = FALSE ORDER BY j.sequence_nr LIMIT @max",
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
        await using var command = SqlStore.Command(connection, null, $"SELECT MAX(sequence_nr) FROM journal WHERE persistence_key = {KeyOfPid}", ("pid", persistenceId));
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
                object? key;
                await using (var lookup = SqlStore.Command(connection, tx, $"SELECT {KeyOfPid}", ("pid", persistenceId)))
                {
                    key = await lookup.ExecuteScalarAsync(cancellationToken).ConfigureAwait(false);
                }

                if (key is not (null or DBNull))
                {
                    string[] statements =
                    [
                        "UPDATE journal SET deleted = TRUE WHERE persistence_key = @key AND sequence_nr <= @to AND deleted = FALSE",
                        "DELETE FROM journal_tags WHERE ordering IN (SELECT ordering FROM journal WHERE persistence_key = @key AND sequence_nr <= @to)",
                        "DELETE FROM journal WHERE persistence_key = @key AND sequence_nr <= @to AND sequence_nr < (SELECT MAX(sequence_nr) FROM journal WHERE persistence_key = @key)",
                    ];
                    foreach (var sql in statements)
                    {
                        await using var command = SqlStore.Command(connection, tx, sql, ("key", key), ("to", toSequenceNr));
                        await command.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
                    }
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
        await using var command = SqlStore.Command(connection, null, "SELECT persistence_id FROM journal_persistence_ids ORDER BY persistence_id");
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
        var lastBatchWrites = 0;
        while (await reader.WaitToReadAsync().ConfigureAwait(false))
        {
            await _writerGate.WaitAsync().ConfigureAwait(false);
            try
            {
                var batch = new List<PendingWrite>(Math.Max(16, lastBatchWrites));
                await CommitAsync(batch, lastBatchWrites).ConfigureAwait(false);
                lastBatchWrites = batch.Count;
            }
            finally
            {
                _writerGate.Release();
            }
        }
    }

    /// <summary>
    /// Commits one batch: takes everything queued into one transaction, inserting it at once, and —
    /// under load (the last batch held several writes) — goes on taking and inserting the writes
    /// that arrive until as many writes as last time are in, or <see cref="JournalSettings.CommitDelay"/>
    /// was spent waiting. The writers just acknowledged queue their next write meanwhile, so their
    /// writes join this batch, and are inserted while the others are still being produced,
    /// instead of starting a train of small batches. A lone writer never waits.
    /// </summary>
    private async Task CommitAsync(List<PendingWrite> batch, int expectedWrites)
    {
        var created = _clock.GetUtcNow().UtcTicks;
        IReadOnlyList<PendingWrite> live = batch;

        // The keys this transaction looked up or inserted: remembered only once it committed, as
        // a rollback takes back the keys it inserted (and SQLite may hand them to other ids).
        var resolved = new Dictionary<string, long>(StringComparer.Ordinal);
        try
        {
            var committed = await _store.RunWriteAsync(
                async connection =>
                {
                    await using var tx = await _store.BeginWriteTransactionAsync(connection, CancellationToken.None).ConfigureAwait(false);
                    var events = 0;
                    var waitBudget = expectedWrites > 1 ? _settings.CommitDelay : TimeSpan.Zero;
                    while (true)
                    {
                        var inserted = batch.Count;
                        events += Take(batch, events);
                        if (batch.Count > inserted)
                        {
                            await InsertAsync(connection, tx, batch, inserted, created, resolved).ConfigureAwait(false);
                        }

                        if (events >= _settings.MaxBatchEvents || batch.Count >= expectedWrites || waitBudget <= TimeSpan.Zero)
                        {
                            break;
                        }

                        waitBudget -= await WaitForWritesAsync(expectedWrites - batch.Count, expectedWrites, waitBudget).ConfigureAwait(false);
                    }

                    return await CommitUnlessConflictedAsync(tx, batch).ConfigureAwait(false);
                },
                CancellationToken.None).ConfigureAwait(false);

            // A conflict rolled the batch back: fail only the writers that lost their sequence
            // numbers and commit the others again (as they are, taking no more writes).
            while (!committed)
            {
                var rest = new List<PendingWrite>(live.Count);
                foreach (var pending in live)
                {
                    if (pending.ConflictingSequenceNr != 0)
                    {
                        pending.Completion.TrySetException(new ConcurrencyException(pending.PersistenceId, pending.ConflictingSequenceNr));
                    }
                    else
                    {
                        rest.Add(pending);
                    }
                }

                live = rest;
                if (rest.Count == 0)
                {
                    return;
                }

                resolved = new Dictionary<string, long>(StringComparer.Ordinal);
                var attempt = resolved;
                committed = await _store.RunWriteAsync(
                    async connection =>
                    {
                        await using var tx = await _store.BeginWriteTransactionAsync(connection, CancellationToken.None).ConfigureAwait(false);
                        await InsertAsync(connection, tx, rest, 0, created, attempt).ConfigureAwait(false);
                        return await CommitUnlessConflictedAsync(tx, rest).ConfigureAwait(false);
                    },
                    CancellationToken.None).ConfigureAwait(false);
            }

            Interlocked.Increment(ref _batchesCommitted);
            RememberKeys(resolved);
            foreach (var pending in live)
            {
                pending.Completion.TrySetResult();
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

    /// <summary>
    /// Sets the persistence key of <paramref name="writes"/> from <paramref name="start"/> on —
    /// from the cache of committed keys, else looked up or inserted in <paramref name="tx"/> and
    /// noted in <paramref name="resolved"/> — and inserts their events.
    /// </summary>
    private async Task InsertAsync(DbConnection connection, DbTransaction tx, List<PendingWrite> writes, int start, long created, Dictionary<string, long> resolved)
    {
        HashSet<string>? unknown = null;
        for (var w = start; w < writes.Count; w++)
        {
            var id = writes[w].PersistenceId;
            if (!_keys.ContainsKey(id) && !resolved.ContainsKey(id))
            {
                (unknown ??= new HashSet<string>(StringComparer.Ordinal)).Add(id);
            }
        }

        if (unknown is not null)
        {
            var keys = await _store.ResolvePersistenceKeysAsync(connection, tx, [.. unknown], CancellationToken.None).ConfigureAwait(false);
            foreach (var id in unknown)
            {
                resolved[id] = keys[id];
            }
        }

        for (var w = start; w < writes.Count; w++)
        {
            var write = writes[w];
            write.PersistenceKey = _keys.TryGetValue(write.PersistenceId, out var key) ? key : resolved[write.PersistenceId];
        }

        await _store.InsertEventsAsync(connection, tx, writes, start, created, CancellationToken.None).ConfigureAwait(false);
    }

    private void RememberKeys(Dictionary<string, long> resolved)
    {
        if (_keys.Count + resolved.Count > MaxCachedKeys)
        {
            _keys.Clear();
        }

        foreach (var (id, key) in resolved)
        {
            _keys[id] = key;
        }
    }

    private static async Task<bool> CommitUnlessConflictedAsync(DbTransaction tx, List<PendingWrite> batch)
    {
        foreach (var pending in batch)
        {
            if (pending.ConflictingSequenceNr != 0)
            {
                await tx.RollbackAsync(CancellationToken.None).ConfigureAwait(false);
                return false;
            }
        }

        await tx.CommitAsync(CancellationToken.None).ConfigureAwait(false);
        return true;
    }

    /// <summary>Moves queued writes into <paramref name="batch"/> until it holds the most events a batch takes; returns the events taken.</summary>
    private int Take(List<PendingWrite> batch, int events)
    {
        var taken = 0;
        var writes = 0;
        while (events + taken < _settings.MaxBatchEvents && _queue.Reader.TryRead(out var pending))
        {
            batch.Add(pending);
            taken += pending.Events.Length;
            writes++;
        }

        Interlocked.Add(ref _queued, -writes);
        return taken;
    }

    /// <summary>
    /// Waits until <paramref name="missing"/> writes are queued — or a share of them, so that the
    /// first ones are inserted while the rest are produced — or <paramref name="budget"/> passed.
    /// Returns the time waited.
    /// </summary>
    private async ValueTask<TimeSpan> WaitForWritesAsync(int missing, int expectedWrites, TimeSpan budget)
    {
        var wakeAt = Math.Min(missing, Math.Max(1, expectedWrites / WakeShare));
        var arrival = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        Volatile.Write(ref _arrival, arrival);
        Interlocked.Exchange(ref _wakeAt, wakeAt);
        var started = Stopwatch.GetTimestamp();
        if (Volatile.Read(ref _queued) < wakeAt)
        {
            var timeout = Task.Delay(TimeSpan.FromMilliseconds(Math.Max(1, Math.Ceiling(budget.TotalMilliseconds))));
            await Task.WhenAny(arrival.Task, timeout).ConfigureAwait(false);
        }

        Interlocked.Exchange(ref _wakeAt, int.MaxValue);
        var waited = Stopwatch.GetElapsedTime(started);
        return arrival.Task.IsCompleted ? waited : budget;
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
