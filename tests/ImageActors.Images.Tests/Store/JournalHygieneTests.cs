using System.Globalization;
using ImageActors.Images.Domain;
using ImageActors.Images.Events;

namespace ImageActors.Images.Tests.Store;

/// <summary>
/// Snapshots every N events, and the events and snapshots they cover deleted from the journal, so that a long-lived
/// image or alias does not make the journal grow without bound; counted in the real SQLite file.
/// </summary>
public sealed class JournalHygieneTests
{
    private const int SnapshotEvery = 3;
    private static readonly ProjectName Default = ProjectName.Default;

    [Fact]
    public async Task Many_updates_of_one_image_and_one_alias_leave_a_bounded_journal_and_recovery_gives_the_last_state()
    {
        await using var f = await StoreFixture.StartAsync(Configure);
        var a = await f.Store.ImportAsync(new ImportRequest(new ImageSource.UnifiedFile(f.Unified("hygiene-a"))));
        var b = await f.Store.ImportAsync(new ImportRequest(new ImageSource.UnifiedFile(f.Unified("hygiene-b"))));
        await f.Store.CreateAliasAsync(Default, "hygiene/latest", a.Fingerprint.ToString());
        const int updates = 30;
        for (var i = 1; i <= updates; i++)
        {
            var n = i.ToString(CultureInfo.InvariantCulture);
            await f.Store.UpdateAsync(Default, a.Fingerprint.ToString(), new ImagePut(i % 2 == 0, false, new Dictionary<string, string> { ["n"] = n }));
            if (i % 2 == 0)
            {
                await f.Store.RetargetAliasAsync(Default, "hygiene/latest", (i % 4 == 0 ? a : b).Fingerprint.ToString(), n);
            }
        }

        // A catalog snapshot includes every event so far: what the entities' snapshots cover is deleted with it.
        await f.Store.SaveCatalogSnapshotAsync();

        var image = ImageJournal.ImagePersistenceId(Default, a.Fingerprint);
        var alias = ImageJournal.AliasPersistenceId(Default, AliasName.Parse("hygiene/latest"));
        // Without deletes the image holds 32 rows and the alias 16. With them: the events since the snapshots reported
        // before the catalog snapshot (an entity's last one or two may still be on their way), plus the highest
        // deleted row, which keeps the sequence number.
        Assert.InRange(JournalRows.Count(f.JournalPath, "journal", image), 1, (3 * SnapshotEvery) + 1);
        Assert.InRange(JournalRows.Count(f.JournalPath, "journal", alias), 1, (3 * SnapshotEvery) + 1);
        Assert.InRange(JournalRows.Count(f.JournalPath, "snapshot", image), 1, 3);
        Assert.InRange(JournalRows.Count(f.JournalPath, "snapshot", alias), 1, 3);

        // Events after the catalog snapshot stay until the next one: a restart replays them onto it.
        for (var i = updates + 1; i <= updates + 3; i++)
        {
            await f.Store.UpdateAsync(Default, a.Fingerprint.ToString(), new ImagePut(i % 2 == 0, false, new Dictionary<string, string> { ["n"] = i.ToString(CultureInfo.InvariantCulture) }));
        }

        await f.RestartAsync(Configure);

        var recovered = f.Store.Get(Default, a.Fingerprint.ToString());
        Assert.Equal("33", recovered.Properties["n"]);
        Assert.False(recovered.Public);
        Assert.Equal(2, f.Store.List().Count);
        var latest = f.Store.GetAlias(Default, "hygiene/latest");
        Assert.Equal(b.Fingerprint, latest.Target);
        Assert.Equal("30", latest.Description);

        // The entities recover from their snapshots and the events after them, and carry on from there.
        var next = await f.Store.UpdateAsync(Default, a.Fingerprint.ToString(), new ImagePut(false, false, new Dictionary<string, string> { ["n"] = "next" }));
        Assert.Equal("next", next.Properties["n"]);
        Assert.Equal(["n"], next.Properties.Keys);
        var retargeted = await f.Store.RetargetAliasAsync(Default, "hygiene/latest", a.Fingerprint.ToString());
        Assert.Equal(a.Fingerprint, retargeted.Target);
        Assert.Equal("30", retargeted.Description);
    }

    private static ImageStoreSettings Configure(ImageStoreSettings settings) => settings with
    {
        EntitySnapshotEvery = SnapshotEvery,
        CatalogSnapshotEvery = 20,
    };

}
