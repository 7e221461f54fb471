using System.Formats.Tar;
using System.Net;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using ImageActors.Images;
using ImageActors.Images.Domain;
using ImageActors.Server.Hosting;
using ImageActors.Server.Images;
using ImageActors.Server.Tests.Support;
using ImageActors.Streaming;
using Microsoft.Extensions.DependencyInjection;

namespace ImageActors.Server.Tests.Api;

/// <summary>
/// Push mode between two real servers on loopback: the target issues a push token
/// (<c>POST /1.0/images</c>, <c>source.mode = push</c>), the source uploads with its secret
/// (<c>POST /1.0/images/&lt;fp&gt;/export</c>), and the target verifies before the image exists.
/// </summary>
public sealed class ImagePushApiTests : IAsyncLifetime
{
    private const string SourceToken = "push-source-token";
    private const string TargetToken = "push-target-token";
    private readonly TempDirectory _sourceData = new();
    private readonly TempDirectory _targetData = new();
    private readonly TempDirectory _files = new();
    private EmbeddedImageStore _sourceStore = null!;
    private EmbeddedImageStore _targetStore = null!;
    private LoopbackServer _source = null!;
    private LoopbackServer _target = null!;

    public async Task InitializeAsync()
    {
        _sourceStore = await EmbeddedStores.OpenAsync(_sourceData.Path);
        _targetStore = await EmbeddedStores.OpenAsync(_targetData.Path);
        _source = await LoopbackServer.StartAsync(_sourceData.Path, [SourceToken], s => s.AddSingleton<IImageBackend>(new ImageStoreBackend(_sourceStore.Store)));
        _target = await LoopbackServer.StartAsync(_targetData.Path, [TargetToken], s => s.AddSingleton<IImageBackend>(new ImageStoreBackend(_targetStore.Store)));
    }

    public async Task DisposeAsync()
    {
        await _target.DisposeAsync();
        await _source.DisposeAsync();
        await _targetStore.DisposeAsync();
        await _sourceStore.DisposeAsync();
        _files.Dispose();
        _targetData.Dispose();
        _sourceData.Dispose();
    }

    [Fact]
    public async Task A_unified_image_pushed_to_another_server_is_stored_there_with_the_aliases_and_flags_of_the_push_token()
    {
        var image = await _sourceStore.Store.ImportAsync(new ImportRequest(new ImageSource.UnifiedFile(EmbeddedStores.WriteImage(_files.Path, "debian", "12"))) { Aliases = ["debian/12"] });

        var secret = await CreatePushTokenAsync(image.Fingerprint, "\"aliases\":[{\"name\":\"pushed/one\"},{\"name\":\"pushed/two\"}],\"public\":true");
        using var done = await ExportAsync(image.Fingerprint, secret);

        Assert.Equal("Success", Status(done));
        await _targetStore.Store.WaitForReadModelAsync();
        var stored = _targetStore.Store.Catalog.Find(ProjectName.Default, image.Fingerprint);
        Assert.NotNull(stored);
        Assert.True(stored.Public);
        Assert.Equal(ImageType.Container, stored.Type);
        Assert.Equal(image.Fingerprint, _targetStore.Store.GetAlias(ProjectName.Default, "pushed/one").Target);
        Assert.Equal(image.Fingerprint, _targetStore.Store.GetAlias(ProjectName.Default, "pushed/two").Target);
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task A_split_image_pushed_to_another_server_keeps_its_files_and_its_type(bool virtualMachine)
    {
        var (metadata, rootfs) = WriteSplitImage(virtualMachine);
        var image = await _sourceStore.Store.ImportAsync(new ImportRequest(new ImageSource.SplitFiles(metadata, rootfs)));

        var secret = await CreatePushTokenAsync(image.Fingerprint, "\"aliases\":[{\"name\":\"split\"}]");
        using var done = await ExportAsync(image.Fingerprint, secret);

        Assert.Equal("Success", Status(done));
        await _targetStore.Store.WaitForReadModelAsync();
        var stored = _targetStore.Store.Catalog.Find(ProjectName.Default, image.Fingerprint);
        Assert.NotNull(stored);
        Assert.True(stored.Split);
        Assert.Equal(virtualMachine ? ImageType.VirtualMachine : ImageType.Container, stored.Type);
        Assert.Equal(TestImages.Sha256Hex(await File.ReadAllBytesAsync(metadata), await File.ReadAllBytesAsync(rootfs)), stored.Fingerprint.ToString());
    }

    [Fact]
    public async Task An_upload_with_a_wrong_or_used_secret_is_refused_with_403_and_stores_nothing()
    {
        var file = EmbeddedStores.WriteImage(_files.Path, "alpine", "3.20");
        var fingerprint = Fingerprint.Parse(TestImages.Sha256Hex(await File.ReadAllBytesAsync(file)));
        var secret = await CreatePushTokenAsync(fingerprint, "\"aliases\":[{\"name\":\"alpine\"}]");
        using var pusher = _target.HttpsClient();

        using var wrong = await UploadAsync(pusher, file, fingerprint, "0123" + secret[4..]);
        using var noSecret = await UploadAsync(pusher, file, fingerprint, string.Empty);
        using var right = await UploadAsync(pusher, file, fingerprint, secret);
        var firstStored = _targetStore.Store.Catalog.Find(ProjectName.Default, fingerprint) is not null;
        await _targetStore.Store.DeleteAsync(ProjectName.Default, fingerprint.ToString());
        using var reused = await UploadAsync(pusher, file, fingerprint, secret);

        Assert.Equal(HttpStatusCode.Forbidden, wrong.StatusCode);
        Assert.Equal(HttpStatusCode.Forbidden, noSecret.StatusCode);
        Assert.Equal(HttpStatusCode.Accepted, right.StatusCode);
        Assert.True(firstStored);
        Assert.Equal(HttpStatusCode.Forbidden, reused.StatusCode);
        await _targetStore.Store.WaitForReadModelAsync();
        Assert.Null(_targetStore.Store.Catalog.Find(ProjectName.Default, fingerprint));
    }

    [Fact]
    public async Task A_pushed_upload_whose_bytes_are_not_the_announced_image_fails_and_stores_nothing()
    {
        var announced = EmbeddedStores.WriteImage(_files.Path, "fedora", "41");
        var other = EmbeddedStores.WriteImage(_files.Path, "fedora", "42");
        var fingerprint = Fingerprint.Parse(TestImages.Sha256Hex(await File.ReadAllBytesAsync(announced)));
        var secret = await CreatePushTokenAsync(fingerprint, "\"aliases\":[{\"name\":\"fedora\"}]");
        using var pusher = _target.HttpsClient();

        using var response = await UploadAsync(pusher, other, fingerprint, secret);
        using var body = JsonDocument.Parse(await response.Content.ReadAsStringAsync());

        Assert.Equal("Failure", body.RootElement.GetProperty("metadata").GetProperty("status").GetString());
        await _targetStore.Store.WaitForReadModelAsync();
        Assert.Empty(_targetStore.Store.Catalog.List(ProjectName.Default, null));
        Assert.Throws<AliasNotFoundException>(() => _targetStore.Store.GetAlias(ProjectName.Default, "fedora"));
    }

    [Fact]
    public async Task A_push_export_needs_a_trusted_caller_and_a_push_token_needs_a_full_fingerprint()
    {
        var image = await _sourceStore.Store.ImportAsync(new ImportRequest(new ImageSource.UnifiedFile(EmbeddedStores.WriteImage(_files.Path, "arch", "1"))) { Public = true });
        using var untrusted = _source.HttpsClient();
        using var target = EmbeddedStores.TrustedClient(_target, TargetToken);
        var export = "{\"target\":\"" + _target.Https + "\",\"secret\":\"x\"}";

        using var refused = await untrusted.PostAsync(new Uri($"/1.0/images/{image.Fingerprint}/export", UriKind.Relative), new StringContent(export, Encoding.UTF8, "application/json"));
        using var prefix = await target.PostAsync(new Uri("/1.0/images", UriKind.Relative), new StringContent("{\"source\":{\"mode\":\"push\",\"fingerprint\":\"" + image.Fingerprint.ToString()[..12] + "\"}}", Encoding.UTF8, "application/json"));

        Assert.Equal(HttpStatusCode.Forbidden, refused.StatusCode);
        Assert.Equal(HttpStatusCode.BadRequest, prefix.StatusCode);
    }

    private static string Status(JsonDocument operation) => operation.RootElement.GetProperty("metadata").GetProperty("status").GetString()!
        + operation.RootElement.GetProperty("metadata").GetProperty("err").GetString();

    private async Task<string> CreatePushTokenAsync(Fingerprint fingerprint, string extra)
    {
        using var client = EmbeddedStores.TrustedClient(_target, TargetToken);
        var body = "{\"source\":{\"mode\":\"push\",\"fingerprint\":\"" + fingerprint + "\"}," + extra + "}";
        using var response = await client.PostAsync(new Uri("/1.0/images", UriKind.Relative), new StringContent(body, Encoding.UTF8, "application/json"));
        var text = await response.Content.ReadAsStringAsync();
        Assert.True(response.StatusCode == HttpStatusCode.Accepted, text);
        using var document = JsonDocument.Parse(text);
        var operation = document.RootElement.GetProperty("metadata");
        Assert.Equal("token", operation.GetProperty("class").GetString());
        return operation.GetProperty("metadata").GetProperty("secret").GetString()!;
    }

    private async Task<JsonDocument> ExportAsync(Fingerprint fingerprint, string secret)
    {
        using var client = EmbeddedStores.TrustedClient(_source, SourceToken);
        var body = JsonSerializer.Serialize(new Dictionary<string, string>
        {
            ["target"] = _target.Https.ToString(),
            ["secret"] = secret,
            ["certificate"] = _target.Server.Certificate.ExportCertificatePem(),
        });
        using var response = await client.PostAsync(new Uri($"/1.0/images/{fingerprint}/export", UriKind.Relative), new StringContent(body, Encoding.UTF8, "application/json"));
        var text = await response.Content.ReadAsStringAsync();
        Assert.True(response.StatusCode == HttpStatusCode.Accepted, text);
        using var created = JsonDocument.Parse(text);
        var wait = await client.GetAsync(new Uri(created.RootElement.GetProperty("operation").GetString() + "/wait?timeout=60", UriKind.Relative));
        return JsonDocument.Parse(await wait.Content.ReadAsStringAsync());
    }

    private static async Task<HttpResponseMessage> UploadAsync(HttpClient pusher, string file, Fingerprint fingerprint, string secret)
    {
        using var request = new HttpRequestMessage(HttpMethod.Post, new Uri("/1.0/images", UriKind.Relative))
        {
            Content = new ByteArrayContent(await File.ReadAllBytesAsync(file)),
        };
        request.Content.Headers.ContentType = new System.Net.Http.Headers.MediaTypeHeaderValue("application/octet-stream");
        request.Headers.Add("X-Incus-fingerprint", fingerprint.ToString());
        if (secret.Length > 0)
        {
            request.Headers.Add("X-Incus-secret", secret);
        }

        return await pusher.SendAsync(request);
    }

    // A metadata tarball with a real metadata.yaml, and a rootfs whose magic bytes say squashfs or qcow2.
    private (string Metadata, string Rootfs) WriteSplitImage(bool virtualMachine)
    {
        var name = Guid.NewGuid().ToString("N")[..8];
        var metadata = Path.Combine(_files.Path, name + "-meta.tar");
        using (var file = File.Create(metadata))
        using (var tar = new TarWriter(file, TarEntryFormat.Pax))
        {
            var yaml = "architecture: x86_64\ncreation_date: 1767225600\nproperties:\n  os: testos\n  release: \"" + name + "\"\n";
            tar.WriteEntry(new PaxTarEntry(TarEntryType.RegularFile, "metadata.yaml") { DataStream = new MemoryStream(Encoding.UTF8.GetBytes(yaml)) });
        }

        var bytes = new byte[300_000];
        RandomNumberGenerator.Fill(bytes);
        (virtualMachine ? [0x51, 0x46, 0x49, 0xFB] : "hsqs"u8.ToArray()).CopyTo(bytes, 0);
        var rootfs = Path.Combine(_files.Path, name + (virtualMachine ? ".qcow2" : ".squashfs"));
        File.WriteAllBytes(rootfs, bytes);
        return (metadata, rootfs);
    }
}
