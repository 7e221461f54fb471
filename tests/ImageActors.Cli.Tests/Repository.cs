namespace ImageActors.Cli.Tests;

/// <summary>Files of the repository, found by walking up from the test assembly to ImageActors.sln.</summary>
internal static class Repository
{
    public static string Root { get; } = FindRoot();

    public static string File(string relativePath) => Path.Combine(Root, relativePath);

    private static string FindRoot()
    {
        for (var directory = new DirectoryInfo(AppContext.BaseDirectory); directory is not null; directory = directory.Parent)
        {
            if (System.IO.File.Exists(Path.Combine(directory.FullName, "ImageActors.sln")))
            {
                return directory.FullName;
            }
        }

        throw new InvalidOperationException("ImageActors.sln not found above the test assembly");
    }
}
