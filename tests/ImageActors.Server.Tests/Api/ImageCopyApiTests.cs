using System.Net;
using System.Text;
using System.Text.Json;
using ImageActors.Images;
using ImageActors.Images.Domain;
using ImageActors.Images.Remote;
using ImageActors.Server.Api;
using ImageActors.Server.Hosting;
using ImageActors.Server.Images;
using ImageActors.Server.Tests.Support;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;

namespace ImageActors.Server.Tests.Api;

/// <summary>
/// <c>POST /1.0/images</c> with a remote source and <c>POST …/refresh</c>, between two real servers on
/// loopback: the upstream serves its public images over the Incus API and the URL-import protocol.
/// </summary>
public sealed class ImageCopyApiTests : IAsyncLifetime
{
    private const string Token = "copy-tests-token";
    private const string UpstreamToken = "copy-tests-upstream-token";
    private readonly TempDirectory _localData = new();
    private readonly TempDirectory _files = new();
    private EmbeddedImageStore _localStore = null!;
    private UpstreamServer _upstream = null!;
    private LoopbackServer _local = null!;
    private ImageRecord _debian = null!;

    public async Task InitializeAsync()
    {
        _upstream = await UpstreamServer.StartAsync(
            async images => _debian = await images.ImportAsync(new ImportRequest(new ImageSource.UnifiedFile(WriteImage("debian", "12"))) { Public = true, Aliases = ["debian/12"] }),
            [UpstreamToken]);
        _localStore = await EmbeddedStores.OpenAsync(_localData.Path);
        _local = await LoopbackServer.StartAsync(_localData.Path, [Token], s => s.AddSingleton<IImageBackend>(new ImageStoreBackend(_localStore.Store, _localStore.Copier)));
    }

    public async Task DisposeAsync()
    {
        await _local.DisposeAsync();
        await _upstream.DisposeAsync();
        await _localStore.DisposeAsync();
        _files.Dispose();
        _localData.Dispose();
    }

    [Fact]
    public async Task An_image_copied_by_alias_over_the_Incus_protocol_is_stored_with_its_aliases_and_source()
    {
        using var client = Client();

        using var done = await PostAndWaitAsync(client, "/1.0/images", ImageSourceBody("debian/12", "\"aliases\":[{\"name\":\"deb\"}],\"auto_update\":true"));

        var metadata = done.RootElement.GetProperty("metadata");
        Assert.Equal("Success", metadata.GetProperty("status").GetString());
        Assert.Equal("Downloading image", metadata.GetProperty("description").GetString());
        Assert.Equal(_debian.Fingerprint.ToString(), metadata.GetProperty("metadata").GetProperty("fingerprint").GetString());
        var stored = _localStore.Store.Catalog.Find(ProjectName.Default, _debian.Fingerprint);
        Assert.NotNull(stored);
        Assert.True(stored.AutoUpdate);
        Assert.Equal("debian/12", stored.UpdateSource?.Alias);
        Assert.Equal(_debian.Fingerprint, _localStore.Store.GetAlias(ProjectName.Default, "deb").Target);
    }

    [Fact]
    public async Task A_copy_of_an_alias_the_source_does_not_have_fails_its_operation_and_stores_nothing()
    {
        using var client = Client();

        using var done = await PostAndWaitAsync(client, "/1.0/images", ImageSourceBody("nosuch/1", "\"aliases\":[{\"name\":\"x\"}]"));

        var metadata = done.RootElement.GetProperty("metadata");
        Assert.Equal("Failure", metadata.GetProperty("status").GetString());
        Assert.Contains("nosuch/1", metadata.GetProperty("err").GetString(), StringComparison.Ordinal);
        Assert.Empty(_localStore.Store.Catalog.List(ProjectName.Default, null));
    }

    [Fact]
    public async Task A_private_image_is_copied_with_the_secret_its_source_issued()
    {
        var hidden = await _upstream.Images.ImportAsync(new ImportRequest(new ImageSource.UnifiedFile(WriteImage("hidden", "1"))));
        await _upstream.Images.WaitForReadModelAsync();
        using var client = Client();
        using var upstream = EmbeddedStores.TrustedClient(_upstream.Server, UpstreamToken);
        var issued = await upstream.PostAsync(new Uri($"/1.0/images/{hidden.Fingerprint}/secret", UriKind.Relative), null);
        using var token = JsonDocument.Parse(await issued.Content.ReadAsStringAsync());
        var secret = token.RootElement.GetProperty("metadata").GetProperty("metadata").GetProperty("secret").GetString()!;

        using var without = await PostAndWaitAsync(client, "/1.0/images", FingerprintSourceBody(hidden.Fingerprint.ToString(), null));
        using var with = await PostAndWaitAsync(client, "/1.0/images", FingerprintSourceBody(hidden.Fingerprint.ToString(), secret));

        Assert.Equal("Failure", without.RootElement.GetProperty("metadata").GetProperty("status").GetString());
        Assert.Equal("Success", with.RootElement.GetProperty("metadata").GetProperty("status").GetString());
        var stored = _localStore.Store.Catalog.Find(ProjectName.Default, hidden.Fingerprint);
        Assert.NotNull(stored);
        Assert.False(stored.Public);
    }

    [Fact]
    public async Task A_secret_for_a_simplestreams_source_is_refused_before_any_operation()
    {
        using var client = Client();
        var body = "{\"source\":{\"type\":\"image\",\"mode\":\"pull\",\"server\":\"" + _upstream.Https + "\",\"protocol\":\"simplestreams\",\"alias\":\"debian/12\",\"secret\":\"x\"}}";

        var response = await client.PostAsync(new Uri("/1.0/images", UriKind.Relative), new StringContent(body, Encoding.UTF8, "application/json"));

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.Contains("secret", await response.Content.ReadAsStringAsync(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_source_with_an_unknown_protocol_is_refused_before_any_operation()
    {
        using var client = Client();
        var body = "{\"source\":{\"type\":\"image\",\"mode\":\"pull\",\"server\":\"" + _upstream.Https + "\",\"protocol\":\"oci\",\"alias\":\"debian/12\"}}";

        var response = await client.PostAsync(new Uri("/1.0/images", UriKind.Relative), new StringContent(body, Encoding.UTF8, "application/json"));

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
    }

    [Fact]
    public async Task A_URL_import_stores_the_image_the_URL_names()
    {
        using var client = Client();
        var url = new Uri(_upstream.Http, "/direct/debian%2F12");
        var body = "{\"source\":{\"type\":\"url\",\"mode\":\"pull\",\"protocol\":\"direct\",\"url\":\"" + url + "\"},\"aliases\":[{\"name\":\"from-url\"}]}";

        using var done = await PostAndWaitAsync(client, "/1.0/images", body);

        var metadata = done.RootElement.GetProperty("metadata");
        Assert.Equal("Success", metadata.GetProperty("status").GetString());
        Assert.Equal(_debian.Fingerprint.ToString(), metadata.GetProperty("metadata").GetProperty("fingerprint").GetString());
        Assert.Equal(_debian.Fingerprint, _localStore.Store.GetAlias(ProjectName.Default, "from-url").Target);
        Assert.Null(_localStore.Store.Catalog.Find(ProjectName.Default, _debian.Fingerprint)?.UpdateSource);
    }

    [Fact]
    public async Task Refresh_replaces_a_copied_image_when_its_source_alias_moved_and_says_so()
    {
        using var client = Client();
        using (var copied = await PostAndWaitAsync(client, "/1.0/images", ImageSourceBody("debian/12", "\"aliases\":[{\"name\":\"deb\"}],\"auto_update\":true")))
        {
            Assert.Equal("Success", copied.RootElement.GetProperty("metadata").GetProperty("status").GetString());
        }

        using (var unchanged = await PostAndWaitAsync(client, "/1.0/images/" + _debian.Fingerprint + "/refresh", string.Empty))
        {
            Assert.False(unchanged.RootElement.GetProperty("metadata").GetProperty("metadata").GetProperty("refreshed").GetBoolean());
        }

        var newer = await _upstream.Images.ImportAsync(new ImportRequest(new ImageSource.UnifiedFile(WriteImage("debian", "12.1"))) { Public = true });
        await _upstream.Images.RetargetAliasAsync(ProjectName.Default, "debian/12", newer.Fingerprint.ToString(), string.Empty);
        await _upstream.Images.WaitForReadModelAsync();

        using var refreshed = await PostAndWaitAsync(client, "/1.0/images/" + _debian.Fingerprint + "/refresh", string.Empty);

        var metadata = refreshed.RootElement.GetProperty("metadata");
        Assert.Equal("Refreshing image", metadata.GetProperty("description").GetString());
        Assert.True(metadata.GetProperty("metadata").GetProperty("refreshed").GetBoolean());
        Assert.Equal(newer.Fingerprint, _localStore.Store.GetAlias(ProjectName.Default, "deb").Target);
    }

    private HttpClient Client() => EmbeddedStores.TrustedClient(_local, Token);

    private string FingerprintSourceBody(string fingerprint, string? secret)
    {
        var source = new Dictionary<string, string>
        {
            ["type"] = "image",
            ["mode"] = "pull",
            ["server"] = _upstream.Https.ToString(),
            ["protocol"] = "incus",
            ["certificate"] = _upstream.CertificatePem,
            ["fingerprint"] = fingerprint,
        };
        if (secret is not null)
        {
            source["secret"] = secret;
        }

        return "{\"source\":" + JsonSerializer.Serialize(source) + "}";
    }

    private string ImageSourceBody(string alias, string extra)
    {
        var source = new Dictionary<string, string>
        {
            ["type"] = "image",
            ["mode"] = "pull",
            ["server"] = _upstream.Https.ToString(),
            ["protocol"] = "incus",
            ["certificate"] = _upstream.CertificatePem,
            ["alias"] = alias,
        };
        return "{\"source\":" + JsonSerializer.Serialize(source) + "," + extra + "}";
    }

    private static async Task<JsonDocument> PostAndWaitAsync(HttpClient client, string path, string json)
    {
        var response = await client.PostAsync(new Uri(path, UriKind.Relative), new StringContent(json, Encoding.UTF8, "application/json"));
        var text = await response.Content.ReadAsStringAsync();
        Assert.True(response.StatusCode == HttpStatusCode.Accepted, $"{path}: {(int)response.StatusCode} {text}");
        using var created = JsonDocument.Parse(text);
        var wait = await client.GetAsync(new Uri(created.RootElement.GetProperty("operation").GetString() + "/wait?timeout=60", UriKind.Relative));
        return JsonDocument.Parse(await wait.Content.ReadAsStringAsync());
    }

    private string WriteImage(string os, string release) => EmbeddedStores.WriteImage(_files.Path, os, release);
}

/// <summary>How failed copies answer when they surface in a request.</summary>
public sealed class ImageCopyErrorTests
{
    private static readonly Uri Source = new("https://images.example/");

    [Fact]
    public async Task A_copy_of_an_image_the_source_lacks_answers_404_and_other_copy_failures_500()
    {
        var missing = new ImageCopyException("debian/13", Source, new Remotes.ImageNotFoundException("debian/13", Source));
        var unreachable = new ImageCopyException("debian/12", Source, new HttpRequestException("Connection refused"));

        Assert.Equal(StatusCodes.Status404NotFound, await StatusOfAsync(missing));
        Assert.Equal(StatusCodes.Status500InternalServerError, await StatusOfAsync(unreachable));
        Assert.Equal(StatusCodes.Status409Conflict, await StatusOfAsync(new AliasExistsException("deb")));
    }

    private static async Task<int> StatusOfAsync(Exception error)
    {
        var result = ApiErrorTranslation.Translate(error);
        Assert.NotNull(result);
        var context = new DefaultHttpContext { RequestServices = new ServiceCollection().AddLogging().BuildServiceProvider() };
        context.Response.Body = new MemoryStream();
        await result.ExecuteAsync(context);
        return context.Response.StatusCode;
    }
}
