using ImageActors.Images.Domain;
using ImageActors.Images.Events;

namespace ImageActors.Images.Tests.Store;

public sealed class InterruptedDeleteTests
{
    [Fact]
    public async Task A_delete_stopped_before_its_aliases_went_takes_them_at_the_next_start()
    {
        await using var f = await StoreFixture.StartAsync();
        var image = await f.Store.ImportAsync(new ImportRequest(new ImageSource.UnifiedFile(f.Unified("interrupted-delete"))));
        await f.Store.CreateAliasAsync(ProjectName.Default, "gone/soon", image.Fingerprint.ToString());
        await f.Store.CreateAliasAsync(ProjectName.Default, "gone/too", image.Fingerprint.ToString());
        await f.Store.DisposeAsync();

        // The journal as a process killed right after the image's delete was persisted leaves it: the image is
        // deleted, its alias actors never heard of it.
        var id = ImageJournal.ImagePersistenceId(ProjectName.Default, image.Fingerprint);
        await using (var journal = JournalAccess.Open(f.JournalPath))
        {
            await journal.AppendAsync(id, new ImageDeleted(ProjectName.Default, image.Fingerprint, DateTimeOffset.UtcNow, "deleted"));
        }

        await f.RestartAsync();

        Assert.Null(f.Store.Catalog.Find(ProjectName.Default, image.Fingerprint));
        Assert.Empty(f.Store.ListAliases());
        var again = await f.Store.ImportAsync(new ImportRequest(new ImageSource.UnifiedFile(f.Unified("interrupted-delete"))));
        var alias = await f.Store.CreateAliasAsync(ProjectName.Default, "gone/soon", again.Fingerprint.ToString());
        Assert.Equal(again.Fingerprint, alias.Target);
    }
}
