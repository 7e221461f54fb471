using ImageActors.Actors.Persistence;

namespace ImageActors.Persistence.Sql.Tests.InMemory;

public sealed class InMemoryJournalTests : JournalSpec
{
    protected override Task<IJournal> CreateJournalAsync() => Task.FromResult<IJournal>(new InMemoryJournal());
}

public sealed class InMemorySnapshotStoreTests : SnapshotStoreSpec
{
    protected override Task<ISnapshotStore> CreateStoreAsync() => Task.FromResult<ISnapshotStore>(new InMemorySnapshotStore());
}
