namespace ImageActors.Server.Tests.Support;

/// <summary>A fresh temporary directory, removed on dispose.</summary>
public sealed class TempDirectory : IDisposable
{
    public TempDirectory() => Path = Directory.CreateTempSubdirectory("imageactors-server-").FullName;

    public string Path { get; }

    public void Dispose()
    {
        try
        {
            Directory.Delete(Path, recursive: true);
        }
        catch (IOException)
        {
            // A socket or file still held by a stopping server; the temp folder is cleaned by the OS.
        }
    }
}
