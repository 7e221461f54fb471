using System.Security.Cryptography.X509Certificates;
using ImageActors.Remotes.Download;
using ImageActors.Remotes.Incus;
using ImageActors.Remotes.Tests.Fixtures;

namespace ImageActors.Remotes.Tests.Incus;

public sealed class IncusRemoteTests : IAsyncLifetime
{
    private static readonly X509Certificate2 ServerCertificate = TestCertificates.Create("incus-test-server");
    private readonly FakeIncusServer _fake = new();
    private readonly TempDirectory _temp = new();
    private readonly ImageDownloader _downloader = new(new DownloadOptions { InitialBackoff = TimeSpan.FromMilliseconds(10) });
    private readonly FakeImage _unified = FakeImage.Unified(Bytes.Random(3 << 20, 1));
    private readonly FakeImage _split = FakeImage.Split(Bytes.Random(10_000, 2), Bytes.Random(2 << 20, 3));
    private readonly FakeImage _vm = FakeImage.Split(Bytes.Random(5_000, 4), Bytes.Random(1 << 20, 5), ImageTypes.VirtualMachine);
    private readonly FakeImage _private = FakeImage.Unified(Bytes.Random(100_000, 6), isPublic: false, secret: "0123abcd");
    private LoopbackServer _server = null!;
    private IncusRemote _remote = null!;

    public async Task InitializeAsync()
    {
        _fake.Images.AddRange([_unified, _split, _vm, _private]);
        _fake.Aliases["ubuntu/24.04"] = _unified.Fingerprint;
        _fake.Aliases["debian/12"] = _split.Fingerprint;
        _fake.Aliases["debian/12/vm"] = _vm.Fingerprint;
        _server = await LoopbackServer.StartAsync(_fake.Map, ServerCertificate);
        _remote = new IncusRemote(_server.BaseUri, _downloader, new RemoteConnection { ServerCertificatePem = TestCertificates.Pem(ServerCertificate) });
    }

    public async Task DisposeAsync()
    {
        _remote.Dispose();
        _downloader.Dispose();
        await _server.DisposeAsync();
        _temp.Dispose();
    }

    [Fact]
    public async Task Server_info_of_a_public_remote_is_read_over_pinned_TLS()
    {
        var info = await _remote.GetServerAsync();
        Assert.True(info.Public);
        Assert.Equal("untrusted", info.Auth);
        Assert.Null(info.ApiExtensions);
    }

    [Fact]
    public async Task Alias_with_a_slash_is_sent_as_one_percent_encoded_segment()
    {
        var image = await _remote.ResolveAliasAsync("ubuntu/24.04");

        Assert.Equal(_unified.Fingerprint, image.Fingerprint.ToString());
        Assert.Equal("ubuntu/24.04", image.Alias);
        Assert.Contains(_server.Requests, r => r.RawTarget == "/1.0/images/aliases/ubuntu%2F24.04");
        Assert.DoesNotContain(_server.Requests, r => r.RawTarget.StartsWith("/1.0/images/aliases?", StringComparison.Ordinal) || r.RawTarget == "/1.0/images/aliases");
    }

    [Fact]
    public async Task Unified_export_is_downloaded_verified_and_named_by_Content_Disposition()
    {
        var image = await _remote.ResolveAliasAsync("ubuntu/24.04");
        var tmp = _temp.Sub("tmp");

        var downloaded = await _remote.DownloadAsync(image, tmp);

        Assert.False(downloaded.IsSplit);
        Assert.Equal(_unified.Metadata, await File.ReadAllBytesAsync(downloaded.Metadata.Path));
        Assert.Equal($"{_unified.Fingerprint}.tar.xz", downloaded.Metadata.FileName);
        Assert.Equal(_unified.Fingerprint, downloaded.Metadata.Sha256);
    }

    [Fact]
    public async Task Broken_unified_export_resumes_with_Range_where_Incus_would_start_over()
    {
        var clientHasBytes = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        _fake.CutFirstExportAfter = 2_000_000;
        _fake.BeforeCut = () => clientHasBytes.Task.WaitAsync(TimeSpan.FromSeconds(30));
        var progress = new InlineProgress(p =>
        {
            if (p.BytesReceived >= 1 << 20)
            {
                clientHasBytes.TrySetResult();
            }
        });
        using var downloader = new ImageDownloader(new DownloadOptions { InitialBackoff = TimeSpan.FromMilliseconds(5), ProgressInterval = TimeSpan.Zero });
        using var remote = new IncusRemote(_server.BaseUri, downloader, new RemoteConnection { ServerCertificatePem = TestCertificates.Pem(ServerCertificate) });
        var image = await remote.ResolveAliasAsync("ubuntu/24.04");

        var downloaded = await remote.DownloadAsync(image, _temp.Sub("tmp"), progress).WaitAsync(TimeSpan.FromSeconds(60));

        Assert.Equal(_unified.Fingerprint, downloaded.Metadata.Sha256);
        Assert.Equal(2, downloaded.Metadata.Attempts);
        var exports = _server.Requests.Where(r => r.RawTarget.EndsWith("/export", StringComparison.Ordinal)).ToList();
        Assert.Equal(2, exports.Count);
        Assert.Null(exports[0].Range);
        Assert.Matches("^bytes=[0-9]+-$", exports[1].Range);
        Assert.Equal($"{_unified.Fingerprint}.tar.xz", downloaded.Metadata.FileName);
    }

    [Fact]
    public async Task Split_export_is_read_as_metadata_then_rootfs_and_checked_against_the_fingerprint()
    {
        var image = await _remote.ResolveAliasAsync("debian/12");

        var downloaded = await _remote.DownloadAsync(image, _temp.Sub("tmp"));

        Assert.True(downloaded.IsSplit);
        Assert.Equal(ImageTypes.Container, downloaded.Type);
        Assert.Equal(_split.Metadata, await File.ReadAllBytesAsync(downloaded.Metadata.Path));
        Assert.Equal(_split.Rootfs, await File.ReadAllBytesAsync(downloaded.Rootfs!.Path));
        Assert.Equal($"meta-{_split.Fingerprint}.tar.xz", downloaded.Metadata.FileName);
        Assert.Equal($"{_split.Fingerprint}.squashfs", downloaded.Rootfs.FileName);
        Assert.Equal(Bytes.Sha256(_split.Rootfs!), downloaded.Rootfs.Sha256);
    }

    [Fact]
    public async Task Split_export_with_a_rootfs_img_part_is_a_virtual_machine()
    {
        var image = await _remote.ResolveAliasAsync("debian/12/vm", ImageTypes.VirtualMachine);

        var downloaded = await _remote.DownloadAsync(image, _temp.Sub("tmp"));

        Assert.Equal(ImageTypes.VirtualMachine, downloaded.Type);
        Assert.Equal(_vm.Rootfs, await File.ReadAllBytesAsync(downloaded.Rootfs!.Path));
    }

    [Fact]
    public async Task Alias_of_another_type_is_not_found()
    {
        await Assert.ThrowsAsync<ImageNotFoundException>(() => _remote.ResolveAliasAsync("debian/12", ImageTypes.VirtualMachine));
    }

    [Fact]
    public async Task Split_export_with_an_unexpected_part_is_refused_and_leaves_nothing()
    {
        _fake.RootPartNameOverride = "junk";
        var image = await _remote.ResolveAliasAsync("debian/12");
        var tmp = _temp.Sub("tmp");

        var error = await Assert.ThrowsAsync<RemoteProtocolException>(() => _remote.DownloadAsync(image, tmp));

        Assert.Contains("Invalid multipart image", error.Message, StringComparison.Ordinal);
        Assert.Empty(TempDirectory.Files(tmp));
    }

    [Fact]
    public async Task Unknown_alias_is_a_typed_not_found_carrying_the_404_envelope()
    {
        var error = await Assert.ThrowsAsync<ImageNotFoundException>(() => _remote.ResolveAliasAsync("nope/1"));
        var envelope = Assert.IsType<RemoteErrorResponseException>(error.InnerException);
        Assert.Equal(404, envelope.StatusCode);
        Assert.Equal("Not Found", envelope.Error);
    }

    [Fact]
    public async Task Unknown_fingerprint_error_names_the_input_as_the_server_did()
    {
        var error = await Assert.ThrowsAsync<ImageNotFoundException>(() => _remote.GetImageAsync("ffff"));
        var envelope = Assert.IsType<RemoteErrorResponseException>(error.InnerException);
        Assert.Equal("Image \"ffff\" not found", envelope.Error);
        Assert.Equal("ffff", error.Input);
    }

    [Fact]
    public async Task Image_is_found_by_a_fingerprint_prefix()
    {
        var image = await _remote.FindImageAsync(_split.Fingerprint[..12]);
        Assert.Equal(_split.Fingerprint, image.Fingerprint.ToString());
        Assert.Equal("Debian", image.Info.Properties["os"]);
    }

    [Fact]
    public async Task Private_image_needs_its_secret_for_info_and_export()
    {
        await Assert.ThrowsAsync<ImageNotFoundException>(() => _remote.GetImageAsync(_private.Fingerprint));

        var image = await _remote.GetImageAsync(_private.Fingerprint, "0123abcd");
        var downloaded = await _remote.DownloadAsync(image, _temp.Sub("tmp"));

        Assert.Equal(_private.Metadata, await File.ReadAllBytesAsync(downloaded.Metadata.Path));
        Assert.Contains(_server.Requests, r => r.RawTarget == $"/1.0/images/{_private.Fingerprint}/export?secret=0123abcd");
    }

    [Fact]
    public async Task Listing_uses_recursion_and_shows_public_images_only()
    {
        var images = await _remote.ListImagesAsync();

        Assert.Equal(3, images.Count);
        Assert.DoesNotContain(images, i => i.Fingerprint.ToString() == _private.Fingerprint);
        Assert.Contains(_server.Requests, r => r.RawTarget == "/1.0/images?recursion=1");
    }

    [Fact]
    public async Task An_export_probe_tells_a_unified_image_with_its_length_and_name_from_a_split_one_by_headers_alone()
    {
        var images = await _remote.ListImagesAsync();

        var unified = await _remote.ProbeExportAsync(images.Single(i => i.Fingerprint.ToString() == _unified.Fingerprint));
        var split = await _remote.ProbeExportAsync(images.Single(i => i.Fingerprint.ToString() == _split.Fingerprint));
        var vm = await _remote.ProbeExportAsync(images.Single(i => i.Fingerprint.ToString() == _vm.Fingerprint));

        Assert.Equal(new ExportProbe(ExportShape.Unified, _unified.Metadata.Length, $"{_unified.Fingerprint}.tar.xz"), unified);
        Assert.Equal(ExportShape.Split, split.Shape);
        Assert.Equal(ExportShape.Split, vm.Shape);
        Assert.All(_server.Requests.Where(r => r.RawTarget.EndsWith("/export", StringComparison.Ordinal)), r => Assert.Equal("bytes=0-0", r.Range));
    }

    [Fact]
    public async Task An_export_probe_of_an_image_the_server_no_longer_has_is_unknown()
    {
        var image = (await _remote.ListImagesAsync()).Single(i => i.Fingerprint.ToString() == _unified.Fingerprint);
        _fake.Images.Remove(_unified);

        var probe = await _remote.ProbeExportAsync(image);

        Assert.Equal(ExportShape.Unknown, probe.Shape);
    }

    [Fact]
    public async Task Project_is_sent_on_every_call_when_set()
    {
        using var remote = new IncusRemote(_server.BaseUri, _downloader, new RemoteConnection { ServerCertificatePem = TestCertificates.Pem(ServerCertificate) }, project: "default");
        await remote.ResolveAliasAsync("ubuntu/24.04");
        Assert.Contains(_server.Requests, r => r.RawTarget == "/1.0/images/aliases/ubuntu%2F24.04?project=default");
        Assert.Contains(_server.Requests, r => r.RawTarget == $"/1.0/images/{_unified.Fingerprint}?project=default");
    }

    [Fact]
    public async Task A_server_certificate_other_than_the_pinned_one_is_refused()
    {
        var other = TestCertificates.Create("someone-else");
        using var remote = new IncusRemote(_server.BaseUri, _downloader, new RemoteConnection { ServerCertificatePem = TestCertificates.Pem(other) });

        var error = await Assert.ThrowsAsync<RemoteException>(() => remote.GetServerAsync());
        Assert.IsType<HttpRequestException>(error.InnerException);
    }

    [Fact]
    public async Task Without_a_pin_a_self_signed_server_is_refused_by_the_system_CAs()
    {
        using var remote = new IncusRemote(_server.BaseUri, _downloader);
        await Assert.ThrowsAsync<RemoteException>(() => remote.GetServerAsync());
    }

    [Fact]
    public async Task Trusted_remote_sees_our_client_certificate()
    {
        var client = TestCertificates.Create("imageactors-client");
        var trusted = new FakeIncusServer { TrustedThumbprint = client.Thumbprint };
        await using var server = await LoopbackServer.StartAsync(trusted.Map, ServerCertificate, requireClientCertificate: true);
        using var remote = new IncusRemote(server.BaseUri, _downloader, new RemoteConnection { ServerCertificatePem = TestCertificates.Pem(ServerCertificate), ClientCertificate = client });

        var info = await remote.GetServerAsync();

        Assert.Equal("trusted", info.Auth);
        Assert.Equal(client.Thumbprint, server.Requests.Single().ClientCertificateThumbprint);
    }

    private sealed class InlineProgress(Action<DownloadProgress> report) : IProgress<DownloadProgress>
    {
        public void Report(DownloadProgress value) => report(value);
    }

    [Fact]
    public async Task Concurrent_resolutions_of_one_alias_send_one_alias_request_and_one_image_request()
    {
        var arrived = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var release = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        _fake.BeforeAliasAnswer = () =>
        {
            arrived.TrySetResult();
            return release.Task;
        };

        // Every call joins before the first answer can come: the server holds it until all were made.
        var lookups = Enumerable.Range(0, 100).Select(_ => _remote.ResolveAliasAsync("ubuntu/24.04")).ToList();
        await arrived.Task.WaitAsync(TimeSpan.FromSeconds(60));
        release.SetResult();
        var images = await Task.WhenAll(lookups).WaitAsync(TimeSpan.FromSeconds(60));

        Assert.All(images, i => Assert.Equal(_unified.Fingerprint, i.Fingerprint.ToString()));
        Assert.Single(_server.Requests, r => r.RawTarget.StartsWith("/1.0/images/aliases/", StringComparison.Ordinal));
        Assert.Single(_server.Requests, r => r.RawTarget == "/1.0/images/" + _unified.Fingerprint);
    }

    [Fact]
    public async Task A_caller_that_gives_up_on_a_shared_lookup_leaves_it_running_for_the_others()
    {
        var arrived = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var release = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        _fake.BeforeAliasAnswer = () =>
        {
            arrived.TrySetResult();
            return release.Task;
        };
        using var impatient = new CancellationTokenSource();

        var givingUp = _remote.ResolveAliasAsync("debian/12", cancellationToken: impatient.Token);
        var waiting = _remote.ResolveAliasAsync("debian/12");
        await arrived.Task.WaitAsync(TimeSpan.FromSeconds(60));
        await impatient.CancelAsync();
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => givingUp);
        release.SetResult();

        Assert.Equal(_split.Fingerprint, (await waiting.WaitAsync(TimeSpan.FromSeconds(60))).Fingerprint.ToString());
        Assert.Single(_server.Requests, r => r.RawTarget.StartsWith("/1.0/images/aliases/", StringComparison.Ordinal));
    }

    [Fact]
    public async Task A_failed_lookup_is_not_kept_and_the_next_one_asks_again()
    {
        await Assert.ThrowsAsync<ImageNotFoundException>(() => _remote.ResolveAliasAsync("later/1"));
        _fake.Aliases["later/1"] = _unified.Fingerprint;

        var image = await _remote.ResolveAliasAsync("later/1");

        Assert.Equal(_unified.Fingerprint, image.Fingerprint.ToString());
        Assert.Equal(2, _server.Requests.Count(r => r.RawTarget == "/1.0/images/aliases/later%2F1"));
    }

    [Fact]
    public async Task Requests_to_one_server_share_at_most_the_configured_number_of_connections()
    {
        const int cap = 3;
        var held = 0;
        var enough = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        _fake.BeforeAliasAnswer = () =>
        {
            // Hold answers until as many requests are in flight as connections are allowed.
            if (Interlocked.Increment(ref held) >= cap)
            {
                enough.TrySetResult();
            }

            return enough.Task;
        };
        for (var n = 0; n < 30; n++)
        {
            _fake.Aliases["many/" + n] = _unified.Fingerprint;
        }

        using var remote = new IncusRemote(_server.BaseUri, _downloader, new RemoteConnection { ServerCertificatePem = TestCertificates.Pem(ServerCertificate), MaxConnectionsPerServer = cap });

        await Task.WhenAll(Enumerable.Range(0, 30).Select(n => remote.ResolveAliasAsync("many/" + n))).WaitAsync(TimeSpan.FromSeconds(120));

        var connections = _server.Requests.Where(r => r.RawTarget.StartsWith("/1.0/images/aliases/many", StringComparison.Ordinal)).Select(r => r.ConnectionId).Distinct().Count();
        Assert.InRange(connections, 1, cap);
    }
}
