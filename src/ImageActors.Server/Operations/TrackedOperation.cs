using System.Collections.Immutable;

namespace ImageActors.Server.Operations;

/// <summary>
/// One asynchronous operation (<c>/1.0/operations/&lt;id&gt;</c>): its fixed identity and an immutable
/// state that is swapped as the work progresses, so readers never see a half-written state.
/// </summary>
public sealed class TrackedOperation
{
    private readonly OperationRegistry _registry;
    private readonly CancellationTokenSource _cancel = new();
    private readonly TaskCompletionSource _done = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private OperationState _state;

    internal TrackedOperation(
        OperationRegistry registry,
        OperationClass operationClass,
        string description,
        string project,
        ImmutableDictionary<string, ImmutableArray<string>> resources,
        bool mayCancel,
        DateTimeOffset now)
    {
        _registry = registry;
        Id = Guid.NewGuid();
        Class = operationClass;
        Description = description;
        Project = project;
        Resources = resources;
        MayCancel = mayCancel;
        CreatedAt = now;
        _state = new OperationState(OperationStatusCode.Pending, now, ImmutableDictionary<string, string>.Empty, string.Empty);
    }

    /// <summary>The operation's id.</summary>
    public Guid Id { get; }

    /// <summary>The URL of the operation.</summary>
    public string Url => "/1.0/operations/" + Id.ToString("D");

    /// <summary>task, websocket or token.</summary>
    public OperationClass Class { get; }

    /// <summary>What it does, in Incus' words ("Downloading image").</summary>
    public string Description { get; }

    /// <summary>The project it belongs to.</summary>
    public string Project { get; }

    /// <summary>The objects it concerns, e.g. <c>images → [/1.0/images/&lt;fp&gt;]</c>.</summary>
    public ImmutableDictionary<string, ImmutableArray<string>> Resources { get; }

    /// <summary>Whether <c>DELETE /1.0/operations/&lt;id&gt;</c> may cancel it.</summary>
    public bool MayCancel { get; }

    /// <summary>When it was created.</summary>
    public DateTimeOffset CreatedAt { get; }

    /// <summary>The current state.</summary>
    public OperationState State => Volatile.Read(ref _state);

    /// <summary>Signalled when a cancel is requested; work should stop.</summary>
    public CancellationToken CancellationToken => _cancel.Token;

    /// <summary>Completes when the operation reaches a final status.</summary>
    public Task Completion => _done.Task;

    /// <summary>Sets one metadata entry (for example <c>download_progress</c>); unchanged values publish nothing.</summary>
    public void SetMetadata(string key, string value)
    {
        ArgumentNullException.ThrowIfNull(key);
        ArgumentNullException.ThrowIfNull(value);
        while (true)
        {
            var current = State;
            if (current.Status.IsFinal() || (current.Metadata.TryGetValue(key, out var old) && old == value))
            {
                return;
            }

            var next = current with { Metadata = current.Metadata.SetItem(key, value), UpdatedAt = _registry.Now };
            if (Interlocked.CompareExchange(ref _state, next, current) == current)
            {
                _registry.Published(this);
                return;
            }
        }
    }

    /// <summary>
    /// Sets one metadata entry that Incus sends as a JSON boolean (for example <c>refreshed</c> of a refresh);
    /// it is kept when the work finishes without a result of its own.
    /// </summary>
    public void SetMetadata(string key, bool value)
    {
        ArgumentNullException.ThrowIfNull(key);
        Transition(s => s.Status.IsFinal() || (s.Flags.TryGetValue(key, out var old) && old == value)
            ? null
            : s with { Flags = s.Flags.SetItem(key, value) });
    }

    /// <summary>Waits for the final status, or until <paramref name="timeout"/> (infinite when negative).</summary>
    /// <returns>True when the operation finished in time.</returns>
    public async Task<bool> WaitAsync(TimeSpan timeout, CancellationToken cancellationToken)
    {
        if (timeout < TimeSpan.Zero)
        {
            await Completion.WaitAsync(cancellationToken);
            return true;
        }

        try
        {
            await Completion.WaitAsync(timeout, _registry.Time, cancellationToken);
            return true;
        }
        catch (TimeoutException)
        {
            return false;
        }
    }

    internal void MarkRunning() => Transition(s => s.Status == OperationStatusCode.Pending ? s with { Status = OperationStatusCode.Running } : null);

    internal bool RequestCancel()
    {
        var moved = Transition(s => s.Status.IsFinal() ? null : s with { Status = OperationStatusCode.Cancelling });
        if (moved)
        {
            _cancel.Cancel();
            if (Class == OperationClass.Token)
            {
                Finish(OperationStatusCode.Cancelled, null, string.Empty);
            }
        }

        return moved;
    }

    internal bool Finish(OperationStatusCode status, IReadOnlyDictionary<string, string>? metadata, string error)
    {
        var finished = Transition(s => s.Status.IsFinal()
            ? null
            : s with
            {
                Status = status,
                Error = error,
                Metadata = metadata is null ? s.Metadata : metadata.ToImmutableDictionary(),
            });
        if (finished)
        {
            // Arm the expiry before waking waiters, so that whoever sees the end also sees the timer.
            _registry.Finished(this);
            _done.TrySetResult();
        }

        return finished;
    }

    private bool Transition(Func<OperationState, OperationState?> change)
    {
        while (true)
        {
            var current = State;
            var next = change(current);
            if (next is null)
            {
                return false;
            }

            next = next with { UpdatedAt = _registry.Now };
            if (Interlocked.CompareExchange(ref _state, next, current) == current)
            {
                _registry.Published(this);
                return true;
            }
        }
    }
}

/// <summary>The changing part of an operation.</summary>
/// <param name="Status">Its status.</param>
/// <param name="UpdatedAt">When it last changed.</param>
/// <param name="Metadata">Progress while running; the result (e.g. fingerprint and size) when done.</param>
/// <param name="Error">The error text when it failed.</param>
public sealed record OperationState(OperationStatusCode Status, DateTimeOffset UpdatedAt, ImmutableDictionary<string, string> Metadata, string Error)
{
    /// <summary>Metadata entries whose values are JSON booleans rather than text (Incus' <c>refreshed</c>).</summary>
    public ImmutableDictionary<string, bool> Flags { get; init; } = ImmutableDictionary<string, bool>.Empty;
}

/// <summary>An operation as it was at one moment (what an operation event carries).</summary>
/// <param name="Operation">The operation.</param>
/// <param name="State">Its state at that moment.</param>
public sealed record OperationSnapshot(TrackedOperation Operation, OperationState State);
