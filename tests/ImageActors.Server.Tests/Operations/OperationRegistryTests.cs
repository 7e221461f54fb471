using ImageActors.Server.Events;
using ImageActors.Server.Operations;
using ImageActors.Server.Tests.Support;

namespace ImageActors.Server.Tests.Operations;

public sealed class OperationRegistryTests
{
    private static readonly TimeSpan Deadline = TimeSpan.FromSeconds(30);

    [Fact]
    public async Task A_finished_operation_stays_visible_for_five_seconds_then_is_dropped()
    {
        var clock = new ManualClock();
        var registry = new OperationRegistry(clock, new EventHub());
        var operation = registry.Start("Downloading image", "default", null, _ => Task.FromResult<IReadOnlyDictionary<string, string>?>(new Dictionary<string, string> { ["fingerprint"] = "abc" }));
        await operation.Completion.WaitAsync(Deadline);

        clock.Advance(TimeSpan.FromSeconds(4));
        Assert.True(registry.TryGet(operation.Id, out var seen));
        Assert.Equal(OperationStatusCode.Success, seen.State.Status);
        Assert.Equal("abc", seen.State.Metadata["fingerprint"]);

        clock.Advance(TimeSpan.FromSeconds(1));
        Assert.False(registry.TryGet(operation.Id, out _));
    }

    [Fact]
    public async Task Work_that_throws_ends_as_a_failure_carrying_the_error_text()
    {
        var registry = new OperationRegistry(new ManualClock(), new EventHub());
        var operation = registry.Start("Downloading image", "default", null, _ => throw new InvalidDataException("Image with same fingerprint already exists"));
        await operation.Completion.WaitAsync(Deadline);

        Assert.Equal(OperationStatusCode.Failure, operation.State.Status);
        Assert.Equal("Image with same fingerprint already exists", operation.State.Error);
    }

    [Fact]
    public async Task Cancel_stops_the_work_and_ends_it_cancelled()
    {
        var registry = new OperationRegistry(new ManualClock(), new EventHub());
        var started = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var operation = registry.Start("Downloading image", "default", null, async op =>
        {
            started.SetResult();
            await Task.Delay(Timeout.InfiniteTimeSpan, op.CancellationToken);
            return null;
        });
        await started.Task.WaitAsync(Deadline);

        Assert.True(registry.Cancel(operation));
        await operation.Completion.WaitAsync(Deadline);

        Assert.Equal(OperationStatusCode.Cancelled, operation.State.Status);
        Assert.False(registry.Cancel(operation));
    }

    [Fact]
    public async Task Progress_publishes_an_operation_event_only_when_its_text_changes()
    {
        var hub = new EventHub();
        using var listener = hub.Subscribe([EventTypes.Operation]);
        var registry = new OperationRegistry(new ManualClock(), hub);
        var release = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var operation = registry.Start("Downloading image", "default", null, async op =>
        {
            op.SetMetadata("download_progress", "10% (1.00MB/s)");
            op.SetMetadata("download_progress", "10% (1.00MB/s)");
            op.SetMetadata("download_progress", "20% (1.00MB/s)");
            await release.Task;
            return null;
        });

        var progress = new List<string>();
        while (progress.Count < 2)
        {
            var seen = await listener.Reader.ReadAsync().AsTask().WaitAsync(Deadline);
            if (seen.Payload is OperationSnapshot snapshot && snapshot.State.Metadata.TryGetValue("download_progress", out var text) && !progress.Contains(text))
            {
                progress.Add(text);
            }
        }

        release.SetResult();
        await operation.Completion.WaitAsync(Deadline);
        Assert.Equal(["10% (1.00MB/s)", "20% (1.00MB/s)"], progress);
    }

    [Fact]
    public async Task A_token_operation_runs_until_cancelled_and_keeps_its_secret()
    {
        var registry = new OperationRegistry(new ManualClock(), new EventHub());
        var token = registry.CreateToken("Image download token", "default", new Dictionary<string, IReadOnlyList<string>> { ["images"] = ["/1.0/images/abc"] }, new Dictionary<string, string> { ["secret"] = "s3cret" });

        Assert.Equal(OperationStatusCode.Running, token.State.Status);
        Assert.True(registry.Cancel(token));
        await token.Completion.WaitAsync(Deadline);

        Assert.Equal(OperationStatusCode.Cancelled, token.State.Status);
        Assert.Equal("s3cret", token.State.Metadata["secret"]);
    }
}
