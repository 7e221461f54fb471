using System.Security.Cryptography.X509Certificates;
using ImageActors.Images.Domain;
using ImageActors.Images.Remote;
using ImageActors.Images.Tests.Store;
using ImageActors.Remotes.Download;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;

namespace ImageActors.Images.Tests.Remote;

/// <summary>Copies from real loopback image servers (Incus REST over pinned TLS, SimpleStreams, plain URL) into a real store.</summary>
public sealed class RemoteCopyTests : IAsyncLifetime, IDisposable
{
    private static readonly X509Certificate2 ServerCertificate = TestCertificates.Create("remote-copy-tests");
    private readonly FakeIncusServer _fake = new();
    private readonly FakeImage _unified = FakeImage.Unified(RemoteTestImages.Unified(1));
    private readonly FakeImage _split;
    private readonly ImageDownloader _downloader = new(new DownloadOptions { InitialBackoff = TimeSpan.FromMilliseconds(5), MaxBackoff = TimeSpan.FromMilliseconds(50) });
    private RemoteImageSources _sources = null!;
    private LoopbackServer _server = null!;
    private StoreFixture _store = null!;

    public RemoteCopyTests()
    {
        var (meta, rootfs) = RemoteTestImages.Split(2);
        _split = FakeImage.Split(meta, rootfs);
    }

    private RemoteSource Incus => new(_server.BaseUri, "incus", TestCertificates.Pem(ServerCertificate));

    public async Task InitializeAsync()
    {
        _fake.Images.AddRange([_unified, _split]);
        _fake.Aliases["debian/12"] = _unified.Fingerprint;
        _fake.Aliases["alpine/3.20"] = _split.Fingerprint;
        _server = await LoopbackServer.StartAsync(_fake.Map, ServerCertificate);
        _sources = new RemoteImageSources(_downloader);
        // The periodic cycle is off so that only the tests' refreshes run (the cycle takes the same path).
        _store = await StoreFixture.StartAsync(s => s with { UpdateSource = new RemoteUpdateSource(_sources), Options = s.Options with { AutoUpdateInterval = TimeSpan.Zero } });
    }

    public async Task DisposeAsync()
    {
        await _store.DisposeAsync();
        await _server.DisposeAsync();
    }

    public void Dispose()
    {
        _sources.Dispose();
        _downloader.Dispose();
    }

    private RemoteImageCopier Copier(RemoteImageSources? sources = null) => new(_store.Store, sources ?? _sources);

    private int Exports(string fingerprint) =>
        _server.Requests.Count(r => r.Method == "GET" && r.RawTarget.StartsWith($"/1.0/images/{fingerprint}/export", StringComparison.Ordinal));

    [Fact]
    public async Task Unified_image_copied_by_alias_from_an_Incus_server_is_stored_with_its_source()
    {
        var record = await Copier().CopyAsync(new CopyRequest(Incus, "debian/12") { Aliases = ["deb"], AutoUpdate = true });

        Assert.Equal(_unified.Fingerprint, record.Fingerprint.ToString());
        Assert.Equal(ImageType.Container, record.Type);
        Assert.False(record.Split);
        Assert.True(record.AutoUpdate);
        Assert.False(record.Cached);
        Assert.Equal("bookworm", record.Properties["release"]);
        Assert.Equal(new UpdateSource(_server.BaseUri.ToString(), SourceProtocol.Incus, "debian/12", TestCertificates.Pem(ServerCertificate), ImageType.Container), record.UpdateSource);
        Assert.Equal(["deb"], record.Aliases.Select(a => a.Name.Value));
        Assert.Equal(_unified.Metadata, await File.ReadAllBytesAsync(_store.Store.Blobs.MetadataPath(record.Fingerprint)));
    }

    [Fact]
    public async Task Split_image_copied_by_fingerprint_keeps_both_files_and_records_no_update_source()
    {
        var record = await Copier().CopyAsync(new CopyRequest(Incus, _split.Fingerprint[..12]) { CopyAliases = true, Public = true });

        Assert.Equal(_split.Fingerprint, record.Fingerprint.ToString());
        Assert.True(record.Split);
        Assert.True(record.Public);
        Assert.Null(record.UpdateSource);
        Assert.Equal(["alpine/3.20"], record.Aliases.Select(a => a.Name.Value));
        Assert.Equal(_split.Metadata, await File.ReadAllBytesAsync(_store.Store.Blobs.MetadataPath(record.Fingerprint)));
        Assert.Equal(_split.Rootfs, await File.ReadAllBytesAsync(_store.Store.Blobs.RootfsPath(record.Fingerprint)));
    }

    [Fact]
    public async Task VM_copy_keeps_the_virtual_machine_type_in_the_record_and_its_update_source()
    {
        var (meta, rootfs) = RemoteTestImages.Split(21);
        var vm = FakeImage.Split(meta, rootfs, "virtual-machine");
        _fake.Images.Add(vm);
        _fake.Aliases["alpine/vm"] = vm.Fingerprint;

        var record = await Copier().CopyAsync(new CopyRequest(Incus, "alpine/vm") { Type = "virtual-machine" });

        Assert.Equal(vm.Fingerprint, record.Fingerprint.ToString());
        Assert.Equal(ImageType.VirtualMachine, record.Type);
        Assert.Equal(ImageType.VirtualMachine, record.UpdateSource?.ImageType);
    }

    [Fact]
    public async Task Cached_copy_for_the_appliance_keeps_the_public_flag_it_was_given()
    {
        var record = await Copier().CopyAsync(new CopyRequest(Incus, "debian/12") { Cached = true, Public = true, PublicWhenCached = true });

        Assert.True(record.Cached);
        Assert.True(record.Public);
    }

    [Fact]
    public async Task Cached_copy_is_private_used_now_and_follows_auto_update_cached()
    {
        var record = await Copier().CopyAsync(new CopyRequest(Incus, "debian/12") { Cached = true, Public = true });

        Assert.True(record.Cached);
        Assert.False(record.Public);
        Assert.True(record.AutoUpdate);
        Assert.NotEqual(DateTimeOffset.MinValue, record.LastUsedAt);
    }

    [Fact]
    public async Task Wrong_bytes_at_the_source_fail_with_a_typed_error_and_store_nothing()
    {
        var liar = _unified with { Fingerprint = Bytes.Sha256(RemoteTestImages.Unified(99)) };
        _fake.Images.Add(liar);
        _fake.Aliases["liar"] = liar.Fingerprint;

        var error = await Assert.ThrowsAsync<ImageCopyException>(() => Copier().CopyAsync(new CopyRequest(Incus, "liar") { Aliases = ["liar"] }));

        Assert.IsType<Remotes.HashMismatchException>(error.InnerException);
        Assert.Empty(_store.Store.List());
        Assert.Empty(_store.Store.ListAliases());
        Assert.Empty(Directory.EnumerateFileSystemEntries(_store.Store.Blobs.ImagesDirectory));
        Assert.Empty(Directory.EnumerateFileSystemEntries(_store.Store.Blobs.TempDirectory));
    }

    [Fact]
    public async Task Unknown_alias_at_the_source_is_a_typed_error()
    {
        var error = await Assert.ThrowsAsync<ImageCopyException>(() => Copier().CopyAsync(new CopyRequest(Incus, "no/such/image")));

        Assert.IsType<Remotes.ImageNotFoundException>(error.InnerException);
        Assert.Empty(_store.Store.List());
    }

    [Fact]
    public async Task Alias_naming_another_image_moves_only_with_reuse()
    {
        var first = await Copier().CopyAsync(new CopyRequest(Incus, "alpine/3.20") { Aliases = ["stable"] });

        await Assert.ThrowsAsync<AliasExistsException>(() => Copier().CopyAsync(new CopyRequest(Incus, "debian/12") { Aliases = ["stable"] }));
        Assert.Equal(first.Fingerprint, _store.Store.GetAlias(ProjectName.Default, "stable").Target);

        var second = await Copier().CopyAsync(new CopyRequest(Incus, "debian/12") { Aliases = ["stable"], Reuse = true });

        Assert.Equal(second.Fingerprint, _store.Store.GetAlias(ProjectName.Default, "stable").Target);
        Assert.Equal(["stable"], second.Aliases.Select(a => a.Name.Value));
    }

    [Fact]
    public async Task Concurrent_copies_of_one_image_download_it_once()
    {
        var copier = Copier();

        var records = await Task.WhenAll(Enumerable.Range(0, 1000).Select(_ => Task.Run(() => copier.CopyAsync(new CopyRequest(Incus, "debian/12")))));

        Assert.All(records, r => Assert.Equal(_unified.Fingerprint, r.Fingerprint.ToString()));
        Assert.Equal(1, Exports(_unified.Fingerprint));
        Assert.Single(_store.Store.List());
    }

    [Fact]
    public async Task Concurrent_copies_by_alias_make_one_alias_lookup_and_one_download()
    {
        var copier = Copier();
        var arrived = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var release = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        _fake.BeforeAliasAnswer = () =>
        {
            arrived.TrySetResult();
            return release.Task;
        };

        // The source holds the first alias answer until every copy has started, so all of them are in flight together.
        var copies = Enumerable.Range(0, 500).Select(_ => copier.CopyAsync(new CopyRequest(Incus, "debian/12"))).ToList();
        await arrived.Task.WaitAsync(TimeSpan.FromSeconds(60));
        release.SetResult();
        var records = await Task.WhenAll(copies).WaitAsync(TimeSpan.FromSeconds(120));

        Assert.All(records, r => Assert.Equal(_unified.Fingerprint, r.Fingerprint.ToString()));
        Assert.Single(_server.Requests, r => r.RawTarget.StartsWith("/1.0/images/aliases/", StringComparison.Ordinal));
        Assert.Single(_server.Requests, r => r.RawTarget == "/1.0/images/" + _unified.Fingerprint);
        Assert.Equal(1, Exports(_unified.Fingerprint));
    }

    [Fact]
    public async Task Private_image_is_copied_with_the_secret_its_source_gave_and_sends_it_with_every_request()
    {
        var secret = FakeImage.Unified(RemoteTestImages.Unified(31), isPublic: false, secret: "s3cr3t");
        _fake.Images.Add(secret);

        var withoutSecret = await Assert.ThrowsAsync<ImageCopyException>(() => Copier().CopyAsync(new CopyRequest(Incus, secret.Fingerprint)));
        var record = await Copier().CopyAsync(new CopyRequest(Incus, secret.Fingerprint) { Secret = "s3cr3t", Aliases = ["mine"] });

        Assert.IsType<Remotes.ImageNotFoundException>(withoutSecret.InnerException);
        Assert.Equal(secret.Fingerprint, record.Fingerprint.ToString());
        Assert.False(record.Public);
        Assert.Null(record.UpdateSource);
        Assert.Contains(_server.Requests, r => r.RawTarget == $"/1.0/images/{secret.Fingerprint}?secret=s3cr3t");
        Assert.Contains(_server.Requests, r => r.RawTarget == $"/1.0/images/{secret.Fingerprint}/export?secret=s3cr3t");
        // Only the copy without a secret looked for an alias of that name: with one, the daemon goes by fingerprint.
        Assert.Single(_server.Requests, r => r.RawTarget.StartsWith("/1.0/images/aliases/", StringComparison.Ordinal));
    }

    [Fact]
    public async Task Copy_completes_when_the_source_dies_mid_download_and_comes_back()
    {
        var big = FakeImage.Unified(RemoteTestImages.Unified(7, payload: 3 << 20));
        _fake.Images.Add(big);
        _fake.Aliases["big"] = big.Fingerprint;
        var clientHasBytes = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        _fake.CutFirstExportAfter = 2_000_000;
        _fake.BeforeCut = () => clientHasBytes.Task.WaitAsync(TimeSpan.FromSeconds(30));
        var retries = 0;
        using var downloader = new ImageDownloader(new DownloadOptions
        {
            InitialBackoff = TimeSpan.FromMilliseconds(5),
            MaxBackoff = TimeSpan.FromMilliseconds(20),
            ProgressInterval = TimeSpan.Zero,
            OnRetry = async _ =>
            {
                // First failure: the connection broke, and the server goes away; second failure: nobody listens, and it comes back.
                if (++retries == 1)
                {
                    await _server.StopAsync();
                }
                else if (retries == 2)
                {
                    await _server.StartAsync();
                }
            },
        });
        using var sources = new RemoteImageSources(downloader);
        var progress = new InlineProgress(p =>
        {
            if (p.Processed >= 1 << 20)
            {
                clientHasBytes.TrySetResult();
            }
        });

        var record = await Copier(sources).CopyAsync(new CopyRequest(Incus, "big") { Progress = progress }).WaitAsync(TimeSpan.FromSeconds(120));

        Assert.Equal(big.Fingerprint, record.Fingerprint.ToString());
        Assert.True(retries >= 2);
        var exports = _server.Requests.Where(r => r.RawTarget.StartsWith($"/1.0/images/{big.Fingerprint}/export", StringComparison.Ordinal)).ToList();
        Assert.Null(exports[0].Range);
        Assert.Matches("^bytes=[1-9][0-9]*-$", exports[^1].Range);
        Assert.Equal(big.Metadata, await File.ReadAllBytesAsync(_store.Store.Blobs.MetadataPath(record.Fingerprint)));
    }

    [Fact]
    public async Task Auto_update_moves_the_alias_to_the_newer_image_and_removes_the_old_one()
    {
        var old = await Copier().CopyAsync(new CopyRequest(Incus, "debian/12") { Aliases = ["deb"], AutoUpdate = true });
        var newer = FakeImage.Unified(RemoteTestImages.Unified(3, release: "12.1"));
        _fake.Images.Add(newer);
        _fake.Aliases["debian/12"] = newer.Fingerprint;

        var replacement = await _store.Store.RefreshAsync(ProjectName.Default, old.Fingerprint.ToString());

        Assert.NotNull(replacement);
        Assert.Equal(newer.Fingerprint, replacement.Fingerprint.ToString());
        Assert.Equal(newer.Fingerprint, _store.Store.GetAlias(ProjectName.Default, "deb").Target.ToString());
        Assert.Null(_store.Store.Catalog.Find(ProjectName.Default, old.Fingerprint));
        Assert.Equal("debian/12", replacement.UpdateSource?.Alias);
        Assert.Equal(1, Exports(newer.Fingerprint));
    }

    [Fact]
    public async Task An_image_pulled_through_by_two_upstream_aliases_is_replaced_by_auto_update_with_both_aliases_still_the_caches()
    {
        _fake.Aliases["debian/bookworm"] = _unified.Fingerprint;
        var resolver = new PullThroughResolver(_store.Store, Copier(), _sources, [Incus]);
        var old = await resolver.GetOrFetchAsync(ProjectName.Default, "debian/12");
        await resolver.GetOrFetchAsync(ProjectName.Default, "debian/bookworm");
        Assert.Equal(["debian/bookworm"], _store.Store.Get(ProjectName.Default, old.Fingerprint.ToString()).CacheAliases.Select(a => a.Value));

        var newer = FakeImage.Unified(RemoteTestImages.Unified(3, release: "12.1"));
        _fake.Images.Add(newer);
        _fake.Aliases["debian/12"] = newer.Fingerprint;
        var replacement = await _store.Store.RefreshAsync(ProjectName.Default, old.Fingerprint.ToString());

        Assert.NotNull(replacement);
        Assert.Equal(newer.Fingerprint, _store.Store.GetAlias(ProjectName.Default, "debian/bookworm").Target.ToString());
        var retention = _store.Store.RetentionOf(_store.Store.Get(ProjectName.Default, newer.Fingerprint));
        Assert.Empty(retention.PinnedBy);
        Assert.Equal(["debian/12", "debian/bookworm"], retention.FollowsImage);
    }

    [Fact]
    public async Task A_refresh_that_replaces_an_image_raises_created_alias_updated_deleted_and_refreshed()
    {
        var old = await Copier().CopyAsync(new CopyRequest(Incus, "debian/12") { Aliases = ["deb"], AutoUpdate = true });
        var newer = FakeImage.Unified(RemoteTestImages.Unified(4, release: "12.2"));
        _fake.Images.Add(newer);
        _fake.Aliases["debian/12"] = newer.Fingerprint;
        var events = new System.Collections.Concurrent.ConcurrentQueue<ImageLifecycleEvent>();
        _store.Store.Lifecycle += (_, e) => events.Enqueue(e);

        await _store.Store.RefreshAsync(ProjectName.Default, old.Fingerprint.ToString());

        Assert.Equal(
            [
                ("image-created", $"/1.0/images/{newer.Fingerprint}"),
                ("image-alias-updated", "/1.0/images/aliases/deb"),
                ("image-deleted", $"/1.0/images/{old.Fingerprint}"),
                ("image-refreshed", $"/1.0/images/{old.Fingerprint}"),
            ],
            events.Select(e => (e.Action, e.Source)));
        Assert.Equal(newer.Fingerprint, events.ElementAt(1).Context["target"]);
    }

    [Fact]
    public async Task Refresh_of_an_image_the_source_still_names_changes_nothing()
    {
        var old = await Copier().CopyAsync(new CopyRequest(Incus, "debian/12") { AutoUpdate = true });

        var replacement = await _store.Store.RefreshAsync(ProjectName.Default, old.Fingerprint.ToString());

        Assert.Null(replacement);
        Assert.Equal(1, Exports(_unified.Fingerprint));
    }

    [Fact]
    public async Task Failed_auto_update_with_wrong_bytes_keeps_the_old_image_serving()
    {
        var old = await Copier().CopyAsync(new CopyRequest(Incus, "debian/12") { Aliases = ["deb"], AutoUpdate = true });
        var liar = FakeImage.Unified(RemoteTestImages.Unified(4)) with { Fingerprint = Bytes.Sha256(RemoteTestImages.Unified(5)) };
        _fake.Images.Add(liar);
        _fake.Aliases["debian/12"] = liar.Fingerprint;

        var error = await Assert.ThrowsAsync<ImageCopyException>(() => _store.Store.RefreshAsync(ProjectName.Default, old.Fingerprint.ToString()));

        Assert.IsType<Remotes.HashMismatchException>(error.InnerException);

        await AssertStillServedAsync(old);
    }

    [Fact]
    public async Task Failed_auto_update_with_the_source_gone_keeps_the_old_image_serving()
    {
        var old = await Copier().CopyAsync(new CopyRequest(Incus, "debian/12") { Aliases = ["deb"], AutoUpdate = true });
        await _server.StopAsync();

        await Assert.ThrowsAsync<ImageCopyException>(() => _store.Store.RefreshAsync(ProjectName.Default, old.Fingerprint.ToString()));

        await AssertStillServedAsync(old);
    }

    private async Task AssertStillServedAsync(ImageRecord old)
    {
        Assert.Single(_store.Store.List());
        Assert.Equal(old.Fingerprint, _store.Store.GetAlias(ProjectName.Default, "deb").Target);
        await using var export = await _store.Store.ExportAsync(ProjectName.Default, "deb");
        using var copy = new MemoryStream();
        await export.Metadata.CopyToAsync(copy);
        Assert.Equal(_unified.Metadata, copy.ToArray());
    }

    [Fact]
    public async Task Split_image_copied_from_a_SimpleStreams_tree_records_its_alias_source()
    {
        var root = Directory.CreateTempSubdirectory("imageactors-ss-");
        try
        {
            var tree = new SimpleStreamsTree(root.FullName);
            var fingerprint = tree.AddSplit("alpine:3.20:amd64:default", "Alpine", "3.20", "amd64", "20250101_0000", "alpine/3.20/default,alpine/3.20", _split.Metadata, _split.Rootfs!);
            tree.Publish();
            await using var server = await LoopbackServer.StartAsync(tree.Map);
            var source = new RemoteSource(server.BaseUri, "simplestreams");

            var record = await Copier().CopyAsync(new CopyRequest(source, "alpine/3.20") { AutoUpdate = true });

            Assert.Equal(fingerprint, record.Fingerprint.ToString());
            Assert.True(record.Split);
            Assert.Equal(ImageType.Container, record.Type);
            Assert.Equal("Alpine", record.Properties["os"]);
            Assert.Equal(SourceProtocol.SimpleStreams, record.UpdateSource?.Protocol);
            Assert.Equal("alpine/3.20", record.UpdateSource?.Alias);
            Assert.Equal(_split.Rootfs, await File.ReadAllBytesAsync(_store.Store.Blobs.RootfsPath(record.Fingerprint)));
        }
        finally
        {
            root.Delete(recursive: true);
        }
    }

    [Fact]
    public async Task Upstream_image_lists_are_fetched_once_per_time_to_live_however_many_ask()
    {
        var root = Directory.CreateTempSubdirectory("imageactors-ss-");
        try
        {
            var tree = new SimpleStreamsTree(root.FullName);
            var fingerprint = tree.AddSplit("alpine:3.20:amd64:default", "Alpine", "3.20", "amd64", "20250101_0000", "alpine/3.20", _split.Metadata, _split.Rootfs!);
            tree.Publish();
            await using var server = await LoopbackServer.StartAsync(tree.Map);
            var clock = new Microsoft.Extensions.Time.Testing.FakeTimeProvider();
            var upstreams = new[] { new RemoteSource(server.BaseUri, "simplestreams"), Incus };
            var resolver = new PullThroughResolver(_store.Store, Copier(), _sources, upstreams, TimeSpan.FromMinutes(10), clock);
            int IndexFetches() => server.Requests.Count(r => r.RawTarget == "/streams/v1/index.json");

            var lists = await Task.WhenAll(Enumerable.Range(0, 10).Select(_ => Task.Run(() => resolver.ListUpstreamImagesAsync())));
            clock.Advance(TimeSpan.FromMinutes(9));
            await resolver.ListUpstreamImagesAsync();
            var withinTtl = IndexFetches();
            clock.Advance(TimeSpan.FromMinutes(2));
            var later = await resolver.ListUpstreamImagesAsync();

            Assert.Equal(1, withinTtl);
            Assert.Equal(2, IndexFetches());
            // The tree holds the same split image the Incus upstream has: listed once, from the first upstream.
            Assert.Equal(_split.Fingerprint, fingerprint);
            Assert.All(lists, l => Assert.Equal(2, l.Count));
            Assert.Contains(later, i => i.Image.Fingerprint.ToString() == fingerprint && i.Upstream == upstreams[0]);
            Assert.Contains(later, i => i.Image.Fingerprint.ToString() == _unified.Fingerprint && i.Upstream == upstreams[1]);
        }
        finally
        {
            root.Delete(recursive: true);
        }
    }

    [Fact]
    public async Task URL_import_follows_the_image_headers_and_downloads_once()
    {
        var bytes = RemoteTestImages.Unified(11);
        var fingerprint = Bytes.Sha256(bytes);
        await using var server = await LoopbackServer.StartAsync(app =>
        {
            app.MapMethods("/image", ["HEAD", "GET"], (HttpContext context) =>
            {
                context.Response.Headers["Incus-Image-Hash"] = fingerprint;
                context.Response.Headers["Incus-Image-URL"] = "/files/debian.tar";
                return Task.CompletedTask;
            });
            app.MapGet("/files/debian.tar", (HttpContext context) => RangeFile.ServeAsync(context, bytes));
        });
        var url = new Uri(server.BaseUri, "/image");

        var first = await Copier().ImportUrlAsync(url, ProjectName.Default, ["url-image"]);
        var second = await Copier().ImportUrlAsync(url, ProjectName.Default);

        Assert.Equal(fingerprint, first.Fingerprint.ToString());
        Assert.Equal(first.Fingerprint, second.Fingerprint);
        Assert.Null(first.UpdateSource);
        Assert.Equal("debian.tar", first.Filename);
        Assert.Equal(["url-image"], first.Aliases.Select(a => a.Name.Value));
        Assert.Equal(1, server.Requests.Count(r => r.Method == "GET" && r.RawTarget == "/files/debian.tar"));
    }

    [Fact]
    public async Task Pull_through_fetches_from_the_first_upstream_that_has_it_once_then_serves_locally()
    {
        var emptyFake = new FakeIncusServer();
        await using var empty = await LoopbackServer.StartAsync(emptyFake.Map, ServerCertificate);
        var upstreams = new[] { new RemoteSource(empty.BaseUri, "incus", TestCertificates.Pem(ServerCertificate)), Incus };
        var resolver = new PullThroughResolver(_store.Store, Copier(), _sources, upstreams);

        var records = await Task.WhenAll(Enumerable.Range(0, 50).Select(_ => Task.Run(() => resolver.GetOrFetchAsync(ProjectName.Default, "debian/12"))));
        await _server.StopAsync();
        await empty.StopAsync();
        var later = await resolver.GetOrFetchAsync(ProjectName.Default, "debian/12");

        Assert.All(records, r => Assert.Equal(_unified.Fingerprint, r.Fingerprint.ToString()));
        Assert.Equal(1, Exports(_unified.Fingerprint));
        Assert.True(later.Cached);
        Assert.Equal(_unified.Fingerprint, later.Fingerprint.ToString());
        Assert.Equal(_unified.Fingerprint, _store.Store.GetAlias(ProjectName.Default, "debian/12").Target.ToString());
    }

    [Fact]
    public async Task Concurrent_pull_throughs_raise_image_created_once_and_count_one_hit_per_later_request()
    {
        var resolver = new PullThroughResolver(_store.Store, Copier(), _sources, [Incus]);
        var events = new System.Collections.Concurrent.ConcurrentQueue<ImageLifecycleEvent>();
        _store.Store.Lifecycle += (_, e) => events.Enqueue(e);

        await Task.WhenAll(Enumerable.Range(0, 20).Select(_ => Task.Run(() => resolver.GetOrFetchAsync(ProjectName.Default, _unified.Fingerprint))));
        var hitsBefore = resolver.Counters.Hits;
        await resolver.GetOrFetchAsync(ProjectName.Default, _unified.Fingerprint);

        Assert.Single(events, e => e.Action == "image-created" && e.Source == $"/1.0/images/{_unified.Fingerprint}");
        Assert.Equal(21, resolver.Counters.Hits + resolver.Counters.Misses);
        Assert.InRange(resolver.Counters.Misses, 1, 20);
        Assert.Equal(hitsBefore + 1, resolver.Counters.Hits);
    }

    [Fact]
    public async Task A_pulled_image_is_held_for_its_request_so_the_size_bound_takes_it_only_after_the_request_ended()
    {
        // A bound no image fits in: every fetch asks the size bound to make room, and only held images stay.
        await using var bounded = await StoreFixture.StartAsync(s => s with
        {
            Options = s.Options with { CacheMaxSize = 1, RemoteCacheExpiry = TimeSpan.Zero, AutoUpdateInterval = TimeSpan.Zero },
        });
        var resolver = new PullThroughResolver(bounded.Store, new RemoteImageCopier(bounded.Store, _sources), _sources, [Incus]);
        // A released export starts a pass of its own, so an image may go before the pass asked for below: count what went from the events.
        var deleted = new System.Collections.Concurrent.ConcurrentQueue<string>();
        bounded.Store.Lifecycle += (_, e) =>
        {
            if (e.Action == "image-deleted")
            {
                deleted.Enqueue(e.Source);
            }
        };

        var first = await resolver.OpenOrFetchAsync(ProjectName.Default, "debian/12");
        await using (var second = await resolver.OpenOrFetchAsync(ProjectName.Default, _split.Fingerprint))
        {
            Assert.True(second.Fetched);
            Assert.NotNull(bounded.Store.Catalog.Find(ProjectName.Default, first.Image.Fingerprint));
            Assert.Empty(await bounded.Store.EvictNowAsync());
            Assert.Empty(deleted);
        }

        Assert.True(first.Fetched);
        Assert.Equal("debian/12", first.Alias?.Name.Value);
        Assert.Equal(_unified.Fingerprint, first.Alias?.Target.ToString());
        using (var read = new MemoryStream())
        {
            await first.Export.Metadata.CopyToAsync(read);
            Assert.Equal(_unified.Metadata, read.ToArray());
        }

        await first.DisposeAsync();
        await bounded.Store.EvictNowAsync();

        Assert.Equal(
            new[] { _split.Fingerprint, _unified.Fingerprint }.Select(f => $"/1.0/images/{f}").Order(StringComparer.Ordinal),
            deleted.Order(StringComparer.Ordinal));
        Assert.Empty(bounded.Store.List());
        Assert.Equal(1, Exports(_unified.Fingerprint));
    }

    [Fact]
    public async Task A_pull_through_that_finds_its_image_gone_from_the_store_but_still_listed_fetches_it_again()
    {
        var resolver = new PullThroughResolver(_store.Store, Copier(), _sources, [Incus]);
        await using (await resolver.OpenOrFetchAsync(ProjectName.Default, _unified.Fingerprint))
        {
        }

        // The image's actor removes it, and nothing waits for the read model to hear of it (as with an eviction under load).
        var fingerprint = global::ImageActors.Streaming.Fingerprint.Parse(_unified.Fingerprint);
        var listed = _store.Store.Catalog.Find(ProjectName.Default, fingerprint);
        await _store.Store.Context.AskImage<global::ImageActors.Images.Actors.ImageProtocol.Deleted>(ProjectName.Default, fingerprint, new global::ImageActors.Images.Actors.ImageProtocol.Delete("evicted"), CancellationToken.None);

        await using var again = await resolver.OpenOrFetchAsync(ProjectName.Default, _unified.Fingerprint);

        Assert.NotNull(listed);
        Assert.True(again.Fetched);
        Assert.Equal(2, Exports(_unified.Fingerprint));
        using var read = new MemoryStream();
        await again.Export.Metadata.CopyToAsync(read);
        Assert.Equal(_unified.Metadata, read.ToArray());
    }

    [Fact]
    public async Task An_image_pulled_through_by_fingerprint_and_then_by_its_alias_is_still_evicted_for_size()
    {
        // Room for either image, not for both.
        var bound = _unified.Metadata.Length + _split.Metadata.Length + _split.Rootfs!.Length - 1;
        await using var bounded = await StoreFixture.StartAsync(s => s with
        {
            Options = s.Options with { CacheMaxSize = bound, RemoteCacheExpiry = TimeSpan.Zero, AutoUpdateInterval = TimeSpan.Zero },
        });
        var resolver = new PullThroughResolver(bounded.Store, new RemoteImageCopier(bounded.Store, _sources), _sources, [Incus]);

        var byFingerprint = await resolver.GetOrFetchAsync(ProjectName.Default, _unified.Fingerprint);
        var byAlias = await resolver.GetOrFetchAsync(ProjectName.Default, "debian/12");
        var retention = bounded.Store.RetentionOf(bounded.Store.Get(ProjectName.Default, _unified.Fingerprint));

        Assert.Null(byFingerprint.UpdateSource);
        Assert.Equal(byFingerprint.Fingerprint, byAlias.Fingerprint);
        Assert.Equal(_unified.Fingerprint, bounded.Store.GetAlias(ProjectName.Default, "debian/12").Target.ToString());
        Assert.Empty(retention.PinnedBy);
        Assert.Equal(["debian/12"], retention.FollowsImage);

        await resolver.GetOrFetchAsync(ProjectName.Default, _split.Fingerprint);
        await bounded.Store.EvictNowAsync();

        Assert.Equal([_split.Fingerprint], bounded.Store.List().Select(i => i.Fingerprint.ToString()));
        Assert.Equal(1, Exports(_unified.Fingerprint));
    }

    [Fact]
    public async Task A_users_alias_keeps_a_cached_image_beside_the_alias_the_pull_through_made_and_both_are_known_after_a_restart()
    {
        var resolver = new PullThroughResolver(_store.Store, Copier(), _sources, [Incus]);
        await resolver.GetOrFetchAsync(ProjectName.Default, _unified.Fingerprint);
        await resolver.GetOrFetchAsync(ProjectName.Default, "debian/12");
        await _store.Store.CreateAliasAsync(ProjectName.Default, "mine", _unified.Fingerprint);

        await _store.RestartAsync(s => s with { UpdateSource = new RemoteUpdateSource(_sources), Options = s.Options with { AutoUpdateInterval = TimeSpan.Zero } });
        var image = _store.Store.Get(ProjectName.Default, _unified.Fingerprint);
        var retention = _store.Store.RetentionOf(image);

        Assert.True(image.Cached);
        Assert.Equal(["debian/12"], image.CacheAliases.Select(a => a.Value));
        Assert.Equal(["mine"], retention.PinnedBy);
        Assert.Equal(["debian/12"], retention.FollowsImage);
    }

    [Fact]
    public async Task Pull_through_of_what_no_upstream_has_is_not_found()
    {
        var resolver = new PullThroughResolver(_store.Store, Copier(), _sources, [Incus]);

        await Assert.ThrowsAsync<global::ImageActors.Images.Domain.ImageNotFoundException>(() => resolver.GetOrFetchAsync(ProjectName.Default, "no/such/image"));
    }

    private sealed class InlineProgress(Action<ImageProgress> report) : IProgress<ImageProgress>
    {
        public void Report(ImageProgress value) => report(value);
    }
}
