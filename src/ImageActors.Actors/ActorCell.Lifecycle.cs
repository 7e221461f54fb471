namespace ImageActors.Actors;

internal sealed partial class ActorCell
{
    private readonly Lock _childrenGate = new();
    private readonly Dictionary<string, ChildStats> _children = new(StringComparer.Ordinal);
    private HashSet<ActorCell>? _detachedChildren;
    private long _nameCounter;
    private object? _failedMessage;
    private ActorStash? _stash;

    internal ActorStash StashStore => _stash ??= new ActorStash(this);

    // System messages taken from the inbox, oldest first; only the running thread touches it.
    private SystemMessage? _systemBatch;

    private bool HasSystemMessages => _systemBatch is not null || Volatile.Read(ref _systemInbox) is not null;

    /// <summary>Takes the oldest system message: the inbox is a stack, so a taken batch is reversed.</summary>
    private bool TryTakeSystemMessage(out SystemMessage message)
    {
        if (_systemBatch is null)
        {
            var taken = Interlocked.Exchange(ref _systemInbox, null);
            SystemMessage? oldestFirst = null;
            while (taken is not null)
            {
                var next = taken.Next;
                taken.Next = oldestFirst;
                oldestFirst = taken;
                taken = next;
            }

            _systemBatch = oldestFirst;
        }

        if (_systemBatch is null)
        {
            message = null!;
            return false;
        }

        message = _systemBatch;
        _systemBatch = message.Next;
        message.Next = null;
        return true;
    }

    /// <summary>Returns true when an asynchronous start (recovery) now owns the cell.</summary>
    private bool ProcessSystemMessages()
    {
        while (TryTakeSystemMessage(out var message))
        {
            if (HandleSystem(message))
            {
                return true;
            }

            if (_terminated)
            {
                DrainSystemAfterTermination(runningThread: true);
                return false;
            }
        }

        return false;
    }

    private bool HandleSystem(SystemMessage message)
    {
        switch (message)
        {
            case CreateActor:
                return Create();
            case RecreateActor recreate:
                return Recreate(recreate.Cause);
            case ResumeActor:
                _failed = false;
                return false;
            case TerminateActor:
                BeginTerminate();
                return false;
            case WatchActor watch:
                AddWatcher(watch.Watcher);
                return false;
            case UnwatchActor unwatch:
                _watchers?.Remove(unwatch.Watcher);
                return false;
            case DeathWatchNotification death:
                return OnDeathWatchNotification(death.Actor);
            case ChildFailed failed:
                OnChildFailed(failed.Child, failed.Cause);
                return false;
            default:
                return false;
        }
    }

    private bool Create()
    {
        if (_actor is not null || _terminating)
        {
            return false;
        }

        try
        {
            _actor = ActorBase.Construct(this, Props);
            _actor.PreStart();
            var starting = _actor.AfterStart();
            return starting is not null && AwaitOrFail(starting);
        }
        catch (Exception ex)
        {
            Fail(new ActorInitializationException(Path, ex));
            return false;
        }
    }

    private bool Recreate(Exception cause)
    {
        if (_terminating || _terminated)
        {
            return false;
        }

        var old = _actor;
        if (old is not null)
        {
            try
            {
                old.PreRestart(cause, _failedMessage);
            }
            catch (Exception ex)
            {
                System.EventStream.Publish(new ActorError(Path, ex, "PreRestart threw; restarting anyway."));
            }

            old.OnIncarnationEnd();
        }

        _timers?.CancelAll();
        _stash?.UnstashAll();
        _behavior = null;
        _failedMessage = null;
        DetachStoppingChildren();
        try
        {
            _actor = ActorBase.Construct(this, Props);
            _failed = false;
            _actor.PostRestart(cause);
            var starting = _actor.AfterStart();
            return starting is not null && AwaitOrFail(starting);
        }
        catch (Exception ex)
        {
            Fail(new ActorInitializationException(Path, ex));
            return false;
        }
    }

    /// <summary>The actor failed: suspend it and ask the parent what to do.</summary>
    internal void Fail(Exception cause)
    {
        if (_terminating || _terminated)
        {
            System.EventStream.Publish(new ActorError(Path, cause, "Failure while stopping."));
            return;
        }

        _failed = true;
        _failedMessage = _slot.Current.Message;
        if (ParentCell is null)
        {
            System.EventStream.Publish(new ActorError(Path, cause, "The root failed; stopping."));
            BeginTerminate();
            return;
        }

        ParentCell.SendSystem(new ChildFailed(this, cause));
    }

    private void OnChildFailed(ActorCell child, Exception cause)
    {
        ChildStats? stats;
        lock (_childrenGate)
        {
            if (!_children.TryGetValue(child.Path.Name, out stats) || !ReferenceEquals(stats.Child, child))
            {
                return;
            }
        }

        var strategy = _actor?.SupervisorStrategy() ?? Props.SupervisorStrategy ?? ImageActors.Actors.Supervision.SupervisorStrategy.Default;
        strategy.HandleFailure(this, stats, cause);
    }

    /// <summary>Escalation: this actor fails with its child's exception.</summary>
    internal void Escalate(Exception cause)
    {
        if (_terminating)
        {
            return;
        }

        _failed = true;
        _failedMessage = null;
        if (ParentCell is null)
        {
            BeginTerminate();
            return;
        }

        ParentCell.SendSystem(new ChildFailed(this, cause));
    }

    internal IReadOnlyList<ChildStats> ChildStatsSnapshot()
    {
        lock (_childrenGate)
        {
            return [.. _children.Values];
        }
    }

    private void BeginTerminate()
    {
        if (_terminating || _terminated)
        {
            return;
        }

        _terminating = true;
        _timers?.CancelAll();
        var children = ChildrenSnapshot(includeDetached: true);
        if (children.Count == 0)
        {
            FinishTerminate();
            return;
        }

        foreach (var child in children)
        {
            child.SendSystem(new TerminateActor());
        }
    }

    private void FinishTerminate()
    {
        if (_actor is not null)
        {
            try
            {
                _actor.PostStop();
            }
            catch (Exception ex)
            {
                System.EventStream.Publish(new ActorError(Path, ex, "PostStop threw."));
            }

            _actor.OnIncarnationEnd();
        }

        _terminated = true;
        _stash?.Clear();
        _writer.TryComplete();
        while (_prepend is { Count: > 0 })
        {
            var e = _prepend.Dequeue();
            System.PublishDeadLetter(e.Message, e.Sender, this);
        }

        while (_reader.TryRead(out var envelope))
        {
            Volatile.Write(ref _dequeued, _dequeued + 1);
            System.PublishDeadLetter(envelope.Message, envelope.Sender, this);
        }

        // The parent hears first, so anyone who sees Terminated next knows the parent knows too.
        ParentCell?.SendSystem(new DeathWatchNotification(this));
        if (_watchers is not null)
        {
            foreach (var watcher in _watchers)
            {
                if (!ReferenceEquals(watcher, ParentCell))
                {
                    watcher.SendSystem(new DeathWatchNotification(this));
                }
            }

            _watchers = null;
        }

        if (_watching is not null)
        {
            foreach (var watchee in _watching)
            {
                watchee.SendSystem(new UnwatchActor(watchee, this));
            }

            _watching = null;
        }

        _terminatedSignal.TrySetResult();
        DrainSystemAfterTermination(runningThread: true);
    }

    /// <summary>
    /// After termination only watch requests matter: they are answered at once. Any thread may
    /// call this; the batch already taken by the running thread is answered by that thread.
    /// </summary>
    private void DrainSystemAfterTermination(bool runningThread = false)
    {
        if (runningThread)
        {
            var batch = _systemBatch;
            _systemBatch = null;
            AnswerWatches(batch);
        }

        AnswerWatches(Interlocked.Exchange(ref _systemInbox, null));
    }

    private void AnswerWatches(SystemMessage? messages)
    {
        while (messages is not null)
        {
            if (messages is WatchActor watch)
            {
                watch.Watcher.SendSystem(new DeathWatchNotification(this));
            }

            messages = messages.Next;
        }
    }

    private void AddWatcher(IInternalActorRef watcher)
    {
        if (_terminated)
        {
            watcher.SendSystem(new DeathWatchNotification(this));
            return;
        }

        (_watchers ??= []).Add(watcher);
    }

    private bool OnDeathWatchNotification(IInternalActorRef actor)
    {
        if (actor is ActorCell cell && ReferenceEquals(cell.ParentCell, this))
        {
            var removed = false;
            lock (_childrenGate)
            {
                if (_children.TryGetValue(cell.Path.Name, out var stats) && ReferenceEquals(stats.Child, cell))
                {
                    _children.Remove(cell.Path.Name);
                    removed = true;
                }

                removed |= _detachedChildren?.Remove(cell) ?? false;
            }

            if (removed && _terminating && !_terminated && HasNoChildren())
            {
                FinishTerminate();
                return false;
            }
        }

        if (_watching is not null && _watching.Remove(actor) && !_terminating && !_terminated && _actor is not null)
        {
            // Terminated goes through the actor's normal handlers, ahead of queued user messages.
            var saved = _slot.Current;
            return Invoke(new Envelope(new Terminated(actor), actor)) || RestoreCurrent(saved);
        }

        return false;
    }

    private bool RestoreCurrent(Envelope saved)
    {
        _slot.Current = saved;
        return false;
    }

    private bool HasNoChildren()
    {
        lock (_childrenGate)
        {
            return _children.Count == 0 && (_detachedChildren is null || _detachedChildren.Count == 0);
        }
    }

    private List<ActorCell> ChildrenSnapshot(bool includeDetached)
    {
        lock (_childrenGate)
        {
            var list = new List<ActorCell>(_children.Count + (_detachedChildren?.Count ?? 0));
            foreach (var stats in _children.Values)
            {
                list.Add(stats.Child);
            }

            if (includeDetached && _detachedChildren is not null)
            {
                list.AddRange(_detachedChildren);
            }

            return list;
        }
    }

    /// <summary>Children asked to stop before a restart no longer hold their names, so the new incarnation can reuse them.</summary>
    private void DetachStoppingChildren()
    {
        lock (_childrenGate)
        {
            List<string>? names = null;
            foreach (var (name, stats) in _children)
            {
                if (stats.StopRequested)
                {
                    (names ??= []).Add(name);
                }
            }

            if (names is null)
            {
                return;
            }

            foreach (var name in names)
            {
                (_detachedChildren ??= []).Add(_children[name].Child);
                _children.Remove(name);
            }
        }
    }

    // IActorContext

    public IReadOnlyList<IActorRef> Children => ChildrenSnapshot(includeDetached: false);

    public IActorRef ActorOf(Props props, string? name = null)
    {
        ArgumentNullException.ThrowIfNull(props);
        if (name is null)
        {
            name = "$" + Interlocked.Increment(ref _nameCounter).ToString(global::System.Globalization.CultureInfo.InvariantCulture);
        }
        else
        {
            ActorPath.ValidateName(name);
        }

        ActorCell child;
        lock (_childrenGate)
        {
            if (_terminating || _terminated)
            {
                throw new InvalidOperationException($"{Path} is stopping and cannot create '{name}'.");
            }

            if (_children.ContainsKey(name))
            {
                throw new InvalidActorNameException($"{Path} already has a child called '{name}'.");
            }

            child = new ActorCell(System, this, Path / name, props);
            _children.Add(name, new ChildStats(child));
        }

        child.Start();
        return child;
    }

    public IActorRef? Child(string name)
    {
        lock (_childrenGate)
        {
            return _children.TryGetValue(name, out var stats) ? stats.Child : null;
        }
    }

    public void Stop(IActorRef actor)
    {
        ArgumentNullException.ThrowIfNull(actor);
        if (actor is ActorCell cell)
        {
            if (ReferenceEquals(cell.ParentCell, this))
            {
                lock (_childrenGate)
                {
                    if (_children.TryGetValue(cell.Path.Name, out var stats) && ReferenceEquals(stats.Child, cell))
                    {
                        stats.StopRequested = true;
                    }
                }
            }

            cell.SendSystem(new TerminateActor());
        }
        else if (actor is IInternalActorRef other)
        {
            other.SendSystem(new TerminateActor());
        }
    }

    public IActorRef Watch(IActorRef actor)
    {
        if (actor is IInternalActorRef target && !ReferenceEquals(target, this) && (_watching ??= []).Add(target))
        {
            target.SendSystem(new WatchActor(target, this));
        }

        return actor;
    }

    public IActorRef Unwatch(IActorRef actor)
    {
        if (actor is IInternalActorRef target && _watching is not null && _watching.Remove(target))
        {
            target.SendSystem(new UnwatchActor(target, this));
        }

        return actor;
    }

    public void Become(Receive receive) => _behavior = receive ?? throw new ArgumentNullException(nameof(receive));

    public void Unbecome() => _behavior = null;
}

/// <summary>A child and its restart budget.</summary>
internal sealed class ChildStats(ActorCell child)
{
    public ActorCell Child { get; } = child;

    public bool StopRequested { get; set; }

    public int RestartCount { get; private set; }

    public long WindowStart { get; private set; }

    /// <summary>Counts one more restart; false when the budget inside the window is spent.</summary>
    public bool RequestRestartPermission(int maxRetries, TimeSpan window, TimeProvider clock)
    {
        if (maxRetries < 0)
        {
            return true;
        }

        if (maxRetries == 0)
        {
            return false;
        }

        if (window <= TimeSpan.Zero || window == Timeout.InfiniteTimeSpan)
        {
            RestartCount++;
            return RestartCount <= maxRetries;
        }

        var now = clock.GetTimestamp();
        if (RestartCount == 0 || clock.GetElapsedTime(WindowStart, now) > window)
        {
            WindowStart = now;
            RestartCount = 1;
            return true;
        }

        RestartCount++;
        return RestartCount <= maxRetries;
    }
}
