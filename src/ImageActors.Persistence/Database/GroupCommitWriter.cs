using System.Diagnostics;
using System.Threading.Channels;

namespace ImageActors.Persistence.Database;

/// <summary>
/// Group commit: write requests from every actor go into one bounded queue (a full queue makes
/// writers wait) and one loop commits everything queued as one transaction. While a batch commits
/// the queue fills again, so batches grow with the load. A request whose sequence number is taken
/// fails alone with <see cref="JournalConflictException"/> (the batch is rolled back and committed
/// again without it); a database error fails every request of the batch.
/// </summary>
internal sealed class GroupCommitWriter : IAsyncDisposable
{
    private readonly SqlDatabase _database;
    private readonly string _writerUuid;
    private readonly int _maxBatchEvents;
    private readonly Channel<PendingWrite> _queue;
    private readonly Task _loop;

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

    /// <summary>Queues <paramref name="write"/>; completes when it committed, or fails with why it did not.</summary>
    public async Task WriteAsync(PendingWrite write)
    {
        try
        {
            if (!_queue.Writer.TryWrite(write))
            {
                await _queue.Writer.WriteAsync(write).ConfigureAwait(false);
            }
        }
        catch (ChannelClosedException e)
        {
            throw new ObjectDisposedException("The journal is stopping.", e);
        }

        await write.Completion.Task.ConfigureAwait(false);
    }

    /// <summary>Takes no more writes, commits what is queued and stops.</summary>
    public async ValueTask DisposeAsync()
    {
        _queue.Writer.TryComplete();
        await _loop.ConfigureAwait(false);
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
        IReadOnlyList<PendingWrite> live = batch;
        var started = Stopwatch.GetTimestamp();
        try
        {
            await _database.Ready.ConfigureAwait(false);
            while (!await TryCommitAsync(live).ConfigureAwait(false))
            {
                // A conflict rolled the batch back: fail the writes that lost their sequence
                // numbers, commit the others again.
                var rest = new List<PendingWrite>(live.Count);
                foreach (var write in live)
                {
                    if (write.ConflictingSequenceNr != 0)
                    {
                        write.Completion.TrySetException(new JournalConflictException(write.PersistenceId, write.ConflictingSequenceNr));
                    }
                    else
                    {
                        rest.Add(write);
                    }
                }

                live = rest;
            }

            JournalMetrics.Busy(Stopwatch.GetTimestamp() - started);
            if (live.Count > 0)
            {
                var events = 0;
                foreach (var write in live)
                {
                    events += write.Events.Length;
                }

                JournalMetrics.Committed(live.Count, events);
            }

            foreach (var write in live)
            {
                write.Completion.TrySetResult();
            }
        }
        catch (Exception e)
        {
            JournalMetrics.Busy(Stopwatch.GetTimestamp() - started);
            foreach (var write in live)
            {
                write.Completion.TrySetException(e);
            }
        }
    }

    private Task<bool> TryCommitAsync(IReadOnlyList<PendingWrite> writes)
    {
        if (writes.Count == 0)
        {
            return Task.FromResult(true);
        }

        return _database.WriteAsync(async connection =>
        {
            await using var tx = await _database.BeginWriteAsync(connection).ConfigureAwait(false);
            await _database.InsertAsync(connection, tx, writes, _writerUuid).ConfigureAwait(false);
            foreach (var write in writes)
            {
                if (write.ConflictingSequenceNr != 0)
                {
                    await tx.RollbackAsync().ConfigureAwait(false);
                    return false;
                }
            }

            await tx.CommitAsync().ConfigureAwait(false);
            return true;
        });
    }
}
