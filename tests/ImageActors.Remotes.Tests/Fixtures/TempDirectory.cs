namespace ImageActors.Remotes.Tests.Fixtures;

/// <summary>A private temp folder removed at the end of the test.</summary>
public sealed class TempDirectory : IDisposable
{
    public TempDirectory() => Path = Directory.CreateTempSubdirectory("imageactors-remotes-").FullName;

    public string Path { get; }

    public string Sub(string name) => Directory.CreateDirectory(System.IO.Path.Combine(Path, name)).FullName;

    public static string[] Files(string directory) => Directory.Exists(directory) ? Directory.GetFiles(directory) : [];

    public void Dispose()
    {
        try
        {
            Directory.Delete(Path, recursive: true);
        }
        catch (IOException)
        {
        }
    }
}
