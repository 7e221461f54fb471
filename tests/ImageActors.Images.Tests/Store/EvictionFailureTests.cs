using System.Security.Cryptography;
using ImageActors.Images.Domain;
using ImageActors.Streaming;
using Microsoft.Extensions.Time.Testing;

namespace ImageActors.Images.Tests.Store;

/// <summary>
/// An eviction run that fails part way: a lifecycle listener that appends each event to a log file fails
/// (its directory is missing) when the run announces the first image it removed. The fake clock does not move
/// while an answer is awaited, so an answer that comes at all comes from the run, never from an ask timeout.
/// </summary>
public sealed class EvictionFailureTests
{
    private static readonly ProjectName Default = ProjectName.Default;
    private static readonly TimeSpan Deadline = TimeSpan.FromSeconds(30);
    private static readonly DateTimeOffset Start = new(2026, 5, 1, 0, 0, 0, TimeSpan.Zero);

    [Fact]
    public async Task A_failed_eviction_run_answers_its_requesters_with_an_error_naming_the_image_and_step()
    {
        var clock = new FakeTimeProvider(Start);
        await using var f = await StoreFixture.StartAsync(s => s with { Clock = clock });
        var images = new[] { await Cached(f, clock, "fail-a"), await Cached(f, clock, "fail-b") };
        var log = new EventLog(f);
        clock.Advance(TimeSpan.FromDays(11));

        // Asked at once: the second waits for the failing run or comes after it, and its own run fails on the other image.
        var first = f.Store.EvictNowAsync();
        var second = f.Store.EvictNowAsync();
        var error = await Assert.ThrowsAsync<EvictionFailedException>(() => first.WaitAsync(Deadline));
        var next = await Assert.ThrowsAsync<EvictionFailedException>(() => second.WaitAsync(Deadline));

        var failed = await log.FirstFailure.WaitAsync(Deadline);
        Assert.Equal(failed, error.Eviction?.Image.Fingerprint);
        Assert.Contains(failed.ToString(), error.Message, StringComparison.Ordinal);
        Assert.Equal("announcing its deletion", error.Step);
        Assert.IsType<DirectoryNotFoundException>(error.InnerException);
        Assert.Equal([failed], error.Evicted.Select(e => e.Image.Fingerprint));
        Assert.Equal(Assert.Single(images, i => i.Fingerprint != failed).Fingerprint, next.Eviction?.Image.Fingerprint);
    }

    [Fact]
    public async Task After_a_failed_eviction_run_the_next_request_evicts_what_it_left()
    {
        var clock = new FakeTimeProvider(Start);
        await using var f = await StoreFixture.StartAsync(s => s with { Clock = clock });
        var images = new[] { await Cached(f, clock, "again-a"), await Cached(f, clock, "again-b") };
        var log = new EventLog(f);
        clock.Advance(TimeSpan.FromDays(11));

        await Assert.ThrowsAsync<EvictionFailedException>(() => f.Store.EvictNowAsync().WaitAsync(Deadline));
        var failed = await log.FirstFailure.WaitAsync(Deadline);
        log.Repair();
        var evicted = await f.Store.EvictNowAsync().WaitAsync(Deadline);
        var again = await f.Store.EvictNowAsync().WaitAsync(Deadline);

        var left = Assert.Single(images, i => i.Fingerprint != failed);
        Assert.Equal(left.Fingerprint, Assert.Single(evicted).Image.Fingerprint);
        Assert.Empty(again);
        Assert.Empty(f.Store.Catalog.List());
        Assert.All(images, i => Assert.False(File.Exists(f.Store.Blobs.MetadataPath(i.Fingerprint))));
        Assert.Equal([$"image-deleted /1.0/images/{left.Fingerprint}"], log.Lines());
    }

    [Fact]
    public async Task The_periodic_eviction_keeps_its_schedule_after_a_failed_run()
    {
        var clock = new FakeTimeProvider(Start);
        await using var f = await StoreFixture.StartAsync(s => s with { Clock = clock, EvictionInterval = TimeSpan.FromDays(12) });

        // The schedule runs at start (nothing to do yet), then at day 12. The run asked for at day 11 fails; the image
        // that expires only after it (day 11.5) must go at day 12, when the schedule says, not a whole interval later.
        await f.Store.EvictNowAsync().WaitAsync(Deadline);
        var early = await Cached(f, clock, "sched-early");
        clock.Advance(TimeSpan.FromDays(1.5));
        var late = await Cached(f, clock, "sched-late");
        var log = new EventLog(f);
        var lateGone = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        f.Store.Lifecycle += (_, e) =>
        {
            if (e.Action == "image-deleted" && e.Source == $"/1.0/images/{late.Fingerprint}")
            {
                lateGone.TrySetResult();
            }
        };
        clock.Advance(TimeSpan.FromDays(9.5));

        // Whatever the requester heard (the first test checks that), the run is over once it was answered or gave up.
        await Record.ExceptionAsync(() => f.Store.EvictNowAsync().WaitAsync(Deadline));
        Assert.Equal(early.Fingerprint, await log.FirstFailure.WaitAsync(Deadline));
        Assert.NotNull(f.Store.Catalog.Find(Default, late.Fingerprint));
        log.Repair();
        clock.Advance(TimeSpan.FromDays(1));

        await lateGone.Task.WaitAsync(Deadline);
        await f.Store.WaitForReadModelAsync();
        Assert.Null(f.Store.Catalog.Find(Default, late.Fingerprint));
    }

    private static async Task<ImageRecord> Cached(StoreFixture f, FakeTimeProvider clock, string seed)
    {
        var path = f.Unified(seed);
        var fp = Fingerprint.Parse(Convert.ToHexStringLower(SHA256.HashData(File.ReadAllBytes(path))));
        var fetch = new ImageFetch(async (blobs, token) => (await blobs.ImportFileAsync(path, fp, token), Images.Record(fp, cached: true) with { UploadedAt = clock.GetUtcNow() }), "cache");
        return await f.Store.DownloadAsync(Default, fp, fetch);
    }

    /// <summary>A lifecycle listener appending each event to a file in a folder that is missing until <see cref="Repair"/>.</summary>
    private sealed class EventLog
    {
        private readonly string _folder;
        private readonly string _path;
        private readonly TaskCompletionSource<Fingerprint> _firstFailure = new(TaskCreationOptions.RunContinuationsAsynchronously);

        public EventLog(StoreFixture f)
        {
            _folder = Path.Combine(f.Root.FullName, "event-log");
            _path = Path.Combine(_folder, "events.log");
            f.Store.Lifecycle += (_, e) =>
            {
                try
                {
                    File.AppendAllText(_path, $"{e.Action} {e.Source}\n");
                }
                catch (IOException) when (e.Action == "image-deleted")
                {
                    _firstFailure.TrySetResult(Fingerprint.Parse(e.Source["/1.0/images/".Length..]));
                    throw;
                }
            };
        }

        /// <summary>The image whose deletion the log failed to record first.</summary>
        public Task<Fingerprint> FirstFailure => _firstFailure.Task;

        public void Repair() => Directory.CreateDirectory(_folder);

        public IReadOnlyList<string> Lines() => File.ReadAllLines(_path);
    }
}
