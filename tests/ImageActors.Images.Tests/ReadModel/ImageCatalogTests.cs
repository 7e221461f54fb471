using Akka.Persistence.Query;
using Akka.Persistence.Sql.Query;
using Akka.Streams;
using ImageActors.Images.Domain;
using ImageActors.Images.Events;
using ImageActors.Images.Filtering;
using ImageActors.Images.Hosting;
using ImageActors.Images.ReadModel;
using ImageActors.Images.Tests.Store;
using ImageActors.Streaming;

namespace ImageActors.Images.Tests.ReadModel;

public sealed class ImageCatalogTests
{
    private static readonly ProjectName Default = ProjectName.Default;
    private static readonly ProjectName Other = ProjectName.Parse("other");

    private static ImageCatalog CatalogOf(params object[] events)
    {
        var catalog = new ImageCatalog();
        catalog.ApplyEvents(events);
        return catalog;
    }

    [Fact]
    public void A_unique_prefix_finds_its_image()
    {
        var catalog = CatalogOf(new ImageStored(Images.Record(Images.Fp("abc1"))), new ImageStored(Images.Record(Images.Fp("abd2"))));
        Assert.Equal(Images.Fp("abc1"), catalog.GetByPrefix(Default, "abc").Fingerprint);
        Assert.Equal(Images.Fp("abd2"), catalog.GetByPrefix(Default, "ABD").Fingerprint);
        Assert.Equal(Images.Fp("abc1"), catalog.GetByPrefix(Default, Images.Fp("abc1").ToString()).Fingerprint);
    }

    [Fact]
    public void A_prefix_shared_by_two_images_is_ambiguous()
    {
        var catalog = CatalogOf(new ImageStored(Images.Record(Images.Fp("abc1"))), new ImageStored(Images.Record(Images.Fp("abd2"))));
        var error = Assert.Throws<AmbiguousFingerprintException>(() => catalog.GetByPrefix(Default, "ab"));
        Assert.Equal("ab", error.Prefix);
        Assert.StartsWith("More than one image matches", error.Message, StringComparison.Ordinal);
        Assert.Equal(PrefixMatch.Ambiguous, catalog.MatchPrefix(Default, "a", out _));
    }

    [Fact]
    public void A_prefix_matching_nothing_is_not_found_naming_the_input()
    {
        var catalog = CatalogOf(new ImageStored(Images.Record(Images.Fp("abc1"))));
        var error = Assert.Throws<ImageNotFoundException>(() => catalog.GetByPrefix(Default, "abd"));
        Assert.Equal("Image \"abd\" not found", error.Message);
        Assert.Equal(404, error.StatusCode);
        Assert.Throws<ImageNotFoundException>(() => catalog.GetByPrefix(Default, "xyz"));
    }

    [Fact]
    public void Prefixes_only_match_within_the_project()
    {
        var catalog = CatalogOf(new ImageStored(Images.Record(Images.Fp("abc1"))), new ImageStored(Images.Record(Images.Fp("abc2"), project: "other")));
        Assert.Equal(Images.Fp("abc1"), catalog.GetByPrefix(Default, "abc").Fingerprint);
        Assert.Equal(Images.Fp("abc2"), catalog.GetByPrefix(Other, "abc").Fingerprint);
        Assert.Throws<ImageNotFoundException>(() => catalog.GetByPrefix(ProjectName.Parse("third"), "abc"));
    }

    [Fact]
    public void Prefix_lookup_on_the_last_key_of_a_project_stops_at_the_next_project()
    {
        var catalog = CatalogOf(new ImageStored(Images.Record(Images.Fp("ff01"))), new ImageStored(Images.Record(Images.Fp("ff02"), project: "other")));
        Assert.Equal(Images.Fp("ff01"), catalog.GetByPrefix(Default, "ff").Fingerprint);
    }

    [Fact]
    public void Aliases_appear_on_their_target_and_move_with_retargeting()
    {
        var a = Images.Fp("aa");
        var b = Images.Fp("bb");
        var name = AliasName.Parse("debian/12");
        var catalog = CatalogOf(new ImageStored(Images.Record(a)), new ImageStored(Images.Record(b)), new AliasCreated(Default, name, a, "d", ImageType.Container));
        Assert.Equal(name, Assert.Single(catalog.Find(Default, a)!.Aliases).Name);
        Assert.Equal(a, catalog.Resolve(Default, "debian/12").Fingerprint);

        catalog.ApplyEvents([new AliasRetargeted(Default, name, b, "d", ImageType.Container)]);

        Assert.Empty(catalog.Find(Default, a)!.Aliases);
        Assert.Equal(name, Assert.Single(catalog.Find(Default, b)!.Aliases).Name);
        Assert.Equal(b, catalog.FindAlias(Default, name)!.Target);
    }

    [Fact]
    public void Renaming_and_deleting_an_alias_update_the_index_and_the_image()
    {
        var a = Images.Fp("aa");
        var old = AliasName.Parse("old");
        var renamed = AliasName.Parse("new");
        var catalog = CatalogOf(new ImageStored(Images.Record(a)), new AliasCreated(Default, old, a, "", ImageType.Container),
            new AliasRenamed(Default, old, renamed, a, "", ImageType.Container), new AliasCreated(Default, renamed, a, "", ImageType.Container));

        Assert.Null(catalog.FindAlias(Default, old));
        Assert.Equal(renamed, Assert.Single(catalog.Find(Default, a)!.Aliases).Name);

        catalog.ApplyEvents([new AliasDeleted(Default, renamed)]);
        Assert.Equal(0, catalog.AliasCount);
        Assert.Empty(catalog.Find(Default, a)!.Aliases);
    }

    [Fact]
    public void A_new_name_deleted_before_its_rename_was_recorded_stays_deleted()
    {
        // Rename a → c races a delete of c: c's entity records the take-over and the delete before a records the rename.
        var a = Images.Fp("aa");
        var old = AliasName.Parse("a");
        var renamed = AliasName.Parse("c");
        var catalog = CatalogOf(new ImageStored(Images.Record(a)), new AliasCreated(Default, old, a, "", ImageType.Container),
            new AliasCreated(Default, renamed, a, "", ImageType.Container), new AliasDeleted(Default, renamed),
            new AliasRenamed(Default, old, renamed, a, "", ImageType.Container));

        Assert.Equal(0, catalog.AliasCount);
        Assert.Empty(catalog.Find(Default, a)!.Aliases);
    }

    [Fact]
    public void Usage_updates_and_deletion_change_the_listed_record()
    {
        var a = Images.Fp("aa");
        var catalog = CatalogOf(new ImageStored(Images.Record(a)), new ImageUsed(Default, a, Images.Epoch.AddHours(1)));
        Assert.Equal(Images.Epoch.AddHours(1), catalog.Find(Default, a)!.LastUsedAt);
        catalog.ApplyEvents([new ImageDeleted(Default, a, Images.Epoch, "user")]);
        Assert.Null(catalog.Find(Default, a));
        Assert.Empty(catalog.List());
    }

    [Fact]
    public void An_alias_the_cache_recorded_shows_in_the_listed_record_and_does_not_keep_the_image()
    {
        var a = Images.Fp("aa");
        var name = AliasName.Parse("debian/12");
        var catalog = CatalogOf(
            new ImageStored(Images.Record(a, cached: true)),
            new ImageCacheAliasRecorded(Default, a, name),
            new AliasCreated(Default, name, a, string.Empty, ImageType.Container));

        var listed = catalog.Find(Default, a)!;

        Assert.Equal(["debian/12"], listed.CacheAliases.Select(r => r.Value));
        Assert.Equal(["debian/12"], listed.Aliases.Select(r => r.Name.Value));
        Assert.False(global::ImageActors.Images.Caching.CacheRules.InUse(listed, null));
    }

    [Fact]
    public void Lists_are_per_project_sorted_by_fingerprint_and_filtered()
    {
        var catalog = CatalogOf(
            new ImageStored(Images.Record(Images.Fp("cc"), properties: ("os", "Debian"))),
            new ImageStored(Images.Record(Images.Fp("aa"), properties: ("os", "Ubuntu"))),
            new ImageStored(Images.Record(Images.Fp("bb"), project: "other", properties: ("os", "Debian"))));

        Assert.Equal([Images.Fp("aa"), Images.Fp("cc")], catalog.List(Default).Select(i => i.Fingerprint));
        Assert.Equal([Images.Fp("bb")], catalog.List(Other).Select(i => i.Fingerprint));
        Assert.Equal(3, catalog.List().Count);
        Assert.Equal([Images.Fp("cc")], catalog.List(Default, ImageFilter.Parse("properties.os eq Debian")).Select(i => i.Fingerprint));
    }

    [Fact]
    public void A_reader_keeps_a_consistent_view_while_the_writer_applies_events()
    {
        var catalog = CatalogOf(new ImageStored(Images.Record(Images.Fp("aa"))));
        var before = catalog.List();
        catalog.ApplyEvents([new ImageStored(Images.Record(Images.Fp("bb")))]);
        Assert.Single(before);
        Assert.Equal(2, catalog.List().Count);
    }

    [Fact]
    public void Events_at_or_below_the_applied_ordering_are_skipped()
    {
        var catalog = new ImageCatalog();
        var stored = new ImageStored(Images.Record(Images.Fp("aa")));
        catalog.Apply(1, stored);
        catalog.Apply(2, new ImageDeleted(Default, Images.Fp("aa"), Images.Epoch, "user"));
        catalog.Apply(1, stored);
        Assert.Equal(2, catalog.Ordering);
        Assert.Equal(0, catalog.ImageCount);
    }

    [Fact]
    public async Task Rebuilding_from_a_snapshot_and_newer_events_equals_replaying_everything()
    {
        var root = Directory.CreateTempSubdirectory("imageactors-catalog-");
        try
        {
            var path = Path.Combine(root.FullName, "journal.db");
            await using var journal = JournalAccess.Open(path);
            var queries = PersistenceQuery.Get(journal.System).ReadJournalFor<SqlReadJournal>(StorePersistence.QueryPluginId);
            var snapshots = Akka.Persistence.Persistence.Instance.Apply(journal.System).SnapshotStoreFor(null);
            var materializer = journal.System.Materializer();
            var timeout = TimeSpan.FromSeconds(30);
            var live = new ImageCatalog();
            var history = History(300).ToList();
            var half = history.Count / 2;

            foreach (var e in history.Take(half))
            {
                await journal.AppendAsync(PersistenceIdOf(e), e);
            }

            await CatalogFeed.CatchUpAsync(live, queries, materializer);
            var snapshot = await CatalogFeed.SaveSnapshotAsync(live, snapshots, TimeProvider.System, timeout);
            foreach (var e in history.Skip(half))
            {
                await journal.AppendAsync(PersistenceIdOf(e), e);
            }

            var fromSnapshot = await CatalogFeed.RebuildAsync(snapshots, queries, materializer, timeout);
            var fromScratch = new ImageCatalog();
            await CatalogFeed.CatchUpAsync(fromScratch, queries, materializer);

            Assert.Equal(half, snapshot.Ordering);
            Assert.Equal(history.Count, fromSnapshot.Ordering);
            Assert.Equal(fromScratch.List(), fromSnapshot.List());
            Assert.Equal(fromScratch.ListAliases(), fromSnapshot.ListAliases());
            Assert.True(fromScratch.ImageCount > 0);
            Assert.True(fromScratch.AliasCount > 0);
        }
        finally
        {
            root.Delete(recursive: true);
        }
    }

    [Fact]
    public void A_snapshot_restores_the_same_records_and_aliases()
    {
        var catalog = CatalogOf(History(50).ToArray());
        var restored = ImageCatalog.FromSnapshot(catalog.ToSnapshot());
        Assert.Equal(catalog.List(), restored.List());
        Assert.Equal(catalog.ListAliases(), restored.ListAliases());
    }

    private static IEnumerable<object> History(int images)
    {
        var alive = new List<Fingerprint>();
        for (var i = 0; i < images; i++)
        {
            var fp = Images.Fp(i.ToString("x4", System.Globalization.CultureInfo.InvariantCulture));
            yield return new ImageStored(Images.Record(fp, project: i % 3 == 0 ? "other" : "default"));
            var project = i % 3 == 0 ? Other : Default;
            if (i % 2 == 0)
            {
                yield return new AliasCreated(project, AliasName.Parse($"alias{i}"), fp, "", ImageType.Container);
            }

            if (i % 5 == 0)
            {
                yield return new ImageUsed(project, fp, Images.Epoch.AddMinutes(i));
            }

            if (i % 7 == 0 && i % 2 == 0)
            {
                yield return new AliasDeleted(project, AliasName.Parse($"alias{i}"));
                yield return new ImageDeleted(project, fp, Images.Epoch, "user");
            }

            alive.Add(fp);
        }
    }

    private static string PersistenceIdOf(object e) => e switch
    {
        IImageEvent i => ImageJournal.ImagePersistenceId(i.Project, i.Fingerprint),
        IAliasEvent a => ImageJournal.AliasPersistenceId(a.Project, a.Name),
        _ => throw new InvalidOperationException(),
    };
}
