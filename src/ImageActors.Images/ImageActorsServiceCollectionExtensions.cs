using System.Diagnostics.Metrics;
using ImageActors.Images.Configuration;
using ImageActors.Images.Hosting;
using ImageActors.Images.Remote;
using ImageActors.Remotes.Download;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace ImageActors.Images;

/// <summary>Registers the embedded image store in a host.</summary>
public static class ImageActorsServiceCollectionExtensions
{
    /// <summary>
    /// Adds an <see cref="ImageStore"/> over <paramref name="dataDirectory"/> with the embedded SQLite
    /// journal (<c>&lt;data&gt;/journal.db</c>). It starts with the host and can be injected anywhere: calls made before it
    /// started wait for it, calls made after the host stopped fail with <see cref="ObjectDisposedException"/>.
    /// Auto-update and refresh look for newer images at the remotes the images were copied from.
    /// </summary>
    public static IServiceCollection AddImageActors(this IServiceCollection services, string dataDirectory, ImagesOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(services);
        ArgumentException.ThrowIfNullOrEmpty(dataDirectory);
        options ??= new ImagesOptions();

        // Ahead of the default registrations below, so that downloads and remotes run as the options say.
        services.TryAddSingleton(_ => new ImageDownloader(options.ToDownloadOptions()));
        services.TryAddSingleton(sp => new RemoteImageSources(sp.GetRequiredService<ImageDownloader>(), options.ToRemoteConnection(), options.DefaultArchitecture));
        return services.AddImageActors(sp =>
        {
            Directory.CreateDirectory(dataDirectory);
            var settings = new ImageStoreSettings(dataDirectory, StorePersistence.Sqlite(Path.Combine(dataDirectory, "journal.db")))
            {
                Options = options,
                UpdateSource = new RemoteUpdateSource(sp.GetRequiredService<RemoteImageSources>()),
                LoggerFactory = sp.GetService<ILoggerFactory>(),
            };
            return Task.FromResult<(ImageStoreSettings, IAsyncDisposable?)>((settings, null));
        });
    }

    /// <summary>
    /// Adds an <see cref="ImageStore"/> configured with the keys of <c>akka.hocon</c>, usually from the host's
    /// configuration: <c>services.AddImageActors(b =&gt; b.BindConfiguration("ImageActors"))</c>. The keys are read and
    /// checked when the host starts; an unknown key or a bad value stops the start with a
    /// <see cref="ConfigurationException"/> naming each. The journal is SQLite under <c>data_dir</c> unless
    /// <c>persistence.*</c> says otherwise.
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
        return services.AddImageActors(sp =>
        {
            var configuration = sp.GetRequiredService<EmbeddedConfiguration>();
            var settings = configuration.ToSettings(new RemoteUpdateSource(sp.GetRequiredService<RemoteImageSources>()), sp.GetService<ILoggerFactory>());
            Directory.CreateDirectory(settings.DataDirectory);
            return Task.FromResult<(ImageStoreSettings, IAsyncDisposable?)>((settings, null));
        });
    }

    /// <summary>
    /// Adds an <see cref="ImageStore"/> built from settings the host provides (any journal), and the remote
    /// machinery over one shared <see cref="ImageDownloader"/>: <see cref="RemoteImageSources"/> (give it to a
    /// <see cref="RemoteUpdateSource"/> in the settings) and a <see cref="RemoteImageCopier"/> into the store.
    /// </summary>
    /// <param name="services">The host's services.</param>
    /// <param name="settings">Makes the settings, and optionally something to dispose after the store stopped (the journal's store).</param>
    public static IServiceCollection AddImageActors(this IServiceCollection services, Func<IServiceProvider, Task<(ImageStoreSettings Settings, IAsyncDisposable? Owned)>> settings)
    {
        ArgumentNullException.ThrowIfNull(services);
        ArgumentNullException.ThrowIfNull(settings);
        services.AddSingleton(sp => new ImageStoreHost(() => settings(sp), sp.GetService<IMeterFactory>()));
        services.AddHostedService(sp => sp.GetRequiredService<ImageStoreHost>());
        services.AddSingleton(sp => sp.GetRequiredService<ImageStoreHost>().Store);
        services.TryAddSingleton(_ => new ImageDownloader());
        services.TryAddSingleton(sp => new RemoteImageSources(sp.GetRequiredService<ImageDownloader>()));
        services.TryAddSingleton(sp => new RemoteImageCopier(sp.GetRequiredService<ImageStore>(), sp.GetRequiredService<RemoteImageSources>()));
        return services;
    }
}

/// <summary>Starts the <see cref="ImageStore"/> with the host and stops it with the host.</summary>
public sealed class ImageStoreHost : IHostedService, IAsyncDisposable
{
    private readonly Func<Task<(ImageStoreSettings Settings, IAsyncDisposable? Owned)>> _settings;
    private readonly ImageStore _store;
    private IAsyncDisposable? _owned;

    internal ImageStoreHost(Func<Task<(ImageStoreSettings Settings, IAsyncDisposable? Owned)>> settings, IMeterFactory? meterFactory)
    {
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

    /// <inheritdoc />
    public async Task StartAsync(CancellationToken cancellationToken)
    {
        var (settings, owned) = await _settings().ConfigureAwait(false);
        _owned = owned;
        Options = settings.Options;
        await _store.StartInPlaceAsync(settings, cancellationToken).ConfigureAwait(false);
    }

    /// <inheritdoc />
    public async Task StopAsync(CancellationToken cancellationToken) => await DisposeAsync().ConfigureAwait(false);

    /// <inheritdoc />
    public async ValueTask DisposeAsync()
    {
        await _store.DisposeAsync().ConfigureAwait(false);
        if (Interlocked.Exchange(ref _owned, null) is { } owned)
        {
            await owned.DisposeAsync().ConfigureAwait(false);
        }
    }
}
