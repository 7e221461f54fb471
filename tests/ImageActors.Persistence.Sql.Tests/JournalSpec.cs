using ImageActors.Actors.Persistence;

namespace ImageActors.Persistence.Sql.Tests;

/// <summary>
/// The contract every journal passes (in memory, SQLite, PostgreSQL): a subclass only supplies
/// the journal. xUnit makes a new instance, so a new journal, for every test.
/// </summary>
public abstract class JournalSpec : IAsyncLifetime
{
    private IJournal? _journal;

    protected IJournal Journal => _journal ?? throw new InvalidOperationException("Not initialized.");

    protected IJournalQueries Queries => (IJournalQueries)Journal;

    /// <summary>Creates the journal under test, empty.</summary>
    protected abstract Task<IJournal> CreateJournalAsync();

    /// <summary>Releases what the subclass created (after the journal is disposed).</summary>
    protected virtual Task CleanupAsync() => Task.CompletedTask;

    public async Task InitializeAsync() => _journal = await CreateJournalAsync();

    public async Task DisposeAsync()
    {
        if (_journal is IAsyncDisposable disposable)
        {
            await disposable.DisposeAsync();
        }

        await CleanupAsync();
    }

    protected static AtomicWrite Events(string persistenceId, long from, int count, string writer = "writer-1", params string[] tags) =>
        new(persistenceId, [.. Enumerable.Range(0, count).Select(i => Event(persistenceId, from + i, writer, tags))]);

    protected static PersistentRepresentation Event(string persistenceId, long sequenceNr, string writer = "writer-1", params string[] tags) =>
        new(persistenceId, sequenceNr, new ItemAdded($"{persistenceId}-{sequenceNr}", (int)sequenceNr), writer, default, tags);

    protected async Task<List<PersistentRepresentation>> ReplayAllAsync(string persistenceId, long from = 1, long to = long.MaxValue, long max = long.MaxValue)
    {
        var events = new List<PersistentRepresentation>();
        await foreach (var e in Journal.ReplayAsync(persistenceId, from, to, max))
        {
            events.Add(e);
        }

        return events;
    }

    protected async Task<List<EventEnvelope>> ByTagAsync(string tag, long after = 0)
    {
        var events = new List<EventEnvelope>();
        await foreach (var e in Queries.CurrentEventsByTagAsync(tag, after))
        {
            events.Add(e);
        }

        return events;
    }

    [Fact]
    public async Task Replay_returns_written_events_in_order_with_their_metadata()
    {
        await Journal.WriteAsync(Events("shelf-a", 1, 3, "writer-7", "images"));

        var events = await ReplayAllAsync("shelf-a");

        Assert.Equal([1L, 2, 3], events.Select(e => e.SequenceNr));
        Assert.Equal(new ItemAdded("shelf-a-2", 2), events[1].Payload);
        Assert.All(events, e =>
        {
            Assert.Equal("shelf-a", e.PersistenceId);
            Assert.Equal("writer-7", e.WriterUuid);
            Assert.Equal(["images"], e.Tags);
            Assert.False(e.IsDeleted);
            Assert.NotEqual(default, e.Timestamp);
        });
    }

    [Fact]
    public async Task Replay_honours_from_to_and_max()
    {
        await Journal.WriteAsync(Events("shelf-a", 1, 5));
        await Journal.WriteAsync(Events("shelf-a", 6, 5));

        Assert.Equal([3L, 4, 5, 6], (await ReplayAllAsync("shelf-a", 3, 6)).Select(e => e.SequenceNr));
        Assert.Equal([4L, 5], (await ReplayAllAsync("shelf-a", 4, 10, 2)).Select(e => e.SequenceNr));
        Assert.Empty(await ReplayAllAsync("shelf-a", 11));
        Assert.Empty(await ReplayAllAsync("shelf-a", 1, 10, 0));
        Assert.Empty(await ReplayAllAsync("shelf-b"));
    }

    [Fact]
    public async Task Highest_sequence_number_is_zero_for_an_unknown_id_and_the_last_written_otherwise()
    {
        Assert.Equal(0, await Journal.ReadHighestSequenceNrAsync("nobody"));

        await Journal.WriteAsync(Events("shelf-a", 1, 4));

        Assert.Equal(4, await Journal.ReadHighestSequenceNrAsync("shelf-a"));
    }

    [Fact]
    public async Task Delete_to_hides_events_but_the_highest_sequence_number_never_goes_back()
    {
        await Journal.WriteAsync(Events("shelf-a", 1, 5, "writer-1", "images"));

        await Journal.DeleteMessagesToAsync("shelf-a", 3);
        Assert.Equal([4L, 5], (await ReplayAllAsync("shelf-a")).Select(e => e.SequenceNr));
        Assert.Equal([4L, 5], (await ByTagAsync("images")).Select(e => e.Event.SequenceNr));

        await Journal.DeleteMessagesToAsync("shelf-a", 5);
        Assert.Empty(await ReplayAllAsync("shelf-a"));
        Assert.Empty(await ByTagAsync("images"));
        Assert.Equal(5, await Journal.ReadHighestSequenceNrAsync("shelf-a"));

        // The kept highest number still guards the id: an old incarnation cannot write 5 again.
        await Assert.ThrowsAsync<ConcurrencyException>(async () => await Journal.WriteAsync(Events("shelf-a", 5, 1)));
        await Journal.WriteAsync(Events("shelf-a", 6, 1));
        Assert.Equal([6L], (await ReplayAllAsync("shelf-a")).Select(e => e.SequenceNr));
    }

    [Fact]
    public async Task Writing_a_taken_sequence_number_throws_ConcurrencyException_and_keeps_the_original()
    {
        await Journal.WriteAsync(Events("shelf-a", 1, 2, "writer-1"));

        var error = await Assert.ThrowsAsync<ConcurrencyException>(async () => await Journal.WriteAsync(Events("shelf-a", 2, 1, "writer-2")));

        Assert.Equal("shelf-a", error.PersistenceId);
        Assert.Equal(2, error.SequenceNr);
        var events = await ReplayAllAsync("shelf-a");
        Assert.Equal([1L, 2], events.Select(e => e.SequenceNr));
        Assert.All(events, e => Assert.Equal("writer-1", e.WriterUuid));
    }

    [Fact]
    public async Task An_atomic_write_with_one_taken_sequence_number_writes_none_of_its_events()
    {
        await Journal.WriteAsync(Events("shelf-a", 1, 2));

        await Assert.ThrowsAsync<ConcurrencyException>(async () => await Journal.WriteAsync(Events("shelf-a", 2, 3, "writer-2")));

        Assert.Equal(2, await Journal.ReadHighestSequenceNrAsync("shelf-a"));
        Assert.Equal([1L, 2], (await ReplayAllAsync("shelf-a")).Select(e => e.SequenceNr));
    }

    [Fact]
    public async Task An_atomic_write_with_gaps_or_a_foreign_persistence_id_is_rejected()
    {
        var gap = new AtomicWrite("shelf-a", [Event("shelf-a", 1), Event("shelf-a", 3)]);
        var foreign = new AtomicWrite("shelf-a", [Event("shelf-a", 1), Event("shelf-b", 2)]);

        await Assert.ThrowsAsync<EventRejectedException>(async () => await Journal.WriteAsync(gap));
        await Assert.ThrowsAsync<EventRejectedException>(async () => await Journal.WriteAsync(foreign));

        Assert.Equal(0, await Journal.ReadHighestSequenceNrAsync("shelf-a"));
        await Journal.WriteAsync(Events("shelf-a", 1, 2));
        Assert.Equal(2, await Journal.ReadHighestSequenceNrAsync("shelf-a"));
    }

    [Fact]
    public async Task Two_live_writers_with_one_persistence_id_the_stale_one_fails_and_the_live_one_carries_on()
    {
        await Journal.WriteAsync(Events("image-1", 1, 2, "first-node"));

        // Both incarnations recovered at 2; the live one writes first.
        var staleNext = await Journal.ReadHighestSequenceNrAsync("image-1") + 1;
        var liveNext = await Journal.ReadHighestSequenceNrAsync("image-1") + 1;
        await Journal.WriteAsync(Events("image-1", liveNext, 2, "live"));

        await Assert.ThrowsAsync<ConcurrencyException>(async () => await Journal.WriteAsync(Events("image-1", staleNext, 1, "stale")));
        await Journal.WriteAsync(Events("image-1", liveNext + 2, 1, "live"));

        var events = await ReplayAllAsync("image-1");
        Assert.Equal([1L, 2, 3, 4, 5], events.Select(e => e.SequenceNr));
        Assert.Equal(["first-node", "first-node", "live", "live", "live"], events.Select(e => e.WriterUuid));
        Assert.Equal(new ItemAdded("image-1-3", 3), events[2].Payload);
    }

    [Fact]
    public async Task Events_by_tag_come_in_global_order_after_the_given_offset()
    {
        await Journal.WriteAsync(Events("shelf-a", 1, 2, "writer-1", "images"));
        await Journal.WriteAsync(Events("shelf-b", 1, 1, "writer-1", "aliases"));
        await Journal.WriteAsync(Events("shelf-c", 1, 2, "writer-1", "images", "aliases"));

        var images = await ByTagAsync("images");
        Assert.Equal([("shelf-a", 1L), ("shelf-a", 2L), ("shelf-c", 1L), ("shelf-c", 2L)], images.Select(e => (e.Event.PersistenceId, e.Event.SequenceNr)));
        Assert.True(images.Zip(images.Skip(1)).All(p => p.First.Ordering < p.Second.Ordering));

        var resumed = await ByTagAsync("images", images[1].Ordering);
        Assert.Equal(images.Skip(2).Select(e => e.Ordering), resumed.Select(e => e.Ordering));
        Assert.Equal([("shelf-b", 1L), ("shelf-c", 1L), ("shelf-c", 2L)], (await ByTagAsync("aliases")).Select(e => (e.Event.PersistenceId, e.Event.SequenceNr)));
        Assert.Empty(await ByTagAsync("nothing"));
    }

    [Fact]
    public async Task Current_persistence_ids_lists_every_writer_once()
    {
        await Journal.WriteAsync(Events("shelf-a", 1, 2));
        await Journal.WriteAsync(Events("shelf-b", 1, 1));
        await Journal.WriteAsync(Events("shelf-a", 3, 1));

        var ids = new List<string>();
        await foreach (var id in Queries.CurrentPersistenceIdsAsync())
        {
            ids.Add(id);
        }

        Assert.Equal(["shelf-a", "shelf-b"], ids.Order(StringComparer.Ordinal));
    }

    [Fact]
    public async Task Highest_ordering_grows_with_every_event()
    {
        Assert.Equal(0, await Queries.ReadHighestOrderingAsync());

        await Journal.WriteAsync(Events("shelf-a", 1, 3, "writer-1", "t"));
        var afterFirst = await Queries.ReadHighestOrderingAsync();
        await Journal.WriteAsync(Events("shelf-b", 1, 2, "writer-1", "t"));
        var afterSecond = await Queries.ReadHighestOrderingAsync();

        Assert.True(afterFirst >= 3);
        Assert.True(afterSecond >= afterFirst + 2);
        Assert.Equal(afterSecond, (await ByTagAsync("t"))[^1].Ordering);
    }

    [Fact]
    public async Task Concurrent_writers_of_different_ids_all_succeed()
    {
        // Writers of one id wait for their own previous write, as a persistent actor does.
        var byId = Enumerable.Range(0, 50).Select(async id =>
        {
            for (var seq = 1; seq <= 4; seq++)
            {
                await Journal.WriteAsync(Events($"other-{id}", seq, 1));
            }
        });

        await Task.WhenAll(byId);

        for (var id = 0; id < 50; id++)
        {
            Assert.Equal([1L, 2, 3, 4], (await ReplayAllAsync($"other-{id}")).Select(e => e.SequenceNr));
        }
    }
}
