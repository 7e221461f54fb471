using ImageActors.Cli.Configuration;
using ImageActors.Server.Images;
using Microsoft.Extensions.DependencyInjection;

namespace ImageActors.Cli.Commands;

/// <summary>Chooses the image backend the server runs on.</summary>
public static class ServerBackend
{
    /// <summary>Registers the backend for <paramref name="configuration"/>.</summary>
    public static void Add(IServiceCollection services, ImageActorsConfiguration configuration)
    {
        ArgumentNullException.ThrowIfNull(services);
        ArgumentNullException.ThrowIfNull(configuration);

        // The embedded image store is adapted here once it is available; until then the server
        // runs without images and says so on writes.
        services.AddSingleton<IImageBackend, NoImageBackend>();
    }
}
