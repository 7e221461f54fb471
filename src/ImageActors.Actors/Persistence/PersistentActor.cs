namespace ImageActors.Actors.Persistence;

/// <summary>
/// An actor whose state is the fold of its events. Commands are handled by the handlers declared
/// with <c>Command&lt;T&gt;</c>; they call <see cref="Persist{TEvent}"/> to write events, and the
/// state changes in the handler passed to it, after the journal acknowledged the write.
/// </summary>
/// <remarks>
/// Semantics (as in Akka.Persistence): while a <c>Persist</c> is in flight the mailbox is
/// suspended, so later commands wait, in order; <c>PersistAll</c> is one atomic write; a write
/// that fails stops the actor after <see cref="OnPersistFailure"/> (a <see cref="Supervision.BackoffSupervisor"/>
/// parent restarts it); an event the journal rejects calls <see cref="OnPersistRejected"/> and the
/// actor goes on; a <see cref="ConcurrencyException"/> is a failure. Recovery replays the latest
/// snapshot and the later events before any command is handled, under a system-wide limit of
/// concurrent recoveries. No thread is blocked while the journal works.
/// </remarks>
public abstract partial class PersistentActor : ActorBase
{
    private readonly HandlerTable _commands = new();
    private readonly HandlerTable _recovery = new();
    private readonly Queue<PendingBatch> _awaitingHandlers = new();
    private List<PendingBatch>? _pending;
    private Task _writeTail = Task.CompletedTask;
    private long _writtenSequenceNr;
    private volatile bool _writesStopped;
    private bool _recovering = true;

    /// <summary>The stable identity of this actor's event stream.</summary>
    public abstract string PersistenceId { get; }

    /// <summary>The sequence number of the last event recovered or persisted.</summary>
    public long LastSequenceNr { get; private set; }

    /// <summary>True until recovery finished.</summary>
    public bool IsRecovering => _recovering;

    /// <summary>Identifies this incarnation in the events it writes.</summary>
    public string WriterUuid { get; } = Guid.NewGuid().ToString("N");

    /// <summary>What recovery reads; override to skip snapshots or stop early.</summary>
    protected virtual Recovery Recovery => Recovery.Default;

    /// <summary>The journal in use.</summary>
    protected IJournal Journal => Context.System.Persistence.Journal;

    /// <summary>The snapshot store in use.</summary>
    protected ISnapshotStore SnapshotStore => Context.System.Persistence.SnapshotStore;

    /// <summary>Handles commands of type <typeparamref name="T"/>.</summary>
    protected void Command<T>(Action<T> handler) => _commands.Add(new SyncHandler<T>(handler ?? throw new ArgumentNullException(nameof(handler)), null));

    /// <summary>Handles commands of type <typeparamref name="T"/> that satisfy <paramref name="predicate"/>.</summary>
    protected void Command<T>(Predicate<T> predicate, Action<T> handler) =>
        _commands.Add(new SyncHandler<T>(handler ?? throw new ArgumentNullException(nameof(handler)), predicate ?? throw new ArgumentNullException(nameof(predicate))));

    /// <summary>Handles commands of type <typeparamref name="T"/> asynchronously; the mailbox waits for the task.</summary>
    protected void CommandAsync<T>(Func<T, Task> handler, Predicate<T>? predicate = null) =>
        _commands.Add(new AsyncHandler<T>(handler ?? throw new ArgumentNullException(nameof(handler)), predicate));

    /// <summary>Handles any command the earlier handlers did not take.</summary>
    protected void CommandAny(Action<object> handler) => _commands.Add(new SyncHandler<object>(handler ?? throw new ArgumentNullException(nameof(handler)), null));

    /// <summary>Applies replayed events (and <see cref="SnapshotOffer"/>, <see cref="RecoveryCompleted"/>) of type <typeparamref name="T"/>.</summary>
    protected void Recover<T>(Action<T> handler) => _recovery.Add(new SyncHandler<T>(handler ?? throw new ArgumentNullException(nameof(handler)), null));

    /// <summary>
    /// Writes <paramref name="event"/> after the current command; <paramref name="handler"/> runs once
    /// the journal acknowledged it. Commands arriving meanwhile wait.
    /// </summary>
    protected void Persist<TEvent>(TEvent @event, Action<TEvent> handler) where TEvent : notnull =>
        Enqueue([@event], handler, stashing: true);

    /// <summary>Writes all <paramref name="events"/> in one atomic write; <paramref name="handler"/> runs for each, in order.</summary>
    protected void PersistAll<TEvent>(IEnumerable<TEvent> events, Action<TEvent> handler) where TEvent : notnull =>
        Enqueue(Materialize(events), handler, stashing: true);

    /// <summary>Like <see cref="Persist{TEvent}"/> but without holding back later commands.</summary>
    protected void PersistAsync<TEvent>(TEvent @event, Action<TEvent> handler) where TEvent : notnull =>
        Enqueue([@event], handler, stashing: false);

    /// <summary>Like <see cref="PersistAll{TEvent}"/> but without holding back later commands.</summary>
    protected void PersistAllAsync<TEvent>(IEnumerable<TEvent> events, Action<TEvent> handler) where TEvent : notnull =>
        Enqueue(Materialize(events), handler, stashing: false);

    /// <summary>
    /// Runs <paramref name="handler"/> after the handlers of every earlier persist call, without
    /// writing anything. It holds back later commands only when it follows a <c>Persist</c> that does.
    /// </summary>
    protected void DeferAsync<T>(T @event, Action<T> handler) where T : notnull
    {
        ArgumentNullException.ThrowIfNull(handler);
        (_pending ??= []).Add(new PendingBatch([@event], e => handler((T)e), stashing: false, deferred: true, Context.Sender));
    }

    private static object[] Materialize<TEvent>(IEnumerable<TEvent> events) where TEvent : notnull
    {
        ArgumentNullException.ThrowIfNull(events);
        var list = new List<object>();
        foreach (var e in events)
        {
            list.Add(e);
        }

        return [.. list];
    }

    private void Enqueue<TEvent>(object[] events, Action<TEvent> handler, bool stashing)
    {
        ArgumentNullException.ThrowIfNull(handler);
        if (_recovering)
        {
            throw new InvalidOperationException($"{PersistenceId} cannot persist while recovering.");
        }

        if (events.Length == 0)
        {
            return;
        }

        (_pending ??= []).Add(new PendingBatch(events, e => handler((TEvent)e), stashing, deferred: false, Context.Sender));
    }

    /// <summary>Tags stored with <paramref name="event"/> (used by queries across persistence ids). None by default.</summary>
    protected virtual IReadOnlyList<string> TagsFor(object @event) => [];

    /// <summary>
    /// Called when a write failed, with <see cref="ActorBase.Sender"/> the sender of the command that persisted the event
    /// (so that it can be told, instead of waiting out its ask); the actor then stops.
    /// </summary>
    protected virtual void OnPersistFailure(Exception cause, object @event, long sequenceNr) =>
        Context.System.EventStream.Publish(new ActorError(Context.Self.Path, cause, $"Failed to persist event #{sequenceNr} ({@event.GetType().Name}); stopping."));

    /// <summary>Called when the journal rejected an event, with <see cref="ActorBase.Sender"/> the command's sender; nothing was written and the actor goes on.</summary>
    protected virtual void OnPersistRejected(Exception cause, object @event, long sequenceNr) =>
        Context.System.EventStream.Publish(new ActorError(Context.Self.Path, cause, $"The journal rejected event #{sequenceNr} ({@event.GetType().Name})."));

    /// <summary>Called when recovery failed; the actor then stops.</summary>
    protected virtual void OnRecoveryFailure(Exception cause, object? @event) =>
        Context.System.EventStream.Publish(new ActorError(Context.Self.Path, cause, "Recovery failed; stopping."));

    /// <summary>Saves <paramref name="snapshot"/> as the state at <see cref="LastSequenceNr"/>; replies <see cref="SaveSnapshotSuccess"/> or <see cref="SaveSnapshotFailure"/> to the actor.</summary>
    protected void SaveSnapshot(object snapshot)
    {
        ArgumentNullException.ThrowIfNull(snapshot);
        var metadata = new SnapshotMetadata(PersistenceId, LastSequenceNr, Context.System.Settings.Clock.GetUtcNow());
        var self = Self;
        var store = SnapshotStore;
        _ = SaveAsync();

        async Task SaveAsync()
        {
            try
            {
                await store.SaveAsync(metadata, snapshot).ConfigureAwait(false);
                self.Tell(new SaveSnapshotSuccess(metadata), self);
            }
            catch (Exception ex)
            {
                self.Tell(new SaveSnapshotFailure(metadata, ex), self);
            }
        }
    }

    /// <summary>Deletes events up to <paramref name="toSequenceNr"/>; replies <see cref="DeleteMessagesSuccess"/> or <see cref="DeleteMessagesFailure"/>.</summary>
    protected void DeleteMessages(long toSequenceNr)
    {
        var self = Self;
        var journal = Journal;
        var id = PersistenceId;
        var previous = _writeTail;
        _writeTail = DeleteAsync();

        // Chained after the writes so a delete never overtakes an event persisted before it.
        async Task DeleteAsync()
        {
            await previous.ConfigureAwait(false);
            try
            {
                await journal.DeleteMessagesToAsync(id, toSequenceNr).ConfigureAwait(false);
                self.Tell(new DeleteMessagesSuccess(toSequenceNr), self);
            }
            catch (Exception ex)
            {
                self.Tell(new DeleteMessagesFailure(toSequenceNr, ex), self);
            }
        }
    }

    /// <summary>Deletes the snapshots matching <paramref name="criteria"/>; replies <see cref="DeleteSnapshotsSuccess"/> or <see cref="DeleteSnapshotsFailure"/>.</summary>
    protected void DeleteSnapshots(SnapshotSelectionCriteria criteria)
    {
        ArgumentNullException.ThrowIfNull(criteria);
        var self = Self;
        var store = SnapshotStore;
        var id = PersistenceId;
        _ = DeleteAsync();

        async Task DeleteAsync()
        {
            try
            {
                await store.DeleteAsync(id, criteria).ConfigureAwait(false);
                self.Tell(new DeleteSnapshotsSuccess(criteria), self);
            }
            catch (Exception ex)
            {
                self.Tell(new DeleteSnapshotsFailure(criteria, ex), self);
            }
        }
    }

    internal sealed override Task? InvokeReceive(object message)
    {
        if (message is AsyncBatchWritten written)
        {
            if (!ReferenceEquals(written.Owner, this))
            {
                return null;
            }

            Complete(written.Batch, written.Error);
            return Flush();
        }

        if (!_commands.TryInvoke(message, out var pending))
        {
            Unhandled(message);
        }

        if (pending is not null)
        {
            if (!pending.IsCompleted)
            {
                return AfterAsyncCommand(pending);
            }

            pending.GetAwaiter().GetResult();
        }

        return Flush();
    }

    private async Task AfterAsyncCommand(Task command)
    {
        await command.ConfigureAwait(false);
        var flush = Flush();
        if (flush is not null)
        {
            await flush.ConfigureAwait(false);
        }
    }

    internal sealed override void OnIncarnationEnd()
    {
        // Writes this instance queued but did not start must not race the next incarnation.
        _writesStopped = true;
        _pending = null;
        _awaitingHandlers.Clear();
    }

    /// <summary>Starts the writes queued by the last handler; returns the task the mailbox must wait for, if any.</summary>
    private Task? Flush()
    {
        StartPending();
        return _awaitingHandlers.Count > 0 ? DrainAsync() : null;
    }

    private void StartPending()
    {
        var batches = _pending;
        if (batches is null)
        {
            return;
        }

        _pending = null;
        var stashingAhead = _awaitingHandlers.Count > 0;
        foreach (var batch in batches)
        {
            var previous = _writeTail;
            var write = WriteAfterAsync(previous, batch);
            _writeTail = write;
            batch.Write = write;

            // A deferred handler behind a Persist runs right after it, before later commands.
            stashingAhead |= batch.Stashing;
            if (batch.Stashing || (batch.Deferred && stashingAhead))
            {
                _awaitingHandlers.Enqueue(batch);
            }
            else
            {
                var self = Self;
                write.ContinueWith(
                    static (t, state) =>
                    {
                        var (owner, b, target) = ((PersistentActor, PendingBatch, IActorRef))state!;
                        target.Tell(new AsyncBatchWritten(owner, b, t.Result), target);
                    },
                    (this, batch, self),
                    CancellationToken.None,
                    TaskContinuationOptions.ExecuteSynchronously,
                    TaskScheduler.Default);
            }
        }
    }

    private async Task DrainAsync()
    {
        while (_awaitingHandlers.TryDequeue(out var batch))
        {
            var error = await batch.Write!.ConfigureAwait(false);
            if (!Complete(batch, error))
            {
                return;
            }

            StartPending();
        }
    }

    /// <summary>Runs the handlers of a written batch, or the failure callbacks; false when the actor is stopping.</summary>
    private bool Complete(PendingBatch batch, Exception? error)
    {
        var cell = Cell;
        if (error is null)
        {
            for (var i = 0; i < batch.Events.Length; i++)
            {
                if (!batch.Deferred)
                {
                    LastSequenceNr = batch.FirstSequenceNr + i;
                }

                var handler = batch.Handler;
                var evt = batch.Events[i];
                cell.WithSender(batch.Sender, () => handler(evt));
            }

            return true;
        }

        if (error is EventRejectedException)
        {
            for (var i = 0; i < batch.Events.Length; i++)
            {
                var rejected = batch.Events[i];
                var sequenceNr = batch.FirstSequenceNr + i;
                cell.WithSender(batch.Sender, () => OnPersistRejected(error, rejected, sequenceNr));
            }

            return true;
        }

        for (var i = 0; i < batch.Events.Length; i++)
        {
            // As the event handler would have, the hook sees the command's sender: it can answer it.
            var evt = batch.Events[i];
            var sequenceNr = batch.FirstSequenceNr + i;
            cell.WithSender(batch.Sender, () => OnPersistFailure(error, evt, sequenceNr));
        }

        _writesStopped = true;
        _pending = null;
        _awaitingHandlers.Clear();
        Context.Stop(Self);
        return false;
    }

    /// <summary>One write in this actor's chain of writes; returns the error instead of throwing, so the chain goes on.</summary>
    private async Task<Exception?> WriteAfterAsync(Task previous, PendingBatch batch)
    {
        await previous.ConfigureAwait(false);
        batch.FirstSequenceNr = _writtenSequenceNr + 1;
        if (batch.Deferred)
        {
            return null;
        }

        if (_writesStopped)
        {
            return new InvalidOperationException($"{PersistenceId} stopped writing after an earlier failure.");
        }

        var events = new PersistentRepresentation[batch.Events.Length];
        for (var i = 0; i < events.Length; i++)
        {
            var payload = batch.Events[i];
            var tags = TagsFor(payload);
            if (payload is Tagged tagged)
            {
                payload = tagged.Payload;
                tags = tagged.Tags;
            }

            events[i] = new PersistentRepresentation(PersistenceId, batch.FirstSequenceNr + i, payload, WriterUuid, default, tags);
        }

        try
        {
            await Journal.WriteAsync(new AtomicWrite(PersistenceId, events)).ConfigureAwait(false);
            _writtenSequenceNr += events.Length;
            return null;
        }
        catch (Exception ex)
        {
            if (ex is not EventRejectedException)
            {
                _writesStopped = true;
            }

            return ex;
        }
    }

    /// <summary>Events queued by one Persist/PersistAll call.</summary>
    private sealed class PendingBatch(object[] events, Action<object> handler, bool stashing, bool deferred, IActorRef? sender)
    {
        public object[] Events { get; } = events;

        public Action<object> Handler { get; } = handler;

        public bool Stashing { get; } = stashing;

        public bool Deferred { get; } = deferred;

        public IActorRef? Sender { get; } = sender;

        public long FirstSequenceNr { get; set; }

        public Task<Exception?>? Write { get; set; }
    }

    private sealed record AsyncBatchWritten(PersistentActor Owner, PendingBatch Batch, Exception? Error);
}
