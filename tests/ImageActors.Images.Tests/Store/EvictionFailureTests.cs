using System.Security.Cryptography;
using ImageActors.Images.Domain;
using ImageActors.Streaming;
using Microsoft.Extensions.Time.Testing;

namespace ImageActors.Images.Tests.Store;

/// <summary>
/// An eviction pass in which a step fails: a lifecycle listener that appends each event to a log file fails (its
/// directory is missing) when the pass announces an image it removed. A failed step does not stop the pass's other
/// steps, and the next pass tries again what failed. The fake clock does not move while an answer is awaited, so an
/// answer that comes at all comes from the pass, never from an ask timeout.
/// </summary>
public sealed class EvictionFailureTests
{
    private static readonly ProjectName Default = ProjectName.Default;
    private static readonly TimeSpan Deadline = TimeSpan.FromSeconds(30);
    private static readonly DateTimeOffset Start = new(2026, 5, 1, 0, 0, 0, TimeSpan.Zero);

    [Fact]
    public async Task A_failed_step_does_not_stop_the_other_evictions_of_its_pass_and_the_requester_hears_the_image_and_step()
    {
        var clock = new FakeTimeProvider(Start);
        await using var f = await StoreFixture.StartAsync(s => s with { Clock = clock });
        var images = new[] { await Cached(f, clock, "fail-a"), await Cached(f, clock, "fail-b"), await Cached(f, clock, "fail-c") };
        var log = new EventLog(f, repairAfterFirstFailure: true);
        clock.Advance(TimeSpan.FromDays(11));

        var error = await Assert.ThrowsAsync<EvictionFailedException>(() => f.Store.EvictNowAsync().WaitAsync(Deadline));

        var failed = await log.FirstFailure.WaitAsync(Deadline);
        Assert.Equal(failed, error.Eviction?.Image.Fingerprint);
        Assert.Contains(failed.ToString(), error.Message, StringComparison.Ordinal);
        Assert.Equal("announcing its deletion", error.Step);
        Assert.IsType<DirectoryNotFoundException>(error.InnerException);
        Assert.Equal(0, error.OtherFailures);
        Assert.Equal(images.Select(i => i.Fingerprint).Order(), error.Evicted.Select(e => e.Image.Fingerprint).Order());
        await f.Store.WaitForReadModelAsync();
        Assert.Empty(f.Store.Catalog.List());
        Assert.All(images, i => Assert.False(File.Exists(f.Store.Blobs.MetadataPath(i.Fingerprint))));
        Assert.Equal(
            images.Where(i => i.Fingerprint != failed).Select(i => $"image-deleted /1.0/images/{i.Fingerprint}").Order(),
            log.Lines().Order());
    }

    [Fact]
    public async Task A_deletion_whose_announcement_failed_is_announced_by_the_next_pass_and_only_once()
    {
        var clock = new FakeTimeProvider(Start);
        await using var f = await StoreFixture.StartAsync(s => s with { Clock = clock });
        var images = new[] { await Cached(f, clock, "again-a"), await Cached(f, clock, "again-b") };
        var log = new EventLog(f, repairAfterFirstFailure: false);
        clock.Advance(TimeSpan.FromDays(11));

        var error = await Assert.ThrowsAsync<EvictionFailedException>(() => f.Store.EvictNowAsync().WaitAsync(Deadline));
        Assert.Equal(1, error.OtherFailures);
        Assert.Equal(2, error.Evicted.Count);

        // Still failing: the next pass tries again, fails again, and keeps them for the pass after it.
        var still = await Assert.ThrowsAsync<EvictionFailedException>(() => f.Store.EvictNowAsync().WaitAsync(Deadline));
        Assert.Equal("announcing its deletion", still.Step);
        Assert.Empty(still.Evicted);

        log.Repair();
        var evicted = await f.Store.EvictNowAsync().WaitAsync(Deadline);
        var again = await f.Store.EvictNowAsync().WaitAsync(Deadline);

        Assert.Empty(evicted);
        Assert.Empty(again);
        Assert.Empty(f.Store.Catalog.List());
        Assert.Equal(images.Select(i => $"image-deleted /1.0/images/{i.Fingerprint}").Order(), log.Lines().Order());
    }

    [Fact]
    public async Task The_periodic_eviction_keeps_its_schedule_after_a_failed_pass()
    {
        var clock = new FakeTimeProvider(Start);
        await using var f = await StoreFixture.StartAsync(s => s with { Clock = clock, EvictionInterval = TimeSpan.FromDays(12) });

        // The schedule runs at start (nothing to do yet), then at day 12. The pass asked for at day 11 fails; the image
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

        // Whatever the requester heard (the first test checks that), the pass is over once it was answered or gave up.
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

    /// <summary>
    /// A lifecycle listener appending each event to a file in a folder that is missing until <see cref="Repair"/> (or,
    /// with <c>repairAfterFirstFailure</c>, until the first append failed).
    /// </summary>
    private sealed class EventLog
    {
        private readonly string _folder;
        private readonly string _path;
        private readonly TaskCompletionSource<Fingerprint> _firstFailure = new(TaskCreationOptions.RunContinuationsAsynchronously);

        // A pass announces its images concurrently: appends take turns, so "the first failure" is one append's.
        private readonly Lock _appending = new();

        public EventLog(StoreFixture f, bool repairAfterFirstFailure = false)
        {
            _folder = Path.Combine(f.Root.FullName, "event-log");
            _path = Path.Combine(_folder, "events.log");
            f.Store.Lifecycle += (_, e) =>
            {
                using var turn = _appending.EnterScope();
                try
                {
                    File.AppendAllText(_path, $"{e.Action} {e.Source}\n");
                }
                catch (IOException) when (e.Action == "image-deleted")
                {
                    if (_firstFailure.TrySetResult(Fingerprint.Parse(e.Source["/1.0/images/".Length..])) && repairAfterFirstFailure)
                    {
                        Repair();
                    }

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
