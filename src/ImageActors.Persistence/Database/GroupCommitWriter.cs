using System.Diagnostics;
using System.Threading.Channels;

namespace ImageActors.Persistence.Database;

/// <summary>
/// Group commit: write requests from every actor go into one bounded queue and one loop commits
/// everything queued as one transaction. While a batch commits the queue fills again, so batches
/// grow with the load. Requests are completed in the order they were queued (a full queue keeps
/// the ones that come after it in order until there is room). A request whose sequence number is
/// taken fails alone with <see cref="JournalConflictException"/> (the batch is rolled back and
/// committed again without it); a database error fails every request of the batch.
/// </summary>
internal sealed class GroupCommitWriter : IAsyncDisposable
{
    private readonly SqlDatabase _database;
    private readonly string _writerUuid;
    private readonly int _maxBatchEvents;
    private readonly Channel<PendingWrite> _queue;
    private readonly Queue<PendingWrite> _waiting = new();
    private readonly Task _loop;
    private bool _moving;

    public GroupCommitWriter(SqlDatabase database, string writerUuid, int maxBatchEvents, int queueCapacity)
    {
        _database = database;
        _writerUuid = writerUuid;
        _maxBatchEvents = maxBatchEvents;
        _queue = Channel.CreateBounded<PendingWrite>(new BoundedChannelOptions(queueCapacity)
        {
            SingleReader = true,
            FullMode = BoundedChannelFullMode.Wait,
        });
        _loop = Task.Run(RunAsync);
    }

    /// <summary>
    /// Queues <paramref name="write"/> without waiting; the writer completes it
    /// (<see cref="PendingWrite.Complete"/>) once it committed or failed, after every write queued before it.
    /// </summary>
    public void Enqueue(PendingWrite write)
    {
        lock (_waiting)
        {
            if (!_moving && _queue.Writer.TryWrite(write))
            {
                return;
            }

            // The queue is full (or closed): this write and every later one wait their turn here.
            _waiting.Enqueue(write);
            if (_moving)
            {
                return;
            }

            _moving = true;
        }

        _ = MoveWaitingAsync();
    }

    /// <summary>Takes no more writes, commits what is queued and stops.</summary>
    public async ValueTask DisposeAsync()
    {
        _queue.Writer.TryComplete();
        await _loop.ConfigureAwait(false);
    }

    /// <summary>Moves the writes that found the queue full into it, in order, as room appears.</summary>
    private async Task MoveWaitingAsync()
    {
        while (true)
        {
            PendingWrite write;
            lock (_waiting)
            {
                if (!_waiting.TryDequeue(out write!))
                {
                    _moving = false;
                    return;
                }
            }

            try
            {
                await _queue.Writer.WriteAsync(write).ConfigureAwait(false);
            }
            catch (ChannelClosedException e)
            {
                write.Complete(new ObjectDisposedException("The journal is stopping.", e));
            }
        }
    }

    private async Task RunAsync()
    {
        var batch = new List<PendingWrite>();
        while (await _queue.Reader.WaitToReadAsync().ConfigureAwait(false))
        {
            batch.Clear();
            var events = 0;
            while (events < _maxBatchEvents && _queue.Reader.TryRead(out var write))
            {
                batch.Add(write);
                events += write.Events.Length;
            }

            await CommitAsync(batch).ConfigureAwait(false);
        }
    }

    private async Task CommitAsync(List<PendingWrite> batch)
    {
        var failures = new Exception?[batch.Count];
        var live = new List<PendingWrite>(batch.Count);
        foreach (var write in batch)
        {
            if (write.Events.Length > 0)
            {
                live.Add(write);
            }
        }

        var started = Stopwatch.GetTimestamp();
        try
        {
            if (live.Count > 0)
            {
                await _database.Ready.ConfigureAwait(false);
            }

            var findConflicts = false;
            var reconnected = false;
            while (true)
            {
                bool committed;
                var attempt = new CommitAttempt();
                try
                {
                    committed = await TryCommitAsync(live, findConflicts, attempt).ConfigureAwait(false);
                }
                catch (DuplicateRowException) when (!findConflicts)
                {
                    // The cheap insert hit a taken sequence number: again, finding whose it was.
                    findConflicts = true;
                    continue;
                }
                catch (Exception e) when (!reconnected && !attempt.Committing && SqlDatabase.IsConnectionLost(e))
                {
                    // The connection was dead before the commit was sent (the database restarted since it was last
                    // used): nothing of the batch was committed, so it is written again once, on a new connection.
                    reconnected = true;
                    continue;
                }

                if (committed)
                {
                    break;
                }

                // A conflict rolled the batch back: the writes that lost their sequence numbers
                // fail, the others are committed again.
                live.RemoveAll(write => write.ConflictingSequenceNr != 0);
            }

            var events = 0;
            foreach (var write in live)
            {
                events += write.Events.Length;
            }

            if (live.Count > 0)
            {
                JournalMetrics.Committed(live.Count, events);
            }

            for (var i = 0; i < batch.Count; i++)
            {
                if (batch[i].ConflictingSequenceNr != 0)
                {
                    failures[i] = new JournalConflictException(batch[i].PersistenceId, batch[i].ConflictingSequenceNr);
                }
            }
        }
        catch (Exception e)
        {
            for (var i = 0; i < batch.Count; i++)
            {
                failures[i] = batch[i].ConflictingSequenceNr != 0 ? new JournalConflictException(batch[i].PersistenceId, batch[i].ConflictingSequenceNr)
                    : batch[i].Events.Length > 0 ? e
                    : null;
            }
        }

        JournalMetrics.Busy(Stopwatch.GetTimestamp() - started);

        // In queue order, so that each actor hears about its writes in the order it made them.
        for (var i = 0; i < batch.Count; i++)
        {
            batch[i].Complete(failures[i]);
        }
    }

    private Task<bool> TryCommitAsync(IReadOnlyList<PendingWrite> writes, bool findConflicts, CommitAttempt attempt)
    {
        if (writes.Count == 0)
        {
            return Task.FromResult(true);
        }

        return _database.WriteAsync(async connection =>
        {
            await using var tx = await _database.BeginWriteAsync(connection).ConfigureAwait(false);
            await _database.InsertAsync(connection, tx, writes, _writerUuid, findConflicts).ConfigureAwait(false);
            foreach (var write in writes)
            {
                if (write.ConflictingSequenceNr != 0)
                {
                    await tx.RollbackAsync().ConfigureAwait(false);
                    return false;
                }
            }

            attempt.Committing = true;
            await tx.CommitAsync().ConfigureAwait(false);
            return true;
        });
    }

    /// <summary>Whether a commit was sent: past it, a lost connection leaves the outcome unknown and nothing is retried.</summary>
    private sealed class CommitAttempt
    {
        public bool Committing { get; set; }
    }
}
