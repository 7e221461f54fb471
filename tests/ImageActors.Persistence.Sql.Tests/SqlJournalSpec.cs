using ImageActors.Actors.Persistence;

namespace ImageActors.Persistence.Sql.Tests;

/// <summary>
/// What the SQL journals add to the contract: serialization through the manifest registry,
/// group commit, restart, and the schema. A subclass only opens the store (again and again on
/// the same database, to show a restart).
/// </summary>
public abstract class SqlJournalSpec : JournalSpec
{
    private readonly List<SqlStore> _stores = [];

    /// <summary>Opens a store on this test's database (the same one every time).</summary>
    protected abstract Task<SqlStore> OpenStoreAsync();

    protected SqlJournal SqlJournal => (SqlJournal)Journal;

    protected async Task<SqlStore> OpenTrackedStoreAsync()
    {
        var store = await OpenStoreAsync();
        _stores.Add(store);
        return store;
    }

    protected override async Task<IJournal> CreateJournalAsync() => new SqlJournal(await OpenTrackedStoreAsync(), TestEvents.Registry());

    protected override async Task CleanupAsync()
    {
        foreach (var store in _stores)
        {
            await store.DisposeAsync();
        }

        await base.CleanupAsync();
    }

    [Fact]
    public async Task Writes_queued_together_commit_as_one_batch_and_a_conflict_fails_only_its_writer()
    {
        await Journal.WriteAsync(Events("taken", 1, 1));
        var batchesBefore = SqlJournal.BatchesCommitted;

        Task[] fine;
        Task stale, contestedFirst, contestedSecond;
        using (await SqlJournal.PauseWriterAsync())
        {
            fine = [.. Enumerable.Range(0, 100).Select(i => Journal.WriteAsync(Events($"actor-{i}", 1, 1 + (i % 3), "writer-1", "batch")).AsTask())];
            stale = Journal.WriteAsync(Events("taken", 1, 2, "stale")).AsTask();
            contestedFirst = Journal.WriteAsync(Events("contested", 1, 1, "first")).AsTask();
            contestedSecond = Journal.WriteAsync(Events("contested", 1, 1, "second")).AsTask();
            Assert.All(fine, t => Assert.False(t.IsCompleted));
        }

        await Task.WhenAll(fine);
        await contestedFirst;
        await Assert.ThrowsAsync<ConcurrencyException>(() => stale);
        await Assert.ThrowsAsync<ConcurrencyException>(() => contestedSecond);

        Assert.Equal(batchesBefore + 1, SqlJournal.BatchesCommitted);
        Assert.Equal(Enumerable.Range(0, 100).Sum(i => 1 + (i % 3)), (await ByTagAsync("batch")).Count);
        Assert.Equal(1, await Journal.ReadHighestSequenceNrAsync("taken"));
        Assert.Equal("first", (await ReplayAllAsync("contested")).Single().WriterUuid);

        // The ids were new in the batch that was rolled back: their keys come from the commit.
        for (var i = 0; i < 100; i++)
        {
            Assert.Equal(1 + (i % 3), await Journal.ReadHighestSequenceNrAsync($"actor-{i}"));
        }

        await Journal.WriteAsync(Events("actor-0", 2, 1));
        Assert.Equal([1L, 2], (await ReplayAllAsync("actor-0")).Select(e => e.SequenceNr));
    }

    [Fact]
    public async Task Two_journals_on_one_database_share_the_key_of_an_id_either_writes_first()
    {
        await using var other = new SqlJournal(await OpenTrackedStoreAsync(), TestEvents.Registry());

        // Each journal caches the keys it committed; the other learns them from the database.
        await Journal.WriteAsync(Events("image-1", 1, 2, "node-a"));
        await other.WriteAsync(Events("image-2", 1, 1, "node-b"));
        await Assert.ThrowsAsync<ConcurrencyException>(async () => await other.WriteAsync(Events("image-1", 2, 1, "node-b")));
        await Assert.ThrowsAsync<ConcurrencyException>(async () => await Journal.WriteAsync(Events("image-2", 1, 1, "node-a")));
        await other.WriteAsync(Events("image-1", 3, 1, "node-b"));
        await Journal.WriteAsync(Events("image-2", 2, 1, "node-a"));

        // Both insert a new id at once: one key, and one of the two writes wins.
        var racing = await Task.WhenAll(
            FailureOf(Journal.WriteAsync(Events("image-3", 1, 1, "node-a"))),
            FailureOf(other.WriteAsync(Events("image-3", 1, 1, "node-b"))));
        Assert.Single(racing, failure => failure is null);
        Assert.Single(racing, failure => failure is ConcurrencyException);

        Assert.Equal(["node-a", "node-a", "node-b"], (await ReplayAllAsync("image-1")).Select(e => e.WriterUuid));
        Assert.Equal(["node-b", "node-a"], (await ReplayAllAsync("image-2")).Select(e => e.WriterUuid));
        Assert.Single(await ReplayAllAsync("image-3"));
        var ids = new List<string>();
        await foreach (var id in Queries.CurrentPersistenceIdsAsync())
        {
            ids.Add(id);
        }

        Assert.Equal(["image-1", "image-2", "image-3"], ids.Order(StringComparer.Ordinal));
    }

    [Fact]
    public async Task An_unserializable_event_is_rejected_alone_and_its_writer_may_go_on()
    {
        var bad = new AtomicWrite("shelf-a", [new PersistentRepresentation("shelf-a", 1, new Unregistered("x"), "writer-1", default, [])]);
        Task good;
        using (await SqlJournal.PauseWriterAsync())
        {
            good = Journal.WriteAsync(Events("shelf-b", 1, 1)).AsTask();
            var error = await Assert.ThrowsAsync<EventRejectedException>(async () => await Journal.WriteAsync(bad));
            Assert.Contains(nameof(Unregistered), error.Message, StringComparison.Ordinal);
        }

        await good;
        await Journal.WriteAsync(Events("shelf-a", 1, 1));
        Assert.Equal([1L], (await ReplayAllAsync("shelf-a")).Select(e => e.SequenceNr));
    }

    [Fact]
    public async Task Events_survive_closing_and_reopening_the_store()
    {
        await Journal.WriteAsync(Events("shelf-a", 1, 3, "writer-1", "images"));
        await Journal.DeleteMessagesToAsync("shelf-a", 1);

        await using var reopened = new SqlJournal(await OpenTrackedStoreAsync(), TestEvents.Registry());

        Assert.Equal(3, await reopened.ReadHighestSequenceNrAsync("shelf-a"));
        var replayed = new List<long>();
        await foreach (var e in reopened.ReplayAsync("shelf-a", 1, long.MaxValue, long.MaxValue))
        {
            replayed.Add(e.SequenceNr);
        }

        Assert.Equal([2L, 3], replayed);
        await Assert.ThrowsAsync<ConcurrencyException>(async () => await reopened.WriteAsync(Events("shelf-a", 3, 1)));
    }

    [Fact]
    public async Task Opening_the_store_again_applies_each_schema_step_once()
    {
        var first = await OpenTrackedStoreAsync();
        var second = await OpenTrackedStoreAsync();

        var versions = await second.ReadSchemaVersionsAsync();

        Assert.Equal(first.Migrations.Select(m => m.Version), versions);
    }

    [Fact]
    public async Task A_batch_larger_than_the_cap_is_split_and_every_write_commits()
    {
        await using var journal = new SqlJournal(await OpenTrackedStoreAsync(), TestEvents.Registry(), new JournalSettings { MaxBatchEvents = 10, QueueCapacity = 8 });

        // 8 queued writes fill the queue; the rest must wait for room (back-pressure), not fail.
        var writes = Enumerable.Range(0, 60).Select(i => journal.WriteAsync(Events($"capped-{i}", 1, 3)).AsTask()).ToArray();
        await Task.WhenAll(writes);

        // A batch stops taking writes once it holds 10 events or more: at most 4 writes of 3.
        Assert.True(journal.BatchesCommitted >= 15);
        for (var i = 0; i < 60; i++)
        {
            Assert.Equal(3, await journal.ReadHighestSequenceNrAsync($"capped-{i}"));
        }
    }
    [Fact]
    public async Task Under_load_a_batch_waits_for_as_many_writes_as_the_last_one_held()
    {
        // A commit delay far longer than any test: only the writes arriving can end the wait.
        await using var journal = new SqlJournal(await OpenTrackedStoreAsync(), TestEvents.Registry(), new JournalSettings { CommitDelay = TimeSpan.FromHours(1) });
        await CommitTwoWritesInOneBatchAsync(journal);
        var batchesBefore = journal.BatchesCommitted;

        // The batch holding the first of these two has to wait for the second to commit at all.
        var first = journal.WriteAsync(Events("late-a", 1, 1)).AsTask();
        var second = journal.WriteAsync(Events("late-b", 1, 1)).AsTask();
        await Task.WhenAll(first, second);

        Assert.Equal(batchesBefore + 1, journal.BatchesCommitted);
    }

    [Fact]
    public async Task A_lone_writer_does_not_wait_for_the_commit_delay()
    {
        await using var journal = new SqlJournal(await OpenTrackedStoreAsync(), TestEvents.Registry(), new JournalSettings { CommitDelay = TimeSpan.FromHours(1) });

        for (var seq = 1; seq <= 3; seq++)
        {
            await journal.WriteAsync(Events("alone", seq, 1));
        }

        Assert.Equal(3, await journal.ReadHighestSequenceNrAsync("alone"));
    }

    [Fact]
    public async Task A_write_that_joins_a_waiting_batch_and_conflicts_fails_alone()
    {
        await using var journal = new SqlJournal(await OpenTrackedStoreAsync(), TestEvents.Registry(), new JournalSettings { CommitDelay = TimeSpan.FromHours(1) });
        await CommitTwoWritesInOneBatchAsync(journal);

        // The batch waits for a second write after the first; the second claims the same numbers.
        var first = journal.WriteAsync(Events("contested", 1, 2, "first", "joined")).AsTask();
        var second = journal.WriteAsync(Events("contested", 2, 1, "second", "joined")).AsTask();

        await first;
        var error = await Assert.ThrowsAsync<ConcurrencyException>(() => second);
        Assert.Contains("contested", error.Message, StringComparison.Ordinal);
        Assert.Equal(["first", "first"], (await ReplayAllAsync("contested")).Select(e => e.WriterUuid));
        Assert.Equal(2, (await ByTagAsync("joined")).Count);
    }

    private static async Task<Exception?> FailureOf(ValueTask write)
    {
        try
        {
            await write;
            return null;
        }
        catch (Exception e)
        {
            return e;
        }
    }

    /// <summary>Makes the next batch expect two writes (the load of the last one).</summary>
    private static async Task CommitTwoWritesInOneBatchAsync(SqlJournal journal)
    {
        Task[] warm;
        using (await journal.PauseWriterAsync())
        {
            warm = [journal.WriteAsync(Events("warm-a", 1, 1)).AsTask(), journal.WriteAsync(Events("warm-b", 1, 1)).AsTask()];
        }

        await Task.WhenAll(warm);
    }
}
