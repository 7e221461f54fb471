using System.Diagnostics.Metrics;
using ImageActors.Server.Api;
using ImageActors.Server.Events;
using ImageActors.Server.Images;
using ImageActors.Server.Metrics;
using ImageActors.Server.Operations;
using ImageActors.Server.SimpleStreams;
using ImageActors.Server.Trust;
using Microsoft.Extensions.DependencyInjection.Extensions;

namespace ImageActors.Server.Hosting;

/// <summary>
/// Wires the server into any ASP.NET Core host: the Kestrel host of <see cref="ImageActorsServer"/>,
/// a test host, or a platform's own application.
/// </summary>
public static class ServerComposition
{
    /// <summary>Adds the server's services (trust, operations, events, metrics).</summary>
    public static IServiceCollection AddImageActorsServer(this IServiceCollection services, ListenSettings listen)
    {
        ArgumentNullException.ThrowIfNull(listen);
        services.AddSingleton(listen);
        services.TryAddSingleton(TimeProvider.System);
        services.TryAddSingleton(_ => new TrustStore(listen.DataDirectory));
        services.TryAddSingleton(sp => new CallerIdentification(sp.GetRequiredService<TrustStore>(), listen.TrustedTokens));
        services.TryAddSingleton<EventHub>();
        services.TryAddSingleton(sp => new OperationRegistry(sp.GetRequiredService<TimeProvider>(), sp.GetRequiredService<EventHub>()));
        services.TryAddSingleton(_ => new UploadSlots(listen.Limits.MaxConcurrentUploads, listen.Limits.UploadQueueTimeout));
        services.TryAddSingleton(sp =>
        {
            // /metrics reads the store's meter beside the server's own: the instruments OpenTelemetry sees too.
            var operations = sp.GetRequiredService<OperationRegistry>();
            var events = sp.GetRequiredService<EventHub>();
            var store = (sp.GetService<IImageBackend>() as ImageStoreBackend)?.Store;
            return new ServerMetrics(sp.GetService<IMeterFactory>(), store?.Meter, () => operations.RunningCount, () => events.ListenerCount, sp.GetRequiredService<UploadSlots>());
        });
        services.TryAddSingleton(sp => new Lifecycle(sp.GetRequiredService<EventHub>(), sp.GetRequiredService<TimeProvider>()));
        services.TryAddSingleton(sp => new ImageSecrets(sp.GetRequiredService<OperationRegistry>()));
        services.TryAddSingleton<IImageBackend, NoImageBackend>();
        services.TryAddSingleton(_ => new FileDigests(listen.DataDirectory));
        services.AddRouting();
        return services;
    }

    /// <summary>Adds the server's middleware and routes to the pipeline.</summary>
    public static IApplicationBuilder UseImageActorsServer(this IApplicationBuilder app)
    {
        ArgumentNullException.ThrowIfNull(app);
        var metrics = app.ApplicationServices.GetRequiredService<ServerMetrics>();
        if (app.ApplicationServices.GetService<IImageBackend>() is ImageStoreBackend backend)
        {
            // What the store does by itself (eviction, auto-update, pull-through caching) reaches /1.0/events too.
            var lifecycle = app.ApplicationServices.GetRequiredService<Lifecycle>();
            EventHandler<ImageActors.Images.ImageLifecycleEvent> forward = (_, e) => lifecycle.PublishFromStore(e);
            backend.Store.Lifecycle += forward;
            app.ApplicationServices.GetRequiredService<IHostApplicationLifetime>().ApplicationStopped.Register(() => backend.Store.Lifecycle -= forward);
        }

        app.Use(async (context, next) =>
        {
            Lifecycle.MarkRequestPublishes();
            try
            {
                await next(context);
            }
            finally
            {
                metrics.RequestFinished(context.Response.StatusCode);
                if (context.Response.ContentLength is { } length && !HttpMethods.IsHead(context.Request.Method))
                {
                    metrics.BytesServed(length);
                }
            }
        });
        app.Use(ApiErrorTranslation.InvokeAsync);
        app.UseWebSockets();
        app.UseRouting();
        app.UseEndpoints(MapImageActorsServer);
        return app;
    }

    /// <summary>Maps every route of the server.</summary>
    public static void MapImageActorsServer(this IEndpointRouteBuilder routes)
    {
        HealthEndpoints.Map(routes);
        OperationsEndpoints.Map(routes);
        EventsEndpoint.Map(routes);
        ServerInfoEndpoint.Map(routes);
        ImagesEndpoints.Map(routes);
        AliasesEndpoints.Map(routes);
        SimpleStreamsEndpoints.Map(routes);
        DirectImportEndpoint.Map(routes);
    }
}
