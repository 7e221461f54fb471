using ImageActors.Actors.Persistence;

namespace ImageActors.Persistence.Sql.Tests;

/// <summary>
/// A database written with schema version 1 (text persistence ids in the unique index) goes
/// through the later steps when a store opens it: every event, tag and deletion survives, and the
/// journal goes on writing, and refusing taken sequence numbers, on the upgraded schema. The rows
/// are inserted in the version 1 shape directly, as the journal of that version wrote them.
/// </summary>
public abstract class SchemaUpgradeSpec : IAsyncLifetime
{
    /// <summary>Opens a store on this test's database (the same one every time), migrated up to <paramref name="schemaVersion"/>.</summary>
    protected abstract Task<SqlStore> OpenStoreAsync(int schemaVersion);

    public Task InitializeAsync() => Task.CompletedTask;

    public virtual Task DisposeAsync() => Task.CompletedTask;

    [Fact]
    public async Task A_version_1_database_keeps_its_events_and_takes_new_writes_after_the_upgrade_to_integer_keys()
    {
        await using (var old = await OpenStoreAsync(1))
        {
            Assert.Equal([1], await old.ReadSchemaVersionsAsync());
            await InsertVersion1RowAsync(old, "shelf-a", 1, "images");
            await InsertVersion1RowAsync(old, "shelf-a", 2, "images");
            await InsertVersion1RowAsync(old, "shelf-c", 1, "images", "aliases");
            await InsertVersion1RowAsync(old, "shelf-a", 3);

            // shelf-b was deleted up to 2 by the version 1 journal: only its highest row is left, marked.
            await InsertVersion1RowAsync(old, "shelf-b", 2, deleted: true);
        }

        await using var store = await OpenStoreAsync(int.MaxValue);
        Assert.Equal(store.Migrations.Select(m => m.Version), await store.ReadSchemaVersionsAsync());
        Assert.True(store.Migrations.Count >= 2);
        await using var journal = new SqlJournal(store, TestEvents.Registry());

        var shelfA = await ReplayAsync(journal, "shelf-a");
        Assert.Equal([1L, 2, 3], shelfA.Select(e => e.SequenceNr));
        Assert.Equal(new ItemAdded("shelf-a-2", 2), shelfA[1].Payload);
        Assert.All(shelfA, e => Assert.Equal("old-node", e.WriterUuid));
        Assert.Equal(["images"], shelfA[0].Tags);
        Assert.Empty(await ReplayAsync(journal, "shelf-b"));
        Assert.Equal(2, await journal.ReadHighestSequenceNrAsync("shelf-b"));
        Assert.Equal([("shelf-a", 1L), ("shelf-a", 2L), ("shelf-c", 1L)], (await ByTagAsync(journal, "images")).Select(e => (e.Event.PersistenceId, e.Event.SequenceNr)));
        Assert.Equal([("shelf-c", 1L)], (await ByTagAsync(journal, "aliases")).Select(e => (e.Event.PersistenceId, e.Event.SequenceNr)));
        var ids = new List<string>();
        await foreach (var id in journal.CurrentPersistenceIdsAsync())
        {
            ids.Add(id);
        }

        Assert.Equal(["shelf-a", "shelf-b", "shelf-c"], ids.Order(StringComparer.Ordinal));
        var orderingBefore = await journal.ReadHighestOrderingAsync();

        // Taken sequence numbers of migrated ids are still refused, as typed errors naming the id.
        var taken = await Assert.ThrowsAsync<ConcurrencyException>(async () => await journal.WriteAsync(Write("shelf-a", 3, "new-node")));
        Assert.Contains("shelf-a", taken.Message, StringComparison.Ordinal);
        await Assert.ThrowsAsync<ConcurrencyException>(async () => await journal.WriteAsync(Write("shelf-b", 2, "new-node")));

        await journal.WriteAsync(Write("shelf-a", 4, "new-node", "images"));
        await journal.WriteAsync(Write("shelf-b", 3, "new-node"));
        await journal.WriteAsync(Write("shelf-d", 1, "new-node", "images"));
        await journal.DeleteMessagesToAsync("shelf-a", 2);

        Assert.Equal([3L, 4], (await ReplayAsync(journal, "shelf-a")).Select(e => e.SequenceNr));
        Assert.Equal([3L], (await ReplayAsync(journal, "shelf-b")).Select(e => e.SequenceNr));
        Assert.Equal(1, await journal.ReadHighestSequenceNrAsync("shelf-d"));
        Assert.Equal([("shelf-c", 1L), ("shelf-a", 4L), ("shelf-d", 1L)], (await ByTagAsync(journal, "images")).Select(e => (e.Event.PersistenceId, e.Event.SequenceNr)));
        Assert.True(await journal.ReadHighestOrderingAsync() > orderingBefore);
    }

    private static async Task InsertVersion1RowAsync(SqlStore store, string persistenceId, long sequenceNr, params string[] tags) =>
        await InsertVersion1RowAsync(store, persistenceId, sequenceNr, deleted: false, tags);

    private static async Task InsertVersion1RowAsync(SqlStore store, string persistenceId, long sequenceNr, bool deleted, params string[] tags)
    {
        var (manifest, payload) = TestEvents.Registry().Serialize(new ItemAdded($"{persistenceId}-{sequenceNr}", (int)sequenceNr));
        await store.RunWriteAsync(
            async connection =>
            {
                await using var tx = await store.BeginWriteTransactionAsync(connection, CancellationToken.None);
                await using (var insert = SqlStore.Command(connection, tx,
                    "INSERT INTO journal (persistence_id, sequence_nr, created, manifest, payload, tags, writer_uuid, deleted) " +
                    "VALUES (@pid, @seq, @created, @manifest, @payload, @tags, @writer, @deleted)",
                    ("pid", persistenceId), ("seq", sequenceNr), ("created", DateTimeOffset.UtcNow.UtcTicks), ("manifest", manifest), ("payload", payload),
                    ("tags", tags.Length == 0 ? null : string.Join(';', tags)), ("writer", "old-node"), ("deleted", deleted)))
                {
                    await insert.ExecuteNonQueryAsync();
                }

                foreach (var tag in tags)
                {
                    await using var tagInsert = SqlStore.Command(connection, tx,
                        "INSERT INTO journal_tags (tag, ordering) SELECT @tag, ordering FROM journal WHERE persistence_id = @pid AND sequence_nr = @seq",
                        ("tag", tag), ("pid", persistenceId), ("seq", sequenceNr));
                    await tagInsert.ExecuteNonQueryAsync();
                }

                await tx.CommitAsync();
                return true;
            },
            CancellationToken.None);
    }

    private static AtomicWrite Write(string persistenceId, long sequenceNr, string writer, params string[] tags) =>
        new(persistenceId, [new PersistentRepresentation(persistenceId, sequenceNr, new ItemAdded($"{persistenceId}-{sequenceNr}", (int)sequenceNr), writer, default, tags)]);

    private static async Task<List<PersistentRepresentation>> ReplayAsync(SqlJournal journal, string persistenceId)
    {
        var events = new List<PersistentRepresentation>();
        await foreach (var e in journal.ReplayAsync(persistenceId, 1, long.MaxValue, long.MaxValue))
        {
            events.Add(e);
        }

        return events;
    }

    private static async Task<List<EventEnvelope>> ByTagAsync(SqlJournal journal, string tag)
    {
        var events = new List<EventEnvelope>();
        await foreach (var e in journal.CurrentEventsByTagAsync(tag, 0))
        {
            events.Add(e);
        }

        return events;
    }
}
