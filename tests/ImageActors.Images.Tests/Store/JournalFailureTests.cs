using ImageActors.Images.Domain;

namespace ImageActors.Images.Tests.Store;

/// <summary>A journal that cannot write (the database refuses as a full disk does): the caller hears it at once, and nothing changes.</summary>
public sealed class JournalFailureTests
{
    private static readonly ProjectName Default = ProjectName.Default;

    // Far below the store's ask timeout (60 s in the fixture): an answer this fast is the failure, not a timeout.
    private static readonly TimeSpan Prompt = TimeSpan.FromSeconds(10);

    [Fact]
    public async Task An_update_the_journal_cannot_record_fails_at_once_with_a_typed_error_and_changes_nothing()
    {
        await using var f = await StoreFixture.StartAsync();
        var record = await f.Store.ImportAsync(new ImportRequest(new ImageSource.UnifiedFile(f.Unified("journal-full"))));
        var fingerprint = record.Fingerprint.ToString();

        JournalAccess.RefuseWrites(f.JournalPath);
        var error = await Assert.ThrowsAsync<JournalWriteFailedException>(
            () => f.Store.UpdateAsync(Default, fingerprint, new ImagePut(true, false, new Dictionary<string, string> { ["os"] = "Changed" }, default, null)).WaitAsync(Prompt));

        Assert.Contains(fingerprint, error.Message, StringComparison.Ordinal);
        Assert.Contains("disk is full", error.Message, StringComparison.Ordinal);
        Assert.Equal(500, error.StatusCode);

        // Once the journal writes again the image is as it was, and the same update goes through.
        JournalAccess.AcceptWrites(f.JournalPath);
        Assert.NotEqual("Changed", f.Store.Get(Default, fingerprint).Properties.GetValueOrDefault("os"));
        var updated = await f.Store.UpdateAsync(Default, fingerprint, new ImagePut(true, false, new Dictionary<string, string> { ["os"] = "Changed" }, default, null)).WaitAsync(Prompt);
        Assert.Equal("Changed", updated.Properties["os"]);
    }

    [Fact]
    public async Task An_alias_the_journal_cannot_record_fails_at_once_and_does_not_exist()
    {
        await using var f = await StoreFixture.StartAsync();
        var record = await f.Store.ImportAsync(new ImportRequest(new ImageSource.UnifiedFile(f.Unified("journal-full-alias"))));

        JournalAccess.RefuseWrites(f.JournalPath);
        var error = await Assert.ThrowsAsync<JournalWriteFailedException>(
            () => f.Store.CreateAliasAsync(Default, "web", record.Fingerprint.ToString()).WaitAsync(Prompt));

        Assert.Contains("alias web", error.Message, StringComparison.Ordinal);
        JournalAccess.AcceptWrites(f.JournalPath);
        Assert.Throws<AliasNotFoundException>(() => f.Store.GetAlias(Default, "web"));
        var alias = await f.Store.CreateAliasAsync(Default, "web", record.Fingerprint.ToString()).WaitAsync(Prompt);
        Assert.Equal(record.Fingerprint, alias.Target);
    }
}
