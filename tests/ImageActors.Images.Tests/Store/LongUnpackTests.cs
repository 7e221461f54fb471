using Akka.Actor;
using ImageActors.Images.Actors;
using ImageActors.Images.Domain;

namespace ImageActors.Images.Tests.Store;

/// <summary>
/// An unpack is waited for until it ends, and it keeps the image's files pinned until it stopped reading them.
/// (Before, an unpack that outlasted the ask timeout failed for its caller and unpinned files still to be read: a
/// delete meanwhile removed them under the unpack.)
/// </summary>
public sealed class LongUnpackTests
{
    private static readonly ProjectName Default = ProjectName.Default;
    private static readonly TimeSpan AskTimeout = TimeSpan.FromSeconds(4);

    [Fact]
    public async Task An_unpack_that_outlasts_the_ask_timeout_succeeds_and_a_delete_meanwhile_waits_for_it()
    {
        await using var f = await StoreFixture.StartAsync(s => s with { AskTimeout = AskTimeout, Options = s.Options with { UnpackWorkers = 1 } });
        var record = await f.Store.ImportAsync(new ImportRequest(new ImageSource.UnifiedFile(f.Unified("long-unpack"))));
        var release = new TaskCompletionSource<object>(TaskCreationOptions.RunContinuationsAsynchronously);
        var started = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        f.Store.UnpackPool.Tell(new WorkerPool.Job(_ =>
        {
            started.TrySetResult();
            return release.Task;
        }, ActorRefs.Nobody, "held by the test"));
        await started.Task.WaitAsync(TimeSpan.FromSeconds(30));

        // The unpack pinned the files and waits behind the held job, for longer than any short request may wait.
        var target = Path.Combine(f.Root.FullName, "unpacked");
        var unpack = f.Store.UnpackAsync(Default, record.Fingerprint.ToString(), target);
        await WaitUntilAsync(async () => (await f.Store.UnpackPool.Ask<WorkerPool.Stats>(new WorkerPool.GetStats(), TimeSpan.FromSeconds(30))).Queued == 1);
        f.Store.Context.TellImage(Default, record.Fingerprint, new ImageProtocol.Delete("deleted"));
        await Task.Delay(AskTimeout * 2);
        Assert.False(unpack.IsCompleted, unpack.Exception?.InnerException?.Message ?? "the unpack ended before it could run");

        release.TrySetResult(new object());
        var result = await unpack.WaitAsync(TimeSpan.FromSeconds(60));

        Assert.True(result.Entries >= 3);
        Assert.Equal("long-unpack\n", File.ReadAllText(Path.Combine(target, "rootfs", "etc", "hostname")));

        // Unpinned once the unpack ended, the delete goes through.
        await WaitUntilAsync(() => Task.FromResult(!File.Exists(f.Store.Blobs.MetadataPath(record.Fingerprint))));
    }

    private static async Task WaitUntilAsync(Func<Task<bool>> condition)
    {
        var deadline = DateTime.UtcNow.AddSeconds(30);
        while (!await condition())
        {
            Assert.True(DateTime.UtcNow < deadline, "condition not met within 30 s");
            await Task.Delay(10);
        }
    }
}
