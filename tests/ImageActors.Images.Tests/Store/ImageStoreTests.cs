using System.Security.Cryptography;
using ImageActors.Images.Domain;
using ImageActors.Images.Events;
using ImageActors.Images.Requirements;
using ImageActors.Streaming;

namespace ImageActors.Images.Tests.Store;

public sealed class ImageStoreTests
{
    private static readonly ProjectName Default = ProjectName.Default;

    [Fact]
    public async Task Importing_a_unified_file_stores_it_under_its_fingerprint_with_its_metadata()
    {
        await using var f = await StoreFixture.StartAsync();
        var path = f.Unified("a");

        var record = await f.Store.ImportAsync(new ImportRequest(new ImageSource.UnifiedFile(path)) { Public = true, Properties = new Dictionary<string, string> { ["variant"] = "cloud" } });

        Assert.Equal(Convert.ToHexStringLower(SHA256.HashData(File.ReadAllBytes(path))), record.Fingerprint.ToString());
        Assert.Equal(new FileInfo(path).Length, record.Size);
        Assert.Equal("x86_64", record.Architecture);
        Assert.Equal(ImageType.Container, record.Type);
        Assert.True(record.Public);
        Assert.False(record.Cached);
        Assert.Equal("Debian", record.Properties["os"]);
        Assert.Equal("cloud", record.Properties["variant"]);
        Assert.Equal(DateTimeOffset.FromUnixTimeSeconds(1_767_225_600), record.CreatedAt);
        Assert.Equal("unified-a.tar", record.Filename);
        Assert.True(File.Exists(f.Store.Blobs.MetadataPath(record.Fingerprint)));
        Assert.Equal(record, f.Store.Get(Default, record.Fingerprint.ToShortString()));
    }

    [Fact]
    public async Task Importing_a_split_pair_stores_both_files_under_the_combined_fingerprint()
    {
        await using var f = await StoreFixture.StartAsync();
        var (meta, rootfs) = TestImages.Split(f.Sources, "s");

        var record = await f.Store.ImportAsync(new ImportRequest(new ImageSource.SplitFiles(meta, rootfs)));

        var combined = SHA256.HashData([.. File.ReadAllBytes(meta), .. File.ReadAllBytes(rootfs)]);
        Assert.Equal(Convert.ToHexStringLower(combined), record.Fingerprint.ToString());
        Assert.True(record.Split);
        Assert.Equal("Alpine", record.Properties["os"]);
        Assert.True(File.Exists(f.Store.Blobs.RootfsPath(record.Fingerprint)));
    }

    [Fact]
    public async Task Importing_a_directory_packs_it_and_reads_its_metadata()
    {
        await using var f = await StoreFixture.StartAsync();
        var dir = Directory.CreateDirectory(Path.Combine(f.Sources, "img"));
        File.WriteAllText(Path.Combine(dir.FullName, "metadata.yaml"), TestImages.MetadataYaml(os: "Fedora"));
        Directory.CreateDirectory(Path.Combine(dir.FullName, "rootfs", "etc"));
        File.WriteAllText(Path.Combine(dir.FullName, "rootfs", "etc", "hostname"), "d");

        var record = await f.Store.ImportAsync(new ImportRequest(new ImageSource.Directory(dir.FullName)));

        Assert.Equal("Fedora", record.Properties["os"]);
        Assert.Equal(ImageType.Container, record.Type);
    }

    [Fact]
    public async Task Importing_from_a_stream_reports_progress()
    {
        await using var f = await StoreFixture.StartAsync();
        var path = f.Unified("p");
        var reports = new List<ImageProgress>();
        await using var stream = File.OpenRead(path);

        var record = await f.Store.ImportAsync(new ImportRequest(new ImageSource.UnifiedStream(stream, "up.tar")) { Progress = new SynchronousProgress(reports) });

        Assert.Equal("up.tar", record.Filename);
        Assert.NotEmpty(reports);
        Assert.Equal(new FileInfo(path).Length, reports[^1].Processed);
    }

    [Fact]
    public async Task Bytes_without_metadata_are_refused_with_the_reason()
    {
        await using var f = await StoreFixture.StartAsync();
        var path = Path.Combine(f.Sources, "junk.bin");
        File.WriteAllBytes(path, new byte[1000]);

        await Assert.ThrowsAsync<InvalidImageException>(() => f.Store.ImportAsync(new ImportRequest(new ImageSource.UnifiedFile(path))));
        Assert.Empty(f.Store.List());
        Assert.Empty(Directory.EnumerateFiles(f.Store.Blobs.TempDirectory));
    }

    [Fact]
    public async Task Importing_an_existing_image_returns_its_record_or_fails_when_asked_to()
    {
        await using var f = await StoreFixture.StartAsync();
        var path = f.Unified("e");
        var first = await f.Store.ImportAsync(new ImportRequest(new ImageSource.UnifiedFile(path)));

        var again = await f.Store.ImportAsync(new ImportRequest(new ImageSource.UnifiedFile(path)));
        var error = await Assert.ThrowsAsync<ImageExistsException>(() => f.Store.ImportAsync(new ImportRequest(new ImageSource.UnifiedFile(path)) { FailIfExists = true }));

        Assert.Equal(first, again);
        Assert.Contains("Image with same fingerprint already exists", error.Message, StringComparison.Ordinal);
        Assert.Equal(409, error.StatusCode);
    }

    [Fact]
    public async Task A_thousand_concurrent_imports_of_one_file_store_it_once_and_all_get_the_same_record()
    {
        await using var f = await StoreFixture.StartAsync();
        var path = f.Unified("crowd");

        var records = await Task.WhenAll(Enumerable.Range(0, 1000).Select(_ => Task.Run(() => f.Store.ImportAsync(new ImportRequest(new ImageSource.UnifiedFile(path)) { Aliases = ["crowd/latest"] }))));

        Assert.Single(records.Select(r => r.Fingerprint).Distinct());
        Assert.All(records, r => Assert.Equal(records[0].Fingerprint, r.Fingerprint));
        Assert.All(records, r => Assert.Equal(records[0].UploadedAt, r.UploadedAt));
        var id = ImageJournal.ImagePersistenceId(Default, records[0].Fingerprint);
        var history = await ReplayAsync(f, id);
        Assert.Single(history.OfType<ImageStored>());
        Assert.Single(history.OfType<ImageDownloadStarted>());
        Assert.Single(f.Store.List());
        Assert.Equal(records[0].Fingerprint, f.Store.GetAlias(Default, "crowd/latest").Target);

        // The 999 duplicate temp files are removed by the file workers after their callers were answered.
        await WaitUntilAsync(() => !Directory.EnumerateFiles(f.Store.Blobs.TempDirectory).Any());
    }

    [Fact]
    public async Task Concurrent_downloads_of_one_image_fetch_it_once()
    {
        await using var f = await StoreFixture.StartAsync();
        var path = f.Unified("dl");
        var fp = Fingerprint.Parse(Convert.ToHexStringLower(SHA256.HashData(File.ReadAllBytes(path))));
        var fetches = 0;
        var release = new TaskCompletionSource();
        var fetch = new ImageFetch(async (blobs, token) =>
        {
            Interlocked.Increment(ref fetches);
            await release.Task.WaitAsync(token);
            var files = await blobs.ImportFileAsync(path, fp, token);
            return (files, Images.Record(fp) with { Cached = true });
        }, "test remote");

        var downloads = Enumerable.Range(0, 50).Select(_ => f.Store.DownloadAsync(Default, fp, fetch)).ToList();
        release.SetResult();
        var records = await Task.WhenAll(downloads);

        Assert.Equal(1, fetches);
        Assert.All(records, r => Assert.Equal(fp, r.Fingerprint));
        Assert.True(f.Store.Get(Default, fp.ToString()).Cached);
    }

    [Fact]
    public async Task A_download_whose_bytes_hash_differently_is_refused_and_leaves_nothing()
    {
        await using var f = await StoreFixture.StartAsync();
        var path = f.Unified("bad");
        var claimed = Images.Fp("00");
        var fetch = new ImageFetch(async (blobs, token) => (await blobs.ImportFileAsync(path, null, token), Images.Record(claimed)), "liar");

        await Assert.ThrowsAsync<ImageActors.Streaming.Storage.HashMismatchException>(() => f.Store.DownloadAsync(Default, claimed, fetch));

        Assert.Throws<ImageNotFoundException>(() => f.Store.Get(Default, claimed.ToString()));
    }

    [Fact]
    public async Task Get_resolves_aliases_prefixes_and_reports_ambiguity()
    {
        await using var f = await StoreFixture.StartAsync();
        var records = new List<ImageRecord>();
        for (var i = 0; i < 40; i++)
        {
            records.Add(await f.Store.ImportAsync(new ImportRequest(new ImageSource.UnifiedFile(f.Unified($"g{i}")))));
        }

        await f.Store.CreateAliasAsync(Default, "debian/12", records[3].Fingerprint.ToShortString(), "bookworm");

        Assert.Equal(records[3].Fingerprint, f.Store.Get(Default, "debian/12").Fingerprint);
        // 40 images over 16 leading hex digits: some digit starts at least two of them.
        var shared = records.GroupBy(r => r.Fingerprint.ToString()[..1]).First(g => g.Count() > 1).Key;
        Assert.Throws<AmbiguousFingerprintException>(() => f.Store.Get(Default, shared));
        Assert.Throws<ImageNotFoundException>(() => f.Store.Get(Default, "nope"));
    }

    [Fact]
    public async Task List_applies_filter_expressions_per_project()
    {
        await using var f = await StoreFixture.StartAsync();
        await f.Store.ImportAsync(new ImportRequest(new ImageSource.UnifiedFile(f.Unified("d", TestImages.MetadataYaml(os: "Debian")))) { Public = true });
        await f.Store.ImportAsync(new ImportRequest(new ImageSource.UnifiedFile(f.Unified("u", TestImages.MetadataYaml(os: "Ubuntu")))));
        await f.Store.ImportAsync(new ImportRequest(new ImageSource.UnifiedFile(f.Unified("o", TestImages.MetadataYaml(os: "Debian")))) { Project = ProjectName.Parse("other") });

        Assert.Equal(2, f.Store.List(Default).Count);
        Assert.Equal(3, f.Store.List().Count);
        Assert.Equal("Debian", Assert.Single(f.Store.List(Default, "properties.os eq Debian and public eq true")).Properties["os"]);
        Assert.Single(f.Store.List(ProjectName.Parse("other"), "properties.os eq Debian"));
        Assert.Throws<InvalidFilterException>(() => f.Store.List(Default, "properties.os is Debian"));
    }

    [Fact]
    public async Task Export_streams_the_stored_bytes()
    {
        await using var f = await StoreFixture.StartAsync();
        var path = f.Unified("x");
        var record = await f.Store.ImportAsync(new ImportRequest(new ImageSource.UnifiedFile(path)) { Aliases = ["x"] });

        await using var export = await f.Store.ExportAsync(Default, "x");
        using var copy = new MemoryStream();
        await export.Metadata.CopyToAsync(copy);

        Assert.Equal(File.ReadAllBytes(path), copy.ToArray());
        Assert.Null(export.Rootfs);
        Assert.Equal(record.Fingerprint, export.Image.Fingerprint);
    }

    [Fact]
    public async Task Delete_during_an_export_lets_the_export_finish_then_removes_the_files()
    {
        await using var f = await StoreFixture.StartAsync();
        var path = f.Unified("del");
        var record = await f.Store.ImportAsync(new ImportRequest(new ImageSource.UnifiedFile(path)));
        var file = f.Store.Blobs.MetadataPath(record.Fingerprint);
        var export = await f.Store.ExportAsync(Default, record.Fingerprint.ToString());
        var half = new byte[100];
        await export.Metadata.ReadExactlyAsync(half);

        var delete = f.Store.DeleteAsync(Default, record.Fingerprint.ToString());
        await WaitUntilAsync(() => f.Store.Catalog.Find(Default, record.Fingerprint) is null);

        Assert.False(delete.IsCompleted);
        Assert.True(File.Exists(file));
        using var rest = new MemoryStream();
        await export.Metadata.CopyToAsync(rest);
        Assert.Equal(File.ReadAllBytes(path), half.Concat(rest.ToArray()).ToArray());

        await export.DisposeAsync();
        await delete.WaitAsync(TimeSpan.FromSeconds(30));
        Assert.False(File.Exists(file));
    }

    [Fact]
    public async Task Deleting_an_image_deletes_its_aliases()
    {
        await using var f = await StoreFixture.StartAsync();
        var record = await f.Store.ImportAsync(new ImportRequest(new ImageSource.UnifiedFile(f.Unified("da"))) { Aliases = ["one", "two/x"] });
        var events = new List<ImageLifecycleEvent>();
        f.Store.Lifecycle += (_, e) => events.Add(e);

        await f.Store.DeleteAsync(Default, record.Fingerprint.ToShortString());

        Assert.Empty(f.Store.ListAliases(Default));
        Assert.Empty(f.Store.List());
        Assert.Throws<AliasNotFoundException>(() => f.Store.GetAlias(Default, "one"));
        Assert.Contains(events, e => e.Action == "image-deleted" && e.Source == $"/1.0/images/{record.Fingerprint}");
        Assert.Equal(2, events.Count(e => e.Action == "image-alias-deleted"));
        await Assert.ThrowsAsync<ImageNotFoundException>(() => f.Store.DeleteAsync(Default, record.Fingerprint.ToString()));
    }

    [Fact]
    public async Task Update_replaces_the_writable_set_and_patch_merges_properties()
    {
        await using var f = await StoreFixture.StartAsync();
        var record = await f.Store.ImportAsync(new ImportRequest(new ImageSource.UnifiedFile(f.Unified("up"))));
        var expires = new DateTimeOffset(2030, 1, 1, 0, 0, 0, TimeSpan.Zero);

        var put = await f.Store.UpdateAsync(Default, record.Fingerprint.ToString(), new ImagePut(true, true, new Dictionary<string, string> { ["os"] = "Other" }, expires, ["default", "gpu"]));
        Assert.True(put.Public);
        Assert.True(put.AutoUpdate);
        Assert.Equal(["os"], put.Properties.Keys);
        Assert.Equal(expires, put.ExpiresAt);
        Assert.Equal(["default", "gpu"], put.Profiles.ToArray());

        var kept = await f.Store.UpdateAsync(Default, record.Fingerprint.ToString(), new ImagePut(true, true, put.Properties, default, null));
        Assert.Equal(expires, kept.ExpiresAt);
        Assert.Equal(["default"], kept.Profiles.ToArray());

        var patched = await f.Store.PatchAsync(Default, record.Fingerprint.ToString(), new ImagePatch(Public: false, Properties: new Dictionary<string, string> { ["release"] = "13" }));
        Assert.False(patched.Public);
        Assert.True(patched.AutoUpdate);
        Assert.Equal("Other", patched.Properties["os"]);
        Assert.Equal("13", patched.Properties["release"]);
        Assert.Equal(patched, f.Store.Get(Default, record.Fingerprint.ToString()));
    }

    [Fact]
    public async Task Each_of_many_concurrent_writers_reads_its_own_write_from_the_catalog()
    {
        // Waiters for the read model share catch-ups; each must still find what it wrote once its call returned.
        await using var f = await StoreFixture.StartAsync();
        var a = await f.Store.ImportAsync(new ImportRequest(new ImageSource.UnifiedFile(f.Unified("ryw-a"))));
        var b = await f.Store.ImportAsync(new ImportRequest(new ImageSource.UnifiedFile(f.Unified("ryw-b"))));

        await Task.WhenAll(Enumerable.Range(0, 100).Select(async i =>
        {
            var name = $"concurrent/{i}";
            await f.Store.CreateAliasAsync(Default, name, a.Fingerprint.ToString());
            Assert.Equal(a.Fingerprint, f.Store.GetAlias(Default, name).Target);
            await f.Store.RetargetAliasAsync(Default, name, b.Fingerprint.ToString());
            Assert.Equal(b.Fingerprint, f.Store.GetAlias(Default, name).Target);
        }));
    }

    [Fact]
    public async Task Aliases_are_created_retargeted_renamed_and_deleted()
    {
        await using var f = await StoreFixture.StartAsync();
        var a = await f.Store.ImportAsync(new ImportRequest(new ImageSource.UnifiedFile(f.Unified("aa"))));
        var b = await f.Store.ImportAsync(new ImportRequest(new ImageSource.UnifiedFile(f.Unified("bb"))));

        var created = await f.Store.CreateAliasAsync(Default, "debian/12", a.Fingerprint.ToString(), "first");
        Assert.Equal(a.Fingerprint, created.Target);
        await Assert.ThrowsAsync<AliasExistsException>(() => f.Store.CreateAliasAsync(Default, "debian/12", b.Fingerprint.ToString()));
        await Assert.ThrowsAsync<InvalidAliasNameException>(() => f.Store.CreateAliasAsync(Default, "bad name", a.Fingerprint.ToString()));
        await Assert.ThrowsAsync<ImageNotFoundException>(() => f.Store.CreateAliasAsync(Default, "x", "abcdef0123"));

        var moved = await f.Store.RetargetAliasAsync(Default, "debian/12", b.Fingerprint.ToString());
        Assert.Equal(b.Fingerprint, moved.Target);
        Assert.Equal("first", moved.Description);
        Assert.Empty(f.Store.Get(Default, a.Fingerprint.ToString()).Aliases);

        var renamed = await f.Store.RenameAliasAsync(Default, "debian/12", "debian/bookworm");
        Assert.Equal("debian/bookworm", renamed.Name.Value);
        Assert.Throws<AliasNotFoundException>(() => f.Store.GetAlias(Default, "debian/12"));
        Assert.Equal(b.Fingerprint, f.Store.GetAlias(Default, "debian/bookworm").Target);
        Assert.Equal("debian/bookworm", Assert.Single(f.Store.Get(Default, b.Fingerprint.ToString()).Aliases).Name.Value);

        await f.Store.DeleteAliasAsync(Default, "debian/bookworm");
        Assert.Empty(f.Store.ListAliases());
        await Assert.ThrowsAsync<AliasNotFoundException>(() => f.Store.DeleteAliasAsync(Default, "debian/bookworm"));
    }

    [Fact]
    public async Task A_hundred_concurrent_retargets_leave_the_alias_on_one_of_their_targets_with_a_consistent_history()
    {
        await using var f = await StoreFixture.StartAsync();
        var targets = new List<ImageRecord>();
        for (var i = 0; i < 10; i++)
        {
            targets.Add(await f.Store.ImportAsync(new ImportRequest(new ImageSource.UnifiedFile(f.Unified($"t{i}")))));
        }

        await f.Store.CreateAliasAsync(Default, "race", targets[0].Fingerprint.ToString());

        await Task.WhenAll(Enumerable.Range(0, 100).Select(i => Task.Run(() => f.Store.RetargetAliasAsync(Default, "race", targets[i % targets.Count].Fingerprint.ToString()))));

        var final = f.Store.GetAlias(Default, "race");
        Assert.Contains(final.Target, targets.Select(t => t.Fingerprint));
        var history = await ReplayAsync(f, ImageJournal.AliasPersistenceId(Default, AliasName.Parse("race")));
        Assert.IsType<AliasCreated>(history[0]);
        Assert.Equal(101, history.Count);
        var folded = AliasState.Empty.ApplyAll(history.Cast<IAliasEvent>());
        Assert.Equal(final.Target, folded.Alias!.Target);
        Assert.Equal(final.Target, ((AliasRetargeted)history[^1]).Target);
        Assert.Single(f.Store.List(), i => i.Aliases.Any(a => a.Name.Value == "race"));
    }

    [Fact]
    public async Task Mark_used_sets_last_used_at()
    {
        var clock = new Microsoft.Extensions.Time.Testing.FakeTimeProvider(new DateTimeOffset(2026, 5, 1, 0, 0, 0, TimeSpan.Zero));
        await using var f = await StoreFixture.StartAsync(s => s with { Clock = clock });
        var record = await f.Store.ImportAsync(new ImportRequest(new ImageSource.UnifiedFile(f.Unified("mu"))));
        Assert.False(record.WasUsed);

        clock.Advance(TimeSpan.FromHours(1));
        var used = await f.Store.MarkUsedAsync(Default, record.Fingerprint);
        await f.Store.WaitForReadModelAsync();

        Assert.Equal(clock.GetUtcNow(), used.LastUsedAt);
        Assert.Equal(used.LastUsedAt, f.Store.Get(Default, record.Fingerprint.ToString()).LastUsedAt);
    }

    [Fact]
    public async Task Uses_within_the_interval_are_written_once_more_with_the_latest_time()
    {
        var clock = new Microsoft.Extensions.Time.Testing.FakeTimeProvider(new DateTimeOffset(2026, 5, 1, 0, 0, 0, TimeSpan.Zero));
        await using var f = await StoreFixture.StartAsync(s => s with { Clock = clock, Options = s.Options with { LastUsedInterval = TimeSpan.FromSeconds(3) } });
        var record = await f.Store.ImportAsync(new ImportRequest(new ImageSource.UnifiedFile(f.Unified("coalesce"))));

        // The first use is written at once; the next two fall inside the interval and are held, the later one kept.
        var first = clock.GetUtcNow();
        f.Store.RecordUse(Default, record.Fingerprint);
        clock.Advance(TimeSpan.FromSeconds(1));
        f.Store.RecordUse(Default, record.Fingerprint);
        clock.Advance(TimeSpan.FromSeconds(1));
        f.Store.RecordUse(Default, record.Fingerprint);
        var latest = clock.GetUtcNow();

        using var deadline = new CancellationTokenSource(TimeSpan.FromSeconds(30));
        while (f.Store.Get(Default, record.Fingerprint.ToString()).LastUsedAt != latest)
        {
            await Task.Delay(100, deadline.Token);
            await f.Store.WaitForReadModelAsync(deadline.Token);
        }

        var history = await ReplayAsync(f, ImageJournal.ImagePersistenceId(Default, record.Fingerprint));
        Assert.Equal([first, latest], history.OfType<ImageUsed>().Select(u => u.At));
    }

    [Fact]
    public async Task Requirements_are_checked_against_the_host()
    {
        await using var f = await StoreFixture.StartAsync();
        var yaml = TestImages.MetadataYaml(extra: ("requirements.cgroup", "v1"));
        var record = await f.Store.ImportAsync(new ImportRequest(new ImageSource.UnifiedFile(f.Unified("req", yaml))) { Aliases = ["old"] });

        Assert.Equal("requirements.cgroup", Assert.Single(f.Store.CheckRequirements(Default, "old", new HostProfile { CgroupV1 = false })).Key);
        Assert.Empty(f.Store.CheckRequirements(Default, record.Fingerprint.ToString(), new HostProfile { CgroupV1 = true }));
    }

    [Fact]
    public async Task Lifecycle_events_name_the_action_and_source()
    {
        await using var f = await StoreFixture.StartAsync();
        var events = new List<ImageLifecycleEvent>();
        f.Store.Lifecycle += (_, e) => events.Add(e);
        var other = ProjectName.Parse("p2");

        var record = await f.Store.ImportAsync(new ImportRequest(new ImageSource.UnifiedFile(f.Unified("lc"))) { Project = other, Aliases = ["lc"] });
        await f.Store.UpdateAsync(other, record.Fingerprint.ToString(), new ImagePut(false, false, record.Properties));
        await f.Store.RenameAliasAsync(other, "lc", "lc2");

        Assert.Equal(["image-created", "image-alias-created", "image-updated", "image-alias-renamed"], events.Select(e => e.Action));
        Assert.Equal($"/1.0/images/{record.Fingerprint}?project=p2", events[0].Source);
        Assert.Equal("container", events[0].Context["type"]);
        Assert.Equal("/1.0/images/aliases/lc2?project=p2", events[3].Source);
        Assert.Equal("lc", events[3].Context["old_name"]);
    }

    [Fact]
    public async Task A_restart_recovers_images_and_aliases_from_the_journal()
    {
        await using var f = await StoreFixture.StartAsync();
        var record = await f.Store.ImportAsync(new ImportRequest(new ImageSource.UnifiedFile(f.Unified("rs"))) { Aliases = ["keep"] });
        await f.Store.SaveCatalogSnapshotAsync();
        var later = await f.Store.ImportAsync(new ImportRequest(new ImageSource.UnifiedFile(f.Unified("rs2"))));

        await f.RestartAsync();

        Assert.Equal(record.Fingerprint, f.Store.Get(Default, "keep").Fingerprint);
        Assert.Equal(later, f.Store.Get(Default, later.Fingerprint.ToString()));
        var used = await f.Store.MarkUsedAsync(Default, record.Fingerprint);
        Assert.Equal(record.Fingerprint, used.Fingerprint);
        Assert.Empty(f.Store.SweptAtStart.RemovedImageFiles);
    }

    [Fact]
    public async Task Start_up_sweeps_temp_files_and_files_no_image_owns()
    {
        await using var f = await StoreFixture.StartAsync();
        var record = await f.Store.ImportAsync(new ImportRequest(new ImageSource.UnifiedFile(f.Unified("sw"))));
        File.WriteAllText(Path.Combine(f.Store.Blobs.TempDirectory, "left.part"), "x");
        var orphan = f.Store.Blobs.MetadataPath(Images.Fp("ab"));
        File.WriteAllText(orphan, "x");

        await f.RestartAsync();

        Assert.Empty(Directory.EnumerateFiles(f.Store.Blobs.TempDirectory));
        Assert.False(File.Exists(orphan));
        Assert.True(File.Exists(f.Store.Blobs.MetadataPath(record.Fingerprint)));
    }

    [Fact]
    public async Task An_import_interrupted_after_it_started_leaves_no_image_after_restart()
    {
        await using var f = await StoreFixture.StartAsync();
        var path = f.Unified("cut");
        var fp = Fingerprint.Parse(Convert.ToHexStringLower(SHA256.HashData(File.ReadAllBytes(path))));
        var id = ImageJournal.ImagePersistenceId(Default, fp);
        await using (var journal = JournalAccess.Open(f.JournalPath))
        {
            await journal.AppendAsync(id, new ImageDownloadStarted(Default, fp, Images.Epoch, null));
        }

        File.Copy(path, f.Store.Blobs.MetadataPath(fp));

        await f.RestartAsync();
        Assert.False(File.Exists(f.Store.Blobs.MetadataPath(fp)));
        var record = await f.Store.ImportAsync(new ImportRequest(new ImageSource.UnifiedFile(path)));

        Assert.Equal(fp, record.Fingerprint);
        var history = await ReplayAsync(f, id);
        Assert.IsType<ImageDownloadAbandoned>(history[1]);
        Assert.IsType<ImageStored>(history[^1]);
    }

    [Fact]
    public async Task Eviction_removes_expired_cached_images_but_not_aliased_or_exported_ones()
    {
        var clock = new Microsoft.Extensions.Time.Testing.FakeTimeProvider(new DateTimeOffset(2026, 5, 1, 0, 0, 0, TimeSpan.Zero));
        await using var f = await StoreFixture.StartAsync(s => s with { Clock = clock });
        var old = await Cached(f, "ev1");
        var aliased = await Cached(f, "ev2");
        var exported = await Cached(f, "ev3");
        await f.Store.CreateAliasAsync(Default, "pin", aliased.Fingerprint.ToString());
        await using var export = await f.Store.ExportAsync(Default, exported.Fingerprint.ToString());

        clock.Advance(TimeSpan.FromDays(11));
        var evicted = await f.Store.EvictNowAsync();

        Assert.True(evicted.Count == 1, string.Join(", ", evicted.Select(e => $"{e.Image.Fingerprint.ToShortString()} {e.Reason} old={old.Fingerprint.ToShortString()} aliased={aliased.Fingerprint.ToShortString()} exported={exported.Fingerprint.ToShortString()}")));
        Assert.Equal(old.Fingerprint, Assert.Single(evicted).Image.Fingerprint);
        Assert.Null(f.Store.Catalog.Find(Default, old.Fingerprint));
        Assert.NotNull(f.Store.Catalog.Find(Default, aliased.Fingerprint));
        Assert.NotNull(f.Store.Catalog.Find(Default, exported.Fingerprint));
        Assert.False(File.Exists(f.Store.Blobs.MetadataPath(old.Fingerprint)));
    }

    [Fact]
    public async Task An_open_export_of_the_least_recently_used_image_makes_the_size_bound_take_the_next_one()
    {
        // Every "lru-N" image has the same size (tar pads the seed's few bytes to a block).
        var probe = Directory.CreateTempSubdirectory("imageactors-lru-");
        var size = new FileInfo(TestImages.Unified(probe.FullName, "lru-0")).Length;
        probe.Delete(recursive: true);
        await using var f = await StoreFixture.StartAsync(s => s with
        {
            EvictionInterval = TimeSpan.FromDays(1),
            Options = s.Options with { CacheMaxSize = (size * 5) / 2, RemoteCacheExpiry = TimeSpan.Zero },
        });
        var oldest = await Cached(f, "lru-1");
        var newer = await Cached(f, "lru-2");
        await f.Store.MarkUsedAsync(Default, oldest.Fingerprint);
        await f.Store.MarkUsedAsync(Default, newer.Fingerprint);

        // The least recently used image is being exported: it cannot go, so the one after it must.
        await using (var export = await f.Store.ExportAsync(Default, oldest.Fingerprint.ToString()))
        {
            var third = await Cached(f, "lru-3");

            Assert.NotNull(f.Store.Catalog.Find(Default, oldest.Fingerprint));
            Assert.Null(f.Store.Catalog.Find(Default, newer.Fingerprint));
            Assert.NotNull(f.Store.Catalog.Find(Default, third.Fingerprint));
        }
    }

    [Fact]
    public async Task The_size_bound_ranks_an_image_by_a_use_not_yet_written_not_by_the_last_written_one()
    {
        // Every "held-N" image has the same size (tar pads the seed's few bytes to a block).
        var probe = Directory.CreateTempSubdirectory("imageactors-held-");
        var size = new FileInfo(TestImages.Unified(probe.FullName, "held-0")).Length;
        probe.Delete(recursive: true);
        await using var f = await StoreFixture.StartAsync(s => s with
        {
            EvictionInterval = TimeSpan.FromDays(1),
            Options = s.Options with { CacheMaxSize = (size * 5) / 2, RemoteCacheExpiry = TimeSpan.Zero, LastUsedInterval = TimeSpan.FromHours(1) },
        });
        var used = await Cached(f, "held-1");
        var other = await Cached(f, "held-2");

        // "used" is used, that use is written, then "other" is used: "other" is the more recent for the read model.
        f.Store.RecordUse(Default, used.Fingerprint);
        await WaitUntilAsync(() => f.Store.Catalog.Find(Default, used.Fingerprint)?.WasUsed == true);
        await f.Store.MarkUsedAsync(Default, other.Fingerprint);
        await WaitUntilAsync(() => f.Store.Catalog.Find(Default, other.Fingerprint)?.WasUsed == true);

        // "used" is used again: within the interval, so the use is held, not written, and the read model still ranks it last.
        f.Store.RecordUse(Default, used.Fingerprint);
        await (await f.Store.ExportAsync(Default, used.Fingerprint.ToString())).DisposeAsync();
        Assert.True(f.Store.Catalog.Find(Default, used.Fingerprint)!.LastUsedAt < f.Store.Catalog.Find(Default, other.Fingerprint)!.LastUsedAt);

        var third = await Cached(f, "held-3");

        Assert.NotNull(f.Store.Catalog.Find(Default, used.Fingerprint));
        Assert.Null(f.Store.Catalog.Find(Default, other.Fingerprint));
        Assert.NotNull(f.Store.Catalog.Find(Default, third.Fingerprint));
    }

    [Fact]
    public async Task The_scheduled_eviction_raises_image_deleted_for_each_image_it_removed()
    {
        var clock = new Microsoft.Extensions.Time.Testing.FakeTimeProvider(new DateTimeOffset(2026, 5, 1, 0, 0, 0, TimeSpan.Zero));
        await using var f = await StoreFixture.StartAsync(s => s with { Clock = clock, EvictionInterval = TimeSpan.FromDays(12) });

        // Let the run at start go by (a reply to a run asked for comes after it), so that the one scheduled run below is
        // the only eviction work when the clock jumps: a jump during a run would time out its asks.
        await f.Store.EvictNowAsync();
        clock.Advance(TimeSpan.Zero);
        await f.Store.EvictNowAsync();
        var old = await Cached(f, "sched");
        var deleted = new TaskCompletionSource<ImageLifecycleEvent>(TaskCreationOptions.RunContinuationsAsynchronously);
        f.Store.Lifecycle += (_, e) =>
        {
            if (e.Action == "image-deleted")
            {
                deleted.TrySetResult(e);
            }
        };

        clock.Advance(TimeSpan.FromDays(12));

        var seen = await deleted.Task.WaitAsync(TimeSpan.FromSeconds(30));
        Assert.Equal($"/1.0/images/{old.Fingerprint}", seen.Source);
        Assert.Equal(Default, seen.Project);
    }

    [Fact]
    public async Task Concurrent_downloads_of_one_image_raise_image_created_once()
    {
        await using var f = await StoreFixture.StartAsync();
        var events = new System.Collections.Concurrent.ConcurrentQueue<ImageLifecycleEvent>();
        f.Store.Lifecycle += (_, e) => events.Enqueue(e);

        var path = f.Unified("once");
        var fp = Fingerprint.Parse(Convert.ToHexStringLower(SHA256.HashData(File.ReadAllBytes(path))));
        var fetch = new ImageFetch(async (blobs, token) => (await blobs.ImportFileAsync(path, fp, token), Images.Record(fp, cached: true)), "once");

        var records = await Task.WhenAll(Enumerable.Range(0, 8).Select(_ => Task.Run(() => f.Store.DownloadAsync(Default, fp, fetch))));

        Assert.Single(records.Select(r => r.Fingerprint).Distinct());
        var created = Assert.Single(events);
        Assert.Equal("image-created", created.Action);
        Assert.Equal($"/1.0/images/{records[0].Fingerprint}", created.Source);
    }

    private static async Task<ImageRecord> Cached(StoreFixture f, string seed)
    {
        var path = f.Unified(seed);
        var fp = Fingerprint.Parse(Convert.ToHexStringLower(SHA256.HashData(File.ReadAllBytes(path))));
        var fetch = new ImageFetch(async (blobs, token) => (await blobs.ImportFileAsync(path, fp, token), Images.Record(fp, cached: true) with { UploadedAt = DateTimeOffset.MinValue.AddDays(1) }), "cache");
        var record = await f.Store.DownloadAsync(Default, fp, fetch);
        return record;
    }

    private static async Task<List<object>> ReplayAsync(StoreFixture f, string persistenceId)
    {
        await using var journal = JournalAccess.Open(f.JournalPath);
        return await journal.ReplayAsync(persistenceId);
    }

    private static async Task WaitUntilAsync(Func<bool> condition)
    {
        var deadline = DateTime.UtcNow.AddSeconds(30);
        while (!condition())
        {
            Assert.True(DateTime.UtcNow < deadline, "condition not met within 30 s");
            await Task.Yield();
        }
    }

    private sealed class SynchronousProgress(List<ImageProgress> sink) : IProgress<ImageProgress>
    {
        public void Report(ImageProgress value)
        {
            lock (sink)
            {
                sink.Add(value);
            }
        }
    }
}

public sealed class RefreshTests
{
    private static readonly ProjectName Default = ProjectName.Default;

    [Fact]
    public async Task Refresh_replaces_an_image_by_the_newer_one_its_source_names_and_carries_its_state_over()
    {
        var newerPath = string.Empty;
        var source = new FakeSource(() => newerPath);

        // The periodic cycle is off so that only the explicit refresh below replaces the image.
        await using var f = await StoreFixture.StartAsync(s => s with { UpdateSource = source, Options = s.Options with { AutoUpdateInterval = TimeSpan.Zero } });
        newerPath = f.Unified("v2");
        var oldPath = f.Unified("v1");
        var oldFp = Fingerprint.Parse(Convert.ToHexStringLower(SHA256.HashData(File.ReadAllBytes(oldPath))));
        var lastUse = new DateTimeOffset(2026, 3, 1, 0, 0, 0, TimeSpan.Zero);
        var old = await f.Store.DownloadAsync(Default, oldFp, new ImageFetch(async (b, t) => (await b.ImportFileAsync(oldPath, oldFp, t), Images.Record(oldFp, cached: true, lastUsed: lastUse) with
        {
            AutoUpdate = true,
            Public = true,
            Profiles = ["default", "gpu"],
            UpdateSource = new UpdateSource("https://images.example", SourceProtocol.SimpleStreams, "debian/12", "", ImageType.Container),
        }), "v1"));
        await f.Store.CreateAliasAsync(Default, "debian/12", old.Fingerprint.ToString());

        var replacement = await f.Store.RefreshAsync(Default, old.Fingerprint.ToString());

        Assert.NotNull(replacement);
        Assert.NotEqual(old.Fingerprint, replacement.Fingerprint);
        Assert.True(replacement.Cached);
        Assert.Equal(lastUse, replacement.LastUsedAt);
        Assert.True(replacement.Public);
        Assert.True(replacement.AutoUpdate);
        Assert.Equal(["default", "gpu"], replacement.Profiles.ToArray());
        Assert.Equal(replacement.Fingerprint, f.Store.Get(Default, "debian/12").Fingerprint);
        Assert.Null(f.Store.Catalog.Find(Default, old.Fingerprint));
        Assert.False(File.Exists(f.Store.Blobs.MetadataPath(old.Fingerprint)));

        Assert.Null(await f.Store.RefreshAsync(Default, replacement.Fingerprint.ToString()));
    }

    private sealed class FakeSource(Func<string> newest) : IImageUpdateSource
    {
        public Task<(Fingerprint Fingerprint, ImageFetch Fetch)?> FindNewerAsync(ImageRecord image, CancellationToken cancellationToken)
        {
            var path = newest();
            var fp = Fingerprint.Parse(Convert.ToHexStringLower(SHA256.HashData(File.ReadAllBytes(path))));
            var fetch = new ImageFetch(async (b, t) => (await b.ImportFileAsync(path, fp, t), Images.Record(fp) with { UpdateSource = image.UpdateSource }), path);
            return Task.FromResult<(Fingerprint, ImageFetch)?>((fp, fetch));
        }
    }
}

public sealed class UnpackTests
{
    private static readonly ProjectName Default = ProjectName.Default;

    [Fact]
    public async Task Unpacking_a_unified_image_writes_its_metadata_and_rootfs()
    {
        await using var f = await StoreFixture.StartAsync();
        var record = await f.Store.ImportAsync(new ImportRequest(new ImageSource.UnifiedFile(f.Unified("un"))) { Aliases = ["un"] });
        var target = Path.Combine(f.Root.FullName, "unpacked");

        var result = await f.Store.UnpackAsync(Default, "un", target);

        Assert.True(result.Entries >= 3);
        Assert.True(File.Exists(Path.Combine(target, "metadata.yaml")));
        Assert.Equal("un\n", File.ReadAllText(Path.Combine(target, "rootfs", "etc", "hostname")));
        await f.Store.DeleteAsync(Default, record.Fingerprint.ToString());
    }

    [Fact]
    public async Task Unpacking_a_split_image_puts_the_rootfs_under_rootfs()
    {
        await using var f = await StoreFixture.StartAsync();
        var (meta, rootfs) = TestImages.Split(f.Sources, "sp");
        var record = await f.Store.ImportAsync(new ImportRequest(new ImageSource.SplitFiles(meta, rootfs)));
        var target = Path.Combine(f.Root.FullName, "split-unpacked");

        await f.Store.UnpackAsync(Default, record.Fingerprint.ToString(), target);

        Assert.True(File.Exists(Path.Combine(target, "metadata.yaml")));
        Assert.Equal("sp\n", File.ReadAllText(Path.Combine(target, "rootfs", "etc", "hostname")));
    }
}
