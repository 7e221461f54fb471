using System.Security.Cryptography;
using Akka.Actor;
using ImageActors.Images.Actors;
using ImageActors.Images.Domain;
using ImageActors.Streaming;

namespace ImageActors.Images.Tests.Store;

/// <summary>
/// Projects share the files of a fingerprint. A delete or an eviction in one project must never take the files of an
/// image another project holds or is writing at that moment, whichever arrives first. The races are made to happen:
/// the single file worker is held by a job that waits for the test, and a download's fetch waits for the test.
/// </summary>
public sealed class SharedFilesTests
{
    private static readonly ProjectName A = ProjectName.Parse("alpha");
    private static readonly ProjectName B = ProjectName.Parse("beta");

    [Fact]
    public async Task Deleting_a_copy_while_another_project_imports_the_same_image_keeps_the_files_of_the_import()
    {
        await using var f = await StoreFixture.StartAsync(s => s with { FileWorkers = 1 });
        var path = f.Unified("shared-import");
        var fp = FingerprintOf(path);
        await f.Store.ImportAsync(new ImportRequest(new ImageSource.UnifiedFile(path)) { Project = A });
        var worker = await HeldFileWorker.HoldAsync(f);

        // B's import got as far as its commit, which waits for the file worker: B is writing the files now.
        var importB = f.Store.ImportAsync(new ImportRequest(new ImageSource.UnifiedFile(path)) { Project = B });
        await WaitUntilAsync(async () => (await worker.StatsAsync()).Queued == 1);
        var deleteA = f.Store.DeleteAsync(A, fp.ToString());
        await WaitUntilAsync(async () => deleteA.IsCompleted || (await worker.StatsAsync()).Queued == 2);
        worker.Release();
        await AssertOnlyBetaHoldsAsync(f, fp, deleteA, importB);
    }

    [Fact]
    public async Task Importing_an_image_whose_files_another_project_is_removing_writes_them_after_the_removal()
    {
        await using var f = await StoreFixture.StartAsync(s => s with { FileWorkers = 1 });
        var path = f.Unified("shared-download");
        var fp = FingerprintOf(path);
        await f.Store.ImportAsync(new ImportRequest(new ImageSource.UnifiedFile(path)) { Project = A });
        var worker = await HeldFileWorker.HoldAsync(f);

        // A's delete reached the files first: their removal waits for the file worker.
        var deleteA = f.Store.DeleteAsync(A, fp.ToString());
        await WaitUntilAsync(async () => (await Status(f, fp)).Removing);
        var fetched = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var fetch = new ImageFetch(async (blobs, token) =>
        {
            fetched.TrySetResult();
            return (await blobs.ImportFileAsync(path, fp, token), Images.Record(fp, "beta"));
        }, "test remote");
        var downloadB = f.Store.DownloadAsync(B, fp, fetch);
        await WaitUntilAsync(async () => (await Status(f, fp)).WritersWaiting == 1);

        Assert.False(fetched.Task.IsCompleted, "B wrote the files while A's removal of them was under way");
        worker.Release();
        await AssertOnlyBetaHoldsAsync(f, fp, deleteA, downloadB);
    }

    [Fact]
    public async Task Evicting_a_cached_copy_keeps_the_files_another_project_is_downloading()
    {
        await using var f = await StoreFixture.StartAsync();
        var path = f.Unified("shared-evict");
        var fp = FingerprintOf(path);
        var expired = Images.Record(fp, "alpha", cached: true) with { UploadedAt = DateTimeOffset.MinValue.AddDays(1) };
        await f.Store.DownloadAsync(A, fp, new ImageFetch(async (blobs, token) => (await blobs.ImportFileAsync(path, fp, token), expired), "cache"));

        // B's download has renamed the files into place but not yet reported back: its record does not exist yet.
        var committed = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var finish = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var downloadB = f.Store.DownloadAsync(B, fp, new ImageFetch(async (blobs, token) =>
        {
            var files = await blobs.ImportFileAsync(path, fp, token);
            committed.TrySetResult();
            await finish.Task.WaitAsync(token);
            return (files, Images.Record(fp, "beta"));
        }, "slow remote"));
        await committed.Task.WaitAsync(TimeSpan.FromSeconds(30));

        var evicted = await f.Store.EvictNowAsync();

        Assert.Equal((A, fp), (Assert.Single(evicted).Image.Project, Assert.Single(evicted).Image.Fingerprint));
        Assert.True(File.Exists(f.Store.Blobs.MetadataPath(fp)), "the eviction in alpha removed the files beta is downloading");
        finish.SetResult();
        var b = await downloadB;
        await f.Store.WaitForReadModelAsync();

        Assert.Equal(fp, b.Fingerprint);
        Assert.NotNull(f.Store.Catalog.Find(B, fp));
        AssertFilesHold(f, fp);
    }

    [Fact]
    public async Task Deleting_the_last_project_holding_an_image_removes_its_files_also_after_a_restart()
    {
        await using var f = await StoreFixture.StartAsync();
        var (meta, rootfs) = TestImages.Split(f.Sources, "shared-split");
        var a = await f.Store.ImportAsync(new ImportRequest(new ImageSource.SplitFiles(meta, rootfs)) { Project = A });
        await f.Store.ImportAsync(new ImportRequest(new ImageSource.SplitFiles(meta, rootfs)) { Project = B });
        var fp = a.Fingerprint;

        await f.RestartAsync();
        await f.Store.DeleteAsync(A, fp.ToString());

        Assert.True(File.Exists(f.Store.Blobs.MetadataPath(fp)));
        Assert.True(File.Exists(f.Store.Blobs.RootfsPath(fp)));

        await f.Store.DeleteAsync(B, fp.ToString());

        Assert.Empty(f.Store.List());
        Assert.False(File.Exists(f.Store.Blobs.MetadataPath(fp)));
        Assert.False(File.Exists(f.Store.Blobs.RootfsPath(fp)));

        // The fingerprint's files come back with the next import.
        await f.Store.ImportAsync(new ImportRequest(new ImageSource.SplitFiles(meta, rootfs)) { Project = A });
        Assert.True(File.Exists(f.Store.Blobs.RootfsPath(fp)));
    }

    private static Fingerprint FingerprintOf(string path) => Fingerprint.Parse(Convert.ToHexStringLower(SHA256.HashData(File.ReadAllBytes(path))));

    private static Task<ImageFilesActor.FilesStatus> Status(StoreFixture f, Fingerprint fp) =>
        f.Store.Context.AskFiles<ImageFilesActor.FilesStatus>(fp, new ImageFilesActor.GetStatus());

    // Once alpha's delete and beta's write are both done: beta has the image and its files, alpha has neither.
    private static async Task AssertOnlyBetaHoldsAsync(StoreFixture f, Fingerprint fp, Task deleteA, Task<ImageRecord> writeB)
    {
        await deleteA;
        var b = await writeB;
        await f.Store.WaitForReadModelAsync();

        Assert.Equal(fp, b.Fingerprint);
        Assert.Null(f.Store.Catalog.Find(A, fp));
        Assert.NotNull(f.Store.Catalog.Find(B, fp));
        AssertFilesHold(f, fp);
    }

    private static void AssertFilesHold(StoreFixture f, Fingerprint fp)
    {
        var file = f.Store.Blobs.MetadataPath(fp);
        Assert.True(File.Exists(file), $"the image of {fp.ToShortString()} has a record but no file");
        Assert.Equal(fp.ToString(), Convert.ToHexStringLower(SHA256.HashData(File.ReadAllBytes(file))));
    }

    private static async Task WaitUntilAsync(Func<Task<bool>> condition)
    {
        var deadline = DateTime.UtcNow.AddSeconds(30);
        while (!await condition())
        {
            Assert.True(DateTime.UtcNow < deadline, "condition not met within 30 s");
            await Task.Yield();
        }
    }

    /// <summary>The store's only file worker, busy with a job that ends when the test says so.</summary>
    private sealed class HeldFileWorker(StoreFixture fixture, TaskCompletionSource release)
    {
        public static async Task<HeldFileWorker> HoldAsync(StoreFixture fixture)
        {
            var started = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
            var release = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
            var job = new WorkerPool.Job(async _ =>
            {
                started.TrySetResult();
                await release.Task;
                return new object();
            }, null, "held by the test");
            _ = fixture.Store.Context.FilePool.Ask<object>(job, TimeSpan.FromMinutes(1));
            await started.Task.WaitAsync(TimeSpan.FromSeconds(30));
            return new HeldFileWorker(fixture, release);
        }

        public Task<WorkerPool.Stats> StatsAsync() =>
            fixture.Store.Context.FilePool.Ask<WorkerPool.Stats>(new WorkerPool.GetStats(), TimeSpan.FromSeconds(30));

        public void Release() => release.TrySetResult();
    }
}
