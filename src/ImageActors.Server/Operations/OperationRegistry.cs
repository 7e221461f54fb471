using System.Collections.Concurrent;
using System.Collections.Immutable;
using ImageActors.Server.Events;

namespace ImageActors.Server.Operations;

/// <summary>
/// The server's live operations (<c>/1.0/operations</c>). Finished operations stay visible for
/// <see cref="Retention"/> (Incus: 5 s) so a client that polls after the end still sees the result,
/// then they are dropped.
/// </summary>
public sealed class OperationRegistry
{
    private readonly ConcurrentDictionary<Guid, Entry> _operations = new();
    private readonly EventHub _events;

    /// <summary>Creates a registry.</summary>
    /// <param name="time">The clock (tests use a fake one).</param>
    /// <param name="events">Where operation changes are published.</param>
    /// <param name="retention">How long a finished operation stays visible; 5 s by default.</param>
    public OperationRegistry(TimeProvider time, EventHub events, TimeSpan? retention = null)
    {
        ArgumentNullException.ThrowIfNull(time);
        ArgumentNullException.ThrowIfNull(events);
        Time = time;
        _events = events;
        Retention = retention ?? TimeSpan.FromSeconds(5);
    }

    /// <summary>How long a finished operation stays visible.</summary>
    public TimeSpan Retention { get; }

    /// <summary>Number of operations that have not finished.</summary>
    public int RunningCount => _operations.Values.Count(e => !e.Operation.State.Status.IsFinal());

    internal TimeProvider Time { get; }

    internal DateTimeOffset Now => Time.GetUtcNow();

    /// <summary>
    /// Starts a task operation running <paramref name="work"/> in the background. The work's result
    /// becomes the final metadata; an exception becomes the error; cancellation through the
    /// operation's token makes it Cancelled.
    /// </summary>
    public TrackedOperation Start(
        string description,
        string project,
        IReadOnlyDictionary<string, IReadOnlyList<string>>? resources,
        Func<TrackedOperation, Task<IReadOnlyDictionary<string, string>?>> work,
        bool mayCancel = true)
    {
        ArgumentNullException.ThrowIfNull(work);
        var operation = Register(OperationClass.Task, description, project, resources, mayCancel);
        _ = RunAsync(operation, work);
        return operation;
    }

    /// <summary>
    /// Creates a token operation (image download secrets): running with <paramref name="metadata"/>
    /// until cancelled.
    /// </summary>
    public TrackedOperation CreateToken(
        string description,
        string project,
        IReadOnlyDictionary<string, IReadOnlyList<string>>? resources,
        IReadOnlyDictionary<string, string> metadata)
    {
        ArgumentNullException.ThrowIfNull(metadata);
        var operation = Register(OperationClass.Token, description, project, resources, mayCancel: true);
        foreach (var (key, value) in metadata)
        {
            operation.SetMetadata(key, value);
        }

        operation.MarkRunning();
        return operation;
    }

    /// <summary>Finds a live (or recently finished) operation.</summary>
    public bool TryGet(Guid id, out TrackedOperation operation)
    {
        if (_operations.TryGetValue(id, out var entry))
        {
            operation = entry.Operation;
            return true;
        }

        operation = null!;
        return false;
    }

    /// <summary>All operations still visible, oldest first.</summary>
    public IReadOnlyList<TrackedOperation> List() =>
        [.. _operations.Values.Select(e => e.Operation).OrderBy(o => o.CreatedAt)];

    /// <summary>Requests cancellation; false when the operation cannot be cancelled or has finished.</summary>
    public bool Cancel(TrackedOperation operation)
    {
        ArgumentNullException.ThrowIfNull(operation);
        return operation.MayCancel && operation.RequestCancel();
    }

    internal void Published(TrackedOperation operation) =>
        _events.Publish(new ServerEvent(EventTypes.Operation, Now, operation.Project, new OperationSnapshot(operation, operation.State)));

    internal void Finished(TrackedOperation operation)
    {
        if (!_operations.TryGetValue(operation.Id, out var entry))
        {
            return;
        }

        // The timer is held by the entry so that it cannot be collected before it fires.
        entry.Expiry = Time.CreateTimer(
            static state =>
            {
                var (registry, id) = ((OperationRegistry, Guid))state!;
                if (registry._operations.TryRemove(id, out var removed))
                {
                    removed.Expiry?.Dispose();
                }
            },
            (this, operation.Id),
            Retention,
            Timeout.InfiniteTimeSpan);
    }

    private TrackedOperation Register(
        OperationClass operationClass,
        string description,
        string project,
        IReadOnlyDictionary<string, IReadOnlyList<string>>? resources,
        bool mayCancel)
    {
        var resourceMap = (resources ?? new Dictionary<string, IReadOnlyList<string>>())
            .ToImmutableDictionary(kv => kv.Key, kv => kv.Value.ToImmutableArray());
        var operation = new TrackedOperation(this, operationClass, description, project, resourceMap, mayCancel, Now);
        _operations[operation.Id] = new Entry(operation);
        Published(operation);
        return operation;
    }

    private static async Task RunAsync(TrackedOperation operation, Func<TrackedOperation, Task<IReadOnlyDictionary<string, string>?>> work)
    {
        // Leave the caller's thread first: the HTTP handler answers 202 before the work runs.
        await Task.Yield();
        operation.MarkRunning();
        try
        {
            var result = await work(operation);
            operation.Finish(OperationStatusCode.Success, result, string.Empty);
        }
        catch (OperationCanceledException) when (operation.CancellationToken.IsCancellationRequested)
        {
            operation.Finish(OperationStatusCode.Cancelled, null, "Operation cancelled");
        }
        catch (Exception e)
        {
            operation.Finish(OperationStatusCode.Failure, null, e.Message);
        }
    }

    private sealed class Entry(TrackedOperation operation)
    {
        public TrackedOperation Operation { get; } = operation;

        public ITimer? Expiry { get; set; }
    }
}
