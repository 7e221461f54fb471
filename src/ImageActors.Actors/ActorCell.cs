using System.Runtime.InteropServices;
using System.Threading.Channels;
using ImageActors.Actors.Scheduling;

namespace ImageActors.Actors;

/// <summary>
/// The kernel's body of one actor: its mailbox, its scheduling on the thread pool, its lifecycle,
/// children and watches. It is also the actor's reference and context, so sending a message
/// allocates nothing beyond the (struct) envelope in the channel.
/// </summary>
internal sealed partial class ActorCell : IInternalActorRef, IActorContext, IThreadPoolWorkItem
{
    private const int Idle = 0;
    private const int Scheduled = 1;

    private readonly ChannelReader<Envelope> _reader;
    private readonly ChannelWriter<Envelope> _writer;
    private SystemMessage? _systemInbox;
    private readonly int _throughput;
    private readonly Action _onAwaitedCompleted;
    private readonly TaskCompletionSource _terminatedSignal = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private int _status;

    // Mailbox depth for metrics: senders count what they enqueued (one interlocked add, no lock, no allocation);
    // the single reader counts what it took with a plain write. The difference is the depth.
    private long _enqueued;
    private long _dequeued;

    // Everything below is only touched by the thread currently running the cell.
    private ActorBase? _actor;
    private readonly MessageSlot _slot = new();
    private Queue<Envelope>? _prepend;
    private Receive? _behavior;
    private Task? _awaiting;
    private bool _failed;
    private bool _terminating;
    private volatile bool _terminated;
    private TimerScheduler? _timers;
    private HashSet<IInternalActorRef>? _watchers;
    private HashSet<IInternalActorRef>? _watching;

    public ActorCell(ActorSystem system, ActorCell? parent, ActorPath path, Props props)
    {
        System = system;
        ParentCell = parent;
        Path = path;
        Props = props;
        _throughput = props.Mailbox.Throughput ?? system.Settings.Throughput;
        Channel<Envelope> channel = props.Mailbox.Capacity is int capacity
            ? Channel.CreateBounded<Envelope>(new BoundedChannelOptions(capacity) { SingleReader = true, FullMode = BoundedChannelFullMode.Wait })
            : Channel.CreateUnbounded<Envelope>(new UnboundedChannelOptions { SingleReader = true });
        _reader = channel.Reader;
        _writer = channel.Writer;
        _onAwaitedCompleted = OnAwaitedCompleted;
    }

    public ActorSystem System { get; }

    public ActorPath Path { get; }

    public Props Props { get; }

    public ActorCell? ParentCell { get; }

    public IActorRef? Parent => ParentCell;

    public IActorRef Self => this;

    public IActorRef Sender => _slot.Current.Sender ?? System.DeadLetters;

    internal IActorRef? CurrentSender => _slot.Current.Sender;

    internal object? CurrentMessage => _slot.Current.Message;

    internal ActorBase? Actor => _actor;

    internal bool IsTerminated => _terminated;

    /// <summary>Messages in the mailbox not yet taken by the actor (a moment's reading while senders race).</summary>
    internal long MailboxCount => Math.Max(0, Volatile.Read(ref _enqueued) - Volatile.Read(ref _dequeued));

    /// <summary>This actor's <see cref="MailboxCount"/> plus its descendants'.</summary>
    internal long MailboxCountWithDescendants()
    {
        long total = MailboxCount;
        foreach (var child in ChildrenSnapshot(includeDetached: true))
        {
            total += child.MailboxCountWithDescendants();
        }

        return total;
    }

    /// <summary>Completes when the actor stopped and its PostStop ran.</summary>
    internal Task WhenTerminated => _terminatedSignal.Task;

    public ITimerScheduler Timers => _timers ??= new TimerScheduler(this);

    /// <summary>Starts the actor: the Create system message runs its constructor and PreStart first.</summary>
    internal void Start() => SendSystem(new CreateActor());

    public void Tell(object message, IActorRef? sender = null)
    {
        ArgumentNullException.ThrowIfNull(message);
        if (_writer.TryWrite(new Envelope(message, sender)))
        {
            Interlocked.Increment(ref _enqueued);
            ScheduleIfIdle();
        }
        else
        {
            System.PublishDeadLetter(message, sender, this);
        }
    }

    public ValueTask TellAsync(object message, IActorRef? sender = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(message);
        var envelope = new Envelope(message, sender);
        if (_writer.TryWrite(envelope))
        {
            Interlocked.Increment(ref _enqueued);
            ScheduleIfIdle();
            return ValueTask.CompletedTask;
        }

        return _terminated ? DeadLetterAsync(message, sender) : WaitForRoomAsync(envelope, cancellationToken);
    }

    private ValueTask DeadLetterAsync(object message, IActorRef? sender)
    {
        System.PublishDeadLetter(message, sender, this);
        return ValueTask.CompletedTask;
    }

    private async ValueTask WaitForRoomAsync(Envelope envelope, CancellationToken cancellationToken)
    {
        try
        {
            await _writer.WriteAsync(envelope, cancellationToken).ConfigureAwait(false);
            Interlocked.Increment(ref _enqueued);
        }
        catch (ChannelClosedException)
        {
            System.PublishDeadLetter(envelope.Message, envelope.Sender, this);
            return;
        }

        ScheduleIfIdle();
    }

    public void SendSystem(SystemMessage message)
    {
        var head = Volatile.Read(ref _systemInbox);
        while (true)
        {
            message.Next = head;
            var seen = Interlocked.CompareExchange(ref _systemInbox, message, head);
            if (ReferenceEquals(seen, head))
            {
                break;
            }

            head = seen;
        }

        if (_terminated)
        {
            DrainSystemAfterTermination();
        }
        else
        {
            ScheduleIfIdle();
        }
    }

    private void ScheduleIfIdle()
    {
        // Pairs with the fence in Execute: the enqueue must be visible before the status is read.
        Interlocked.MemoryBarrier();
        if (Volatile.Read(ref _status) == Idle && Interlocked.CompareExchange(ref _status, Scheduled, Idle) == Idle)
        {
            ThreadPool.UnsafeQueueUserWorkItem(this, preferLocal: false);
        }
    }

    /// <summary>One turn on a pool thread: system messages first, then up to the throughput of user messages.</summary>
    public void Execute()
    {
        var keepOwnership = false;
        try
        {
            keepOwnership = Run();
        }
        catch (Exception ex)
        {
            // A fault in the kernel itself: report it rather than lose the pool thread.
            System.EventStream.Publish(new ActorError(Path, ex, "Kernel fault while running the actor."));
        }
        finally
        {
            if (!keepOwnership)
            {
                // A full fence, not a release write: the store must be visible before the mailbox
                // is probed below, or a sender that enqueued meanwhile and still saw Scheduled
                // would leave its message without anyone to run it (store/load reordering).
                Interlocked.Exchange(ref _status, Idle);
                if (HasWork())
                {
                    ScheduleIfIdle();
                }
            }
        }
    }

    private bool CanProcessUserMessages => _actor is not null && !_failed && !_terminating && !_terminated;

    private bool HasWork()
    {
        if (HasSystemMessages)
        {
            return true;
        }

        return CanProcessUserMessages && ((_prepend is { Count: > 0 }) || _reader.TryPeek(out _));
    }

    /// <summary>Returns true when an asynchronous handler now owns the cell (it reschedules the cell when done).</summary>
    private bool Run()
    {
        if (_terminated)
        {
            DrainSystemAfterTermination(runningThread: true);
            return false;
        }

        if (ProcessSystemMessages())
        {
            return true;
        }

        for (var budget = _throughput; budget > 0 && CanProcessUserMessages; budget--)
        {
            if (HasSystemMessages)
            {
                if (ProcessSystemMessages())
                {
                    return true;
                }

                continue;
            }

            Envelope envelope;
            if (_prepend is { Count: > 0 })
            {
                envelope = _prepend.Dequeue();
            }
            else if (_reader.TryRead(out envelope))
            {
                Volatile.Write(ref _dequeued, _dequeued + 1);
            }
            else
            {
                break;
            }

            if (Invoke(envelope))
            {
                return true;
            }
        }

        return false;
    }

    /// <summary>Handles one user message; returns true when it left an unfinished task the mailbox waits for.</summary>
    private bool Invoke(Envelope envelope)
    {
        _slot.Current = envelope;
        var message = envelope.Message;
        try
        {
            Task? pending;
            if (message is PoisonPill)
            {
                Stop(this);
                return false;
            }

            if (message is Kill)
            {
                throw new ActorKilledException($"{Path} received Kill.");
            }

            if (message is TimerScheduler.TimerEntry timer)
            {
                if (_timers is null || !_timers.Accept(timer))
                {
                    return false;
                }

                message = timer.Message;
                _slot.Current = new Envelope(message, null);
            }

            if (_behavior is not null)
            {
                if (!_behavior(message))
                {
                    _actor!.InvokeUnhandled(message);
                }

                return false;
            }

            pending = _actor!.InvokeReceive(message);
            return pending is not null && AwaitOrFail(pending);
        }
        catch (Exception ex)
        {
            Fail(ex);
            return false;
        }
    }

    /// <summary>Suspends the mailbox until <paramref name="pending"/> finishes; a completed task is handled inline.</summary>
    private bool AwaitOrFail(Task pending)
    {
        if (pending.IsCompleted)
        {
            if (pending.IsFaulted || pending.IsCanceled)
            {
                Fail(Unwrap(pending));
            }

            return false;
        }

        _awaiting = pending;
        pending.ConfigureAwait(false).GetAwaiter().UnsafeOnCompleted(_onAwaitedCompleted);
        return true;
    }

    private void OnAwaitedCompleted()
    {
        // The cell is still owned (status Scheduled), so this continuation may touch its state.
        var finished = _awaiting!;
        _awaiting = null;
        if (finished.IsFaulted || finished.IsCanceled)
        {
            try
            {
                Fail(Unwrap(finished));
            }
            catch (Exception ex)
            {
                System.EventStream.Publish(new ActorError(Path, ex, "Kernel fault after an asynchronous handler."));
            }
        }

        ThreadPool.UnsafeQueueUserWorkItem(this, preferLocal: false);
    }

    private static Exception Unwrap(Task task) =>
        task.Exception?.InnerExceptions.Count == 1 ? task.Exception.InnerException! : (Exception?)task.Exception ?? new TaskCanceledException(task);

    /// <summary>Puts <paramref name="envelopes"/> in front of the mailbox, in order (used by unstash).</summary>
    internal void Prepend(IReadOnlyList<Envelope> envelopes)
    {
        if (envelopes.Count == 0)
        {
            return;
        }

        var queue = new Queue<Envelope>(envelopes.Count + (_prepend?.Count ?? 0));
        for (var i = 0; i < envelopes.Count; i++)
        {
            queue.Enqueue(envelopes[i]);
        }

        if (_prepend is not null)
        {
            while (_prepend.Count > 0)
            {
                queue.Enqueue(_prepend.Dequeue());
            }
        }

        _prepend = queue;
    }

    internal Envelope CurrentEnvelope => _slot.Current;

    /// <summary>Runs <paramref name="action"/> as if <paramref name="sender"/> had sent the current message (persist handlers).</summary>
    internal void WithSender(IActorRef? sender, Action action)
    {
        var saved = _slot.Current;
        _slot.Current = new Envelope(saved.Message ?? this, sender);
        try
        {
            action();
        }
        finally
        {
            _slot.Current = saved;
        }
    }

    public override string ToString() => Path.ToString();

    /// <summary>
    /// The message being handled, written once per message by the running thread. It lives in its
    /// own padded object so that these writes do not invalidate the cache line senders read the
    /// cell's mailbox writer and status from (false sharing halved Tell throughput).
    /// </summary>
    [StructLayout(LayoutKind.Explicit, Size = 192)]
    private sealed class MessageSlot
    {
        [FieldOffset(64)]
        public Envelope Current;
    }
}
