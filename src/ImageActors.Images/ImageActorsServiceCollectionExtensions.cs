using System.Diagnostics.Metrics;
using Akka.Actor;
using Akka.Hosting;
using ImageActors.Images.Configuration;
using ImageActors.Images.Hosting;
using ImageActors.Images.Remote;
using ImageActors.Remotes.Download;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace ImageActors.Images;

/// <summary>
/// Registers the embedded image store in a host, on the host's actor system: <c>AddImageActors</c> adds Akka.Hosting's
/// <c>AddAkka</c>, so <see cref="ActorSystem"/>, <see cref="ActorRegistry"/> and <c>IRequiredActor&lt;T&gt;</c> can be
/// injected, the host adds its own actors to the same system through the <see cref="AkkaConfigurationBuilder"/> hook,
/// and Akka logs through the host's Microsoft.Extensions.Logging (actor failures, dead letters, cluster warnings).
/// </summary>
public static class ImageActorsServiceCollectionExtensions
{
    /// <summary>
    /// Adds an <see cref="ImageStore"/> over <paramref name="dataDirectory"/> with the embedded SQLite
    /// journal (<c>&lt;data&gt;/journal.db</c>). It starts with the host and can be injected anywhere: calls made before it
    /// started wait for it, calls made after the host stopped fail with <see cref="ObjectDisposedException"/>.
    /// Auto-update and refresh look for newer images at the remotes the images were copied from.
    /// </summary>
    /// <param name="services">The host's services.</param>
    /// <param name="dataDirectory">Holds the image files and the journal.</param>
    /// <param name="options">The <c>images.*</c> options, or the defaults.</param>
    /// <param name="configureAkka">Adds the host's own actors, settings or plugins to the store's actor system; null adds none.</param>
    public static IServiceCollection AddImageActors(this IServiceCollection services, string dataDirectory, ImagesOptions? options = null, Action<AkkaConfigurationBuilder, IServiceProvider>? configureAkka = null)
    {
        ArgumentNullException.ThrowIfNull(services);
        ArgumentException.ThrowIfNullOrEmpty(dataDirectory);
        options ??= new ImagesOptions();

        // Ahead of the default registrations below, so that downloads and remotes run as the options say.
        services.TryAddSingleton(_ => new ImageDownloader(options.ToDownloadOptions()));
        services.TryAddSingleton(sp => new RemoteImageSources(sp.GetRequiredService<ImageDownloader>(), options.ToRemoteConnection(), options.DefaultArchitecture));
        return services.AddImageActors(
            sp =>
            {
                Directory.CreateDirectory(dataDirectory);
                return new ImageStoreSettings(dataDirectory, StorePersistence.Sqlite(Path.Combine(dataDirectory, "journal.db")))
                {
                    Options = options,
                    UpdateSource = new RemoteUpdateSource(sp.GetRequiredService<RemoteImageSources>()),
                };
            },
            configureAkka);
    }

    /// <summary>
    /// Adds an <see cref="ImageStore"/> configured with the keys of <c>akka.hocon</c>, usually from the host's
    /// configuration: <c>services.AddImageActors(b =&gt; b.BindConfiguration("ImageActors"))</c>. The keys are read and
    /// checked when the host starts; an unknown key or a bad value stops the start with a
    /// <see cref="ConfigurationException"/> naming each. The journal is SQLite under <c>data_dir</c> unless
    /// <c>persistence.*</c> says otherwise. <see cref="ImageActorsBuilder.ConfigureAkka"/> adds the host's own actors.
    /// </summary>
    public static IServiceCollection AddImageActors(this IServiceCollection services, Action<ImageActorsBuilder> configure)
    {
        ArgumentNullException.ThrowIfNull(services);
        ArgumentNullException.ThrowIfNull(configure);
        var builder = new ImageActorsBuilder();
        configure(builder);
        services.AddSingleton(sp => builder.Build(sp));
        services.TryAddSingleton(sp => new ImageDownloader(
            sp.GetRequiredService<EmbeddedConfiguration>().Images.ToDownloadOptions(),
            logger: sp.GetService<ILoggerFactory>()?.CreateLogger<ImageDownloader>()));
        services.TryAddSingleton(sp => new RemoteImageSources(sp.GetRequiredService<ImageDownloader>(), sp.GetRequiredService<EmbeddedConfiguration>().Images.ToRemoteConnection(), sp.GetRequiredService<EmbeddedConfiguration>().Images.DefaultArchitecture));
        return services.AddImageActors(
            sp =>
            {
                var configuration = sp.GetRequiredService<EmbeddedConfiguration>();
                var settings = configuration.ToSettings(new RemoteUpdateSource(sp.GetRequiredService<RemoteImageSources>()), sp.GetService<ILoggerFactory>());
                Directory.CreateDirectory(settings.DataDirectory);
                return settings;
            },
            builder.AkkaConfiguration);
    }

    /// <summary>
    /// Adds an <see cref="ImageStore"/> built from settings the host provides (any journal), and the remote
    /// machinery over one shared <see cref="ImageDownloader"/>: <see cref="RemoteImageSources"/> (give it to a
    /// <see cref="RemoteUpdateSource"/> in the settings) and a <see cref="RemoteImageCopier"/> into the store.
    /// </summary>
    /// <param name="services">The host's services.</param>
    /// <param name="settings">
    /// Makes the settings, once, when the host makes its actor system (as it starts); what it throws stops the start.
    /// The store logs through the host's <see cref="ILoggerFactory"/> unless the settings name another.
    /// </param>
    /// <param name="configureAkka">Adds the host's own actors, settings or plugins to the store's actor system; null adds none.</param>
    /// <exception cref="InvalidOperationException"><c>AddAkka</c> was called before: the store's actor system would replace the host's.</exception>
    public static IServiceCollection AddImageActors(this IServiceCollection services, Func<IServiceProvider, ImageStoreSettings> settings, Action<AkkaConfigurationBuilder, IServiceProvider>? configureAkka = null)
    {
        ArgumentNullException.ThrowIfNull(services);
        ArgumentNullException.ThrowIfNull(settings);
        if (services.Any(d => d.ServiceType == typeof(AkkaConfigurationBuilder)))
        {
            // Akka.Hosting keeps one actor system per host, configured by the last AddAkka.
            throw new InvalidOperationException("AddAkka was called before AddImageActors, which adds the host's actor system itself; remove that AddAkka and add its actors and settings in AddImageActors' configureAkka (ImageActorsBuilder.ConfigureAkka).");
        }

        services.AddLogging();
        services.AddSingleton(sp => new ImageStoreHost(sp, () => WithHostLogging(settings(sp), sp), sp.GetService<IMeterFactory>()));
        services.AddSingleton(sp => sp.GetRequiredService<ImageStoreHost>().Store);

        // Ahead of AddAkka's service: it checks the settings before the actor system starts, and at stop waits for the
        // store to let go of its files after the system's shutdown stopped it.
        services.AddHostedService(sp => sp.GetRequiredService<ImageStoreHost>());
        services.AddAkka(StoreActorSystem.Name, (akka, sp) =>
        {
            sp.GetRequiredService<ImageStoreHost>().Configure(akka);
            configureAkka?.Invoke(akka, sp);
        });
        services.TryAddSingleton(_ => new ImageDownloader());
        services.TryAddSingleton(sp => new RemoteImageSources(sp.GetRequiredService<ImageDownloader>()));
        services.TryAddSingleton(sp => new RemoteImageCopier(sp.GetRequiredService<ImageStore>(), sp.GetRequiredService<RemoteImageSources>()));
        return services;
    }

    private static ImageStoreSettings WithHostLogging(ImageStoreSettings settings, IServiceProvider services) =>
        settings.LoggerFactory is null ? settings with { LoggerFactory = services.GetService<ILoggerFactory>() } : settings;
}

/// <summary>
/// The store in a host: it is started on the host's actor system by Akka.Hosting (its start is one of the system's
/// actor starters, ahead of the host's own), and stopped in that system's coordinated shutdown, whoever runs it. As a
/// hosted service (ahead of Akka.Hosting's) it makes and checks the settings before the actor system starts, and at
/// stop waits until the store let go of its data directory.
/// </summary>
public sealed class ImageStoreHost : IHostedService, IAsyncDisposable
{
    private readonly IServiceProvider _services;
    private readonly Func<ImageStoreSettings> _settings;
    private readonly ImageStore _store;
    private int _configured;

    internal ImageStoreHost(IServiceProvider services, Func<ImageStoreSettings> settings, IMeterFactory? meterFactory)
    {
        _services = services;
        _settings = settings;

        // The host's meter factory makes the store's meter, so that the host's metrics (OpenTelemetry included) see it.
        _store = new ImageStore(meterFactory);
    }

    /// <summary>The options of the started store (defaults before it started).</summary>
    public ImagesOptions Options { get; private set; } = new();

    /// <summary>
    /// The store. It exists from the start, so it can be injected anywhere; calls made before the host started it wait
    /// for the start, and calls made after the host stopped it fail with <see cref="ObjectDisposedException"/>.
    /// </summary>
    public ImageStore Store => _store;

    /// <summary>
    /// Adds the store to the host's actor system as Akka.Hosting builds it: its configuration (cluster, sharding,
    /// serializers, journal), logging through the host's logger factory, and its start.
    /// </summary>
    internal void Configure(AkkaConfigurationBuilder akka)
    {
        ImageStoreSettings settings;
        try
        {
            settings = _settings();
        }
        catch (Exception e)
        {
            _store.FailStart(e);
            throw;
        }

        Options = settings.Options;
        var config = StoreActorSystem.BuildForHost(settings);
        akka.AddHocon(config, HoconAddMode.Prepend);
        akka.ConfigureLoggers(loggers =>
        {
            loggers.ClearLoggers();
            loggers.AddLoggerFactory();
        });

        // The loggers' builder sets a level of its own; the store's (warnings, or akka.loglevel as configured) wins.
        akka.AddHocon("akka.loglevel = " + config.GetString("akka.loglevel"), HoconAddMode.Prepend);
        akka.WithActors((system, _) => _store.StartOnAsync(system, settings, CancellationToken.None));
        Interlocked.Exchange(ref _configured, 1);
    }

    /// <inheritdoc />
    public Task StartAsync(CancellationToken cancellationToken)
    {
        // Akka.Hosting makes its builder (running Configure above) when it makes the system; made here, a bad key stops
        // the start with its ConfigurationException before any actor system exists.
        _ = _services.GetRequiredService<AkkaConfigurationBuilder>();
        if (Volatile.Read(ref _configured) == 0)
        {
            var error = new InvalidOperationException("The image store was not started: an AddAkka after AddImageActors replaced the store's actor system; add that system's actors and settings in AddImageActors' configureAkka (ImageActorsBuilder.ConfigureAkka) instead.");
            _store.FailStart(error);
            throw error;
        }

        return Task.CompletedTask;
    }

    /// <inheritdoc />
    public async Task StopAsync(CancellationToken cancellationToken) => await DisposeAsync().ConfigureAwait(false);

    /// <inheritdoc />
    public ValueTask DisposeAsync() => _store.DisposeAsync();
}
