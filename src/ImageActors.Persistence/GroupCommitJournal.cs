using System.Collections.Concurrent;
using System.Collections.Immutable;
using System.Data.Common;
using Akka.Actor;
using Akka.Configuration;
using Akka.Persistence;
using Akka.Persistence.Journal;
using ImageActors.Persistence.Database;

namespace ImageActors.Persistence;

/// <summary>
/// An Akka.Persistence journal on SQLite or PostgreSQL that writes with group commit (the writes
/// of many actors in one transaction, batches growing with the load) into the tables of
/// Akka.Persistence.Sql's default schema, rows as the stock plugin writes them: the stock journal
/// recovers from them and <c>SqlReadJournal</c> queries them. Configured by a plugin block with
/// <c>provider</c> (sqlite | postgresql), <c>connection-string</c>, and optionally
/// <c>synchronous</c> (normal | full, SQLite), <c>max-batch-events</c>, <c>queue-capacity</c>,
/// <c>read-connections</c>; <see cref="SqlPersistenceConfig.Create"/> writes one.
/// </summary>
public sealed class GroupCommitJournal : AsyncWriteJournal
{
    private readonly SqlDatabase _database;
    private readonly GroupCommitWriter _writer;
    private readonly Akka.Serialization.Serialization _serialization;
    private readonly ConcurrentDictionary<string, Task> _writesInProgress = new(StringComparer.Ordinal);

    /// <summary>Creates the journal from its plugin block; Akka calls this.</summary>
    public GroupCommitJournal(Config config)
    {
        ArgumentNullException.ThrowIfNull(config);
        var settings = PluginSettings.From(config, "the journal plugin");
        _serialization = Context.System.Serialization;
        _database = SqlDatabase.Acquire(settings);
        // Like the stock plugin, rows carry the uuid of the journal that wrote them.
        _writer = new GroupCommitWriter(_database, Guid.NewGuid().ToString("N"), settings.MaxBatchEvents, settings.QueueCapacity);
    }

    /// <summary>
    /// Write requests skip <see cref="AsyncWriteJournal"/>'s path (a task, a circuit-breaker call
    /// with its timer and a trip through its resequencing actor per request and per event): each
    /// request is serialized here and queued, and the writer answers it when its batch is done,
    /// in the order the requests came, as <see cref="AsyncWriteJournal"/> answers. Everything
    /// else (replays, deletes, health checks) goes the usual way.
    /// </summary>
    protected override bool AroundReceive(Receive receive, object message)
    {
        if (message is WriteMessages request)
        {
            Write(request);
            return true;
        }

        return base.AroundReceive(receive, message);
    }

    /// <inheritdoc />
    protected override async Task<IImmutableList<Exception?>> WriteMessagesAsync(IEnumerable<AtomicWrite> messages, CancellationToken cancellationToken)
    {
        // Only reached by a caller other than the journal protocol: the same queue, awaited.
        var writes = messages as IReadOnlyList<AtomicWrite> ?? [.. messages];
        var write = Prepare(writes, request: null);
        _writer.Enqueue(write);
        await write.Completion.ConfigureAwait(false);
        return write.Rejections.Any(r => r is not null) ? ImmutableList.Create(write.Rejections) : null!;
    }

    /// <inheritdoc />
    public override async Task ReplayMessagesAsync(IActorContext context, string persistenceId, long fromSequenceNr, long toSequenceNr, long max, Action<IPersistentRepresentation> recoveryCallback)
    {
        if (max <= 0 || toSequenceNr < fromSequenceNr)
        {
            return;
        }

        // Read whole, then replayed: a read that fails can be run again on a new connection (after the database
        // restarted) without replaying an event twice. An entity's events since its last snapshot are few.
        var events = await _database.ReadAsync(async connection =>
        {
            await using var command = SqlDatabase.Command(connection, null,
                "SELECT sequence_number, created, deleted, message, manifest, identifier, writer_uuid FROM journal " +
                "WHERE persistence_id = @pid AND sequence_number >= @from AND sequence_number <= @to AND deleted = FALSE ORDER BY sequence_number LIMIT @max",
                ("@pid", persistenceId), ("@from", fromSequenceNr), ("@to", toSequenceNr), ("@max", max));
            await using var reader = await command.ExecuteReaderAsync().ConfigureAwait(false);
            var read = new List<IPersistentRepresentation>();
            while (await reader.ReadAsync().ConfigureAwait(false))
            {
                read.Add(ReadEvent(reader, persistenceId));
            }

            return read;
        }).ConfigureAwait(false);
        foreach (var e in events)
        {
            recoveryCallback(e);
        }
    }

    /// <inheritdoc />
    public override async Task<long> ReadHighestSequenceNrAsync(string persistenceId, long fromSequenceNr, CancellationToken cancellationToken)
    {
        await WriteFinishedAsync(persistenceId).ConfigureAwait(false);
        return await _database.ReadAsync(async connection =>
        {
            // The highest row stays (marked deleted) when messages are deleted, so this never goes back.
            await using var command = SqlDatabase.Command(connection, null, "SELECT MAX(sequence_number) FROM journal WHERE persistence_id = @pid", ("@pid", persistenceId));
            var highest = await command.ExecuteScalarAsync().ConfigureAwait(false);
            return highest is null or DBNull ? 0L : Convert.ToInt64(highest, System.Globalization.CultureInfo.InvariantCulture);
        }).ConfigureAwait(false);
    }

    /// <inheritdoc />
    protected override async Task DeleteMessagesToAsync(string persistenceId, long toSequenceNr, CancellationToken cancellationToken)
    {
        await WriteFinishedAsync(persistenceId).ConfigureAwait(false);
        await _database.Ready.ConfigureAwait(false);
        await _database.WriteAsync(async connection =>
        {
            await using var tx = await _database.BeginWriteAsync(connection).ConfigureAwait(false);
            // As the stock plugin: mark the rows, then remove all but the highest marked one.
            string[] statements =
            [
                "UPDATE journal SET deleted = TRUE WHERE persistence_id = @pid AND sequence_number <= @to",
                "DELETE FROM journal WHERE persistence_id = @pid AND sequence_number <= @to AND sequence_number < " +
                "(SELECT MAX(sequence_number) FROM journal WHERE persistence_id = @pid AND deleted = TRUE)",
                "DELETE FROM tags WHERE persistence_id = @pid AND sequence_nr <= @to",
            ];
            foreach (var sql in statements)
            {
                await using var command = SqlDatabase.Command(connection, tx, sql, ("@pid", persistenceId), ("@to", toSequenceNr));
                await command.ExecuteNonQueryAsync().ConfigureAwait(false);
            }

            await tx.CommitAsync().ConfigureAwait(false);
            return true;
        }).ConfigureAwait(false);
    }

    /// <inheritdoc />
    protected override void PostStop()
    {
        base.PostStop();
        _ = StopAsync();
    }

    private async Task StopAsync()
    {
        await _writer.DisposeAsync().ConfigureAwait(false);
        await SqlDatabase.ReleaseAsync(_database).ConfigureAwait(false);
    }

    private async Task WriteFinishedAsync(string persistenceId)
    {
        if (_writesInProgress.TryGetValue(persistenceId, out var write))
        {
            try
            {
                await write.ConfigureAwait(false);
            }
            catch (Exception)
            {
                // Only its end matters here; its writer was told how it went.
            }
        }
    }

    private void Write(WriteMessages request)
    {
        JournalWrite write;
        try
        {
            // Event adapters applied and senders cleared, as AsyncWriteJournal prepares a batch.
            write = Prepare([.. PreparePersistentBatch(request.Messages)], request);
        }
        catch (Exception e)
        {
            // As AsyncWriteJournal: a batch that cannot be prepared rejects every atomic write.
            var atomicWrites = request.Messages.Count(m => m is AtomicWrite);
            write = new JournalWrite(string.Empty, [], [.. Enumerable.Repeat(e, atomicWrites)], request, Self, _writesInProgress);
        }

        _writer.Enqueue(write);
    }

    /// <summary>Serializes the events of <paramref name="writes"/>; an atomic write that does not serialize is rejected alone.</summary>
    private JournalWrite Prepare(IReadOnlyList<AtomicWrite> writes, WriteMessages? request)
    {
        var rejections = new Exception?[writes.Count];
        var events = new List<SerializedEvent>();
        var now = DateTime.UtcNow.Ticks;
        for (var i = 0; i < writes.Count; i++)
        {
            var start = events.Count;
            try
            {
                foreach (var representation in (IImmutableList<IPersistentRepresentation>)writes[i].Payload)
                {
                    events.Add(Serialize(representation, now));
                }
            }
            catch (Exception e)
            {
                // A payload that cannot be serialized rejects its atomic write only; the actor goes on.
                events.RemoveRange(start, events.Count - start);
                rejections[i] = e;
            }
        }

        var write = new JournalWrite(writes.Count > 0 ? writes[0].PersistenceId : string.Empty, [.. events], rejections, request, Self, _writesInProgress);
        if (write.Events.Length > 0)
        {
            // A highest-sequence-number read of this id waits for it (see WriteFinishedAsync).
            _writesInProgress[write.PersistenceId] = write.Completion;
        }

        return write;
    }

    private SerializedEvent Serialize(IPersistentRepresentation representation, long now)
    {
        var payload = representation.Payload;
        string[] tags = [];
        if (payload is Tagged tagged)
        {
            payload = tagged.Payload;
            tags = [.. tagged.Tags];
        }

        var (bytes, manifest, identifier) = PayloadSerialization.Serialize(_serialization, payload);
        return new SerializedEvent(representation.SequenceNr, representation.Timestamp == 0 ? now : representation.Timestamp, bytes, manifest, identifier, tags);
    }

    private Persistent ReadEvent(DbDataReader reader, string persistenceId)
    {
        var manifest = reader.IsDBNull(4) ? string.Empty : reader.GetString(4);
        int? identifier = reader.IsDBNull(5) ? null : reader.GetInt32(5);
        var payload = PayloadSerialization.Deserialize(_serialization, (byte[])reader.GetValue(3), identifier, manifest);
        return new Persistent(
            payload,
            reader.GetInt64(0),
            persistenceId,
            manifest,
            reader.GetBoolean(2),
            ActorRefs.NoSender,
            reader.IsDBNull(6) ? null : reader.GetString(6),
            reader.GetInt64(1));
    }
}
