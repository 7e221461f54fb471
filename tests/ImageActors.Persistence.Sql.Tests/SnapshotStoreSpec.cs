using ImageActors.Actors.Persistence;

namespace ImageActors.Persistence.Sql.Tests;

/// <summary>The contract every snapshot store passes; a subclass only supplies the store.</summary>
public abstract class SnapshotStoreSpec : IAsyncLifetime
{
    private static readonly DateTimeOffset T0 = new(2026, 11, 1, 12, 0, 0, TimeSpan.Zero);
    private ISnapshotStore? _store;

    protected ISnapshotStore Store => _store ?? throw new InvalidOperationException("Not initialized.");

    /// <summary>Creates the store under test, empty.</summary>
    protected abstract Task<ISnapshotStore> CreateStoreAsync();

    /// <summary>Releases what the subclass created.</summary>
    protected virtual Task CleanupAsync() => Task.CompletedTask;

    public async Task InitializeAsync() => _store = await CreateStoreAsync();

    public Task DisposeAsync() => CleanupAsync();

    private async Task SaveAsync(string id, long seq, int minutes) =>
        await Store.SaveAsync(new SnapshotMetadata(id, seq, T0.AddMinutes(minutes)), new ShelfSnapshot(id, (int)seq));

    [Fact]
    public async Task Load_returns_null_when_there_is_no_snapshot()
    {
        await SaveAsync("shelf-b", 3, 0);

        Assert.Null(await Store.LoadAsync("shelf-a", SnapshotSelectionCriteria.Latest));
        Assert.Null(await Store.LoadAsync("shelf-b", SnapshotSelectionCriteria.None));
    }

    [Fact]
    public async Task Load_returns_the_newest_snapshot_with_its_metadata()
    {
        await SaveAsync("shelf-a", 5, 1);
        await SaveAsync("shelf-a", 10, 2);
        await SaveAsync("shelf-a", 7, 3);

        var loaded = await Store.LoadAsync("shelf-a", SnapshotSelectionCriteria.Latest);

        Assert.NotNull(loaded);
        Assert.Equal(new SnapshotMetadata("shelf-a", 10, T0.AddMinutes(2)), loaded.Metadata);
        Assert.Equal(new ShelfSnapshot("shelf-a", 10), loaded.Snapshot);
    }

    [Fact]
    public async Task Load_honours_sequence_and_time_bounds()
    {
        await SaveAsync("shelf-a", 5, 1);
        await SaveAsync("shelf-a", 10, 2);
        await SaveAsync("shelf-a", 15, 3);

        Assert.Equal(10, (await Store.LoadAsync("shelf-a", new SnapshotSelectionCriteria(12, DateTimeOffset.MaxValue)))?.Metadata.SequenceNr);
        Assert.Equal(5, (await Store.LoadAsync("shelf-a", new SnapshotSelectionCriteria(long.MaxValue, T0.AddMinutes(1))))?.Metadata.SequenceNr);
        Assert.Equal(15, (await Store.LoadAsync("shelf-a", new SnapshotSelectionCriteria(long.MaxValue, DateTimeOffset.MaxValue, 11)))?.Metadata.SequenceNr);
        Assert.Null(await Store.LoadAsync("shelf-a", new SnapshotSelectionCriteria(long.MaxValue, DateTimeOffset.MaxValue, 0, T0.AddMinutes(4))));
    }

    [Fact]
    public async Task Saving_the_same_sequence_number_again_replaces_the_snapshot()
    {
        await SaveAsync("shelf-a", 5, 1);
        await Store.SaveAsync(new SnapshotMetadata("shelf-a", 5, T0.AddMinutes(9)), new ShelfSnapshot("replaced", 1));

        var loaded = await Store.LoadAsync("shelf-a", SnapshotSelectionCriteria.Latest);

        Assert.Equal(new ShelfSnapshot("replaced", 1), loaded?.Snapshot);
        Assert.Equal(T0.AddMinutes(9), loaded?.Metadata.Timestamp);
    }

    [Fact]
    public async Task Delete_by_metadata_removes_only_that_snapshot()
    {
        await SaveAsync("shelf-a", 5, 1);
        await SaveAsync("shelf-a", 10, 2);
        await SaveAsync("shelf-b", 10, 2);

        await Store.DeleteAsync(new SnapshotMetadata("shelf-a", 10, T0.AddMinutes(2)));

        Assert.Equal(5, (await Store.LoadAsync("shelf-a", SnapshotSelectionCriteria.Latest))?.Metadata.SequenceNr);
        Assert.Equal(10, (await Store.LoadAsync("shelf-b", SnapshotSelectionCriteria.Latest))?.Metadata.SequenceNr);
    }

    [Fact]
    public async Task Delete_by_criteria_removes_every_matching_snapshot_of_that_id()
    {
        await SaveAsync("shelf-a", 5, 1);
        await SaveAsync("shelf-a", 10, 2);
        await SaveAsync("shelf-a", 15, 3);
        await SaveAsync("shelf-b", 5, 1);

        await Store.DeleteAsync("shelf-a", new SnapshotSelectionCriteria(10, DateTimeOffset.MaxValue));

        Assert.Equal(15, (await Store.LoadAsync("shelf-a", SnapshotSelectionCriteria.Latest))?.Metadata.SequenceNr);
        Assert.Null(await Store.LoadAsync("shelf-a", new SnapshotSelectionCriteria(14, DateTimeOffset.MaxValue)));
        Assert.Equal(5, (await Store.LoadAsync("shelf-b", SnapshotSelectionCriteria.Latest))?.Metadata.SequenceNr);
    }
}
