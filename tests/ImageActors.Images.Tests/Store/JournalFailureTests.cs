using ImageActors.Actors.Persistence;
using ImageActors.Images.Domain;

namespace ImageActors.Images.Tests.Store;

/// <summary>A journal that cannot write (a full disk, a lost database): the caller hears it at once, and nothing changes.</summary>
public sealed class JournalFailureTests
{
    private static readonly ProjectName Default = ProjectName.Default;

    // Far below the store's ask timeout (60 s in the fixture): an answer this fast is the failure, not a timeout.
    private static readonly TimeSpan Prompt = TimeSpan.FromSeconds(10);

    [Fact]
    public async Task An_update_the_journal_cannot_record_fails_at_once_with_a_typed_error_and_changes_nothing()
    {
        var journal = new SwitchableJournal();
        await using var f = await StoreFixture.StartAsync(s => s with { Journal = journal, Queries = journal });
        var record = await f.Store.ImportAsync(new ImportRequest(new ImageSource.UnifiedFile(f.Unified("journal-full"))));
        var fingerprint = record.Fingerprint.ToString();

        journal.Failure = new IOException("database or disk is full");
        var error = await Assert.ThrowsAsync<JournalWriteFailedException>(
            () => f.Store.UpdateAsync(Default, fingerprint, new ImagePut(true, false, new Dictionary<string, string> { ["os"] = "Changed" }, default, null)).WaitAsync(Prompt));

        Assert.Contains(fingerprint, error.Message, StringComparison.Ordinal);
        Assert.Contains("disk is full", error.Message, StringComparison.Ordinal);
        Assert.Equal(500, error.StatusCode);

        // Once the journal writes again the image is as it was, and the same update goes through.
        journal.Failure = null;
        Assert.NotEqual("Changed", f.Store.Get(Default, fingerprint).Properties.GetValueOrDefault("os"));
        var updated = await f.Store.UpdateAsync(Default, fingerprint, new ImagePut(true, false, new Dictionary<string, string> { ["os"] = "Changed" }, default, null)).WaitAsync(Prompt);
        Assert.Equal("Changed", updated.Properties["os"]);
    }

    [Fact]
    public async Task An_alias_the_journal_cannot_record_fails_at_once_and_does_not_exist()
    {
        var journal = new SwitchableJournal();
        await using var f = await StoreFixture.StartAsync(s => s with { Journal = journal, Queries = journal });
        var record = await f.Store.ImportAsync(new ImportRequest(new ImageSource.UnifiedFile(f.Unified("journal-full-alias"))));

        journal.Failure = new IOException("database or disk is full");
        var error = await Assert.ThrowsAsync<JournalWriteFailedException>(
            () => f.Store.CreateAliasAsync(Default, "web", record.Fingerprint.ToString()).WaitAsync(Prompt));

        Assert.Contains("alias web", error.Message, StringComparison.Ordinal);
        journal.Failure = null;
        Assert.Throws<AliasNotFoundException>(() => f.Store.GetAlias(Default, "web"));
        var alias = await f.Store.CreateAliasAsync(Default, "web", record.Fingerprint.ToString()).WaitAsync(Prompt);
        Assert.Equal(record.Fingerprint, alias.Target);
    }

    /// <summary>The in-memory journal, whose writes fail with <see cref="Failure"/> while it is set.</summary>
    private sealed class SwitchableJournal : IJournal, IJournalQueries
    {
        private readonly InMemoryJournal _inner = new();

        public volatile Exception? Failure;

        public ValueTask WriteAsync(AtomicWrite write, CancellationToken cancellationToken = default) =>
            Failure is { } failure ? ValueTask.FromException(failure) : _inner.WriteAsync(write, cancellationToken);

        public IAsyncEnumerable<PersistentRepresentation> ReplayAsync(string persistenceId, long fromSequenceNr, long toSequenceNr, long max, CancellationToken cancellationToken = default) =>
            _inner.ReplayAsync(persistenceId, fromSequenceNr, toSequenceNr, max, cancellationToken);

        public ValueTask<long> ReadHighestSequenceNrAsync(string persistenceId, long fromSequenceNr = 0, CancellationToken cancellationToken = default) =>
            _inner.ReadHighestSequenceNrAsync(persistenceId, fromSequenceNr, cancellationToken);

        public ValueTask DeleteMessagesToAsync(string persistenceId, long toSequenceNr, CancellationToken cancellationToken = default) =>
            _inner.DeleteMessagesToAsync(persistenceId, toSequenceNr, cancellationToken);

        public IAsyncEnumerable<EventEnvelope> CurrentEventsByTagAsync(string tag, long afterOrdering, CancellationToken cancellationToken = default) =>
            _inner.CurrentEventsByTagAsync(tag, afterOrdering, cancellationToken);

        public IAsyncEnumerable<string> CurrentPersistenceIdsAsync(CancellationToken cancellationToken = default) =>
            _inner.CurrentPersistenceIdsAsync(cancellationToken);

        public ValueTask<long> ReadHighestOrderingAsync(CancellationToken cancellationToken = default) =>
            _inner.ReadHighestOrderingAsync(cancellationToken);
    }
}
