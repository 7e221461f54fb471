using ImageActors.Server.Images;
using Microsoft.Extensions.DependencyInjection;

namespace ImageActors.Server.Tests.Support;

/// <summary>
/// Base of the API tests that run the server in memory (<see cref="ServerFactory"/>) over a <see cref="CatalogBackend"/>
/// whose image files live in a temp directory removed afterwards.
/// </summary>
public abstract class CatalogApiTest : IDisposable
{
    protected CatalogApiTest()
    {
        Backend = new CatalogBackend(Files.Path);
        Factory = new ServerFactory { ConfigureTestServices = s => s.AddSingleton<IImageBackend>(Backend) };
    }

    protected TempDirectory Files { get; } = new();

    protected CatalogBackend Backend { get; }

    protected ServerFactory Factory { get; }

    public void Dispose()
    {
        Factory.Dispose();
        Files.Dispose();
        GC.SuppressFinalize(this);
    }
}
