using ImageActors.Server.Hosting;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Mvc.Testing;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;

namespace ImageActors.Server.Tests.Support;

/// <summary>
/// The server in an in-memory test host. Requests carrying <see cref="Token"/> as a bearer token are
/// trusted; the rest are untrusted, like a remote client without a certificate.
/// </summary>
public sealed class ServerFactory : WebApplicationFactory<ServerFactory>
{
    public const string Token = "test-platform-token";

    private readonly TempDirectory _data = new();

    public Action<IServiceCollection>? ConfigureTestServices { get; init; }

    public string DataDirectory => _data.Path;

    public HttpClient TrustedClient()
    {
        var client = CreateClient();
        client.DefaultRequestHeaders.Authorization = new System.Net.Http.Headers.AuthenticationHeaderValue("Bearer", Token);
        return client;
    }

    protected override IHostBuilder CreateHostBuilder() =>
        new HostBuilder().ConfigureWebHost(web => web
            .ConfigureServices(services =>
            {
                services.AddImageActorsServer(new ListenSettings { DataDirectory = _data.Path, TrustedTokens = [Token] });
                ConfigureTestServices?.Invoke(services);
            })
            .Configure(app => app.UseImageActorsServer()));

    // Runs after the factory's own content-root guess (which looks for a folder that does not exist here).
    protected override void ConfigureWebHost(IWebHostBuilder builder) => builder.UseContentRoot(_data.Path);

    protected override void Dispose(bool disposing)
    {
        base.Dispose(disposing);
        if (disposing)
        {
            _data.Dispose();
        }
    }
}
