using System.Collections.Concurrent;
using System.Net;
using System.Security.Authentication;
using System.Security.Cryptography.X509Certificates;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.AspNetCore.Server.Kestrel.Core;
using Microsoft.AspNetCore.Server.Kestrel.Https;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace ImageActors.TestServers;

/// <summary>A request as the server saw it.</summary>
public sealed record SeenRequest(string Method, string RawTarget, string? Range, IReadOnlyDictionary<string, string> Headers, string? ClientCertificateThumbprint)
{
    /// <summary>Kestrel's id of the connection the request came on.</summary>
    public string ConnectionId { get; init; } = "";
}

/// <summary>
/// A real Kestrel server on a loopback port, HTTP or HTTPS (TLS 1.3), that records every request.
/// It can be stopped and started again on the same port (a server that dies and comes back).
/// </summary>
public sealed class LoopbackServer : IAsyncDisposable
{
    private readonly Action<WebApplication> _routes;
    private readonly X509Certificate2? _certificate;
    private readonly bool _requireClientCertificate;
    private WebApplication? _app;

    private LoopbackServer(Action<WebApplication> routes, X509Certificate2? certificate, bool requireClientCertificate)
    {
        _routes = routes;
        _certificate = certificate;
        _requireClientCertificate = requireClientCertificate;
    }

    public int Port { get; private set; }

    public Uri BaseUri => new($"{(_certificate is null ? "http" : "https")}://127.0.0.1:{Port}/");

    public ConcurrentQueue<SeenRequest> Requests { get; } = new();

    public static async Task<LoopbackServer> StartAsync(Action<WebApplication> routes, X509Certificate2? certificate = null, bool requireClientCertificate = false)
    {
        var server = new LoopbackServer(routes, certificate, requireClientCertificate);
        await server.StartAsync();
        return server;
    }

    public async Task StartAsync()
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        builder.WebHost.ConfigureKestrel(options =>
        {
            options.Listen(IPAddress.Loopback, Port, listen =>
            {
                listen.Protocols = HttpProtocols.Http1;
                if (_certificate is not null)
                {
                    listen.UseHttps(https =>
                    {
                        https.ServerCertificate = _certificate;
                        https.SslProtocols = SslProtocols.Tls13;
                        https.ClientCertificateMode = _requireClientCertificate ? ClientCertificateMode.RequireCertificate : ClientCertificateMode.NoCertificate;
                        https.AllowAnyClientCertificate();
                    });
                }
            });
        });
        var app = builder.Build();
        app.Use(async (context, next) =>
        {
            var raw = context.Features.Get<IHttpRequestFeature>()!.RawTarget;
            var headers = context.Request.Headers.ToDictionary(h => h.Key, h => h.Value.ToString(), StringComparer.OrdinalIgnoreCase);
            var range = context.Request.Headers.Range.Count > 0 ? context.Request.Headers.Range.ToString() : null;
            Requests.Enqueue(new SeenRequest(context.Request.Method, raw, range, headers, context.Connection.ClientCertificate?.Thumbprint) { ConnectionId = context.Connection.Id });
            await next(context);
        });
        _routes(app);
        await app.StartAsync();
        var address = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First();
        Port = new Uri(address).Port;
        _app = app;
    }

    public async Task StopAsync()
    {
        if (_app is { } app)
        {
            _app = null;
            await app.StopAsync();
            await app.DisposeAsync();
        }
    }

    public async ValueTask DisposeAsync() => await StopAsync();
}
