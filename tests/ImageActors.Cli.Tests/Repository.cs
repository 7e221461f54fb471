namespace ImageActors.Cli.Tests;

/// <summary>Files of the repository, found by walking up from the test assembly to ImageActors.sln.</summary>
internal static class Repository
{
    public static string Root { get; } = FindRoot();

    public static string File(string relativePath) => Path.Combine(Root, relativePath);

    /// <summary>The 1-based line of the first line of <paramref name="relativePath"/> that starts with <paramref name="prefix"/> (after indentation).</summary>
    public static int LineOf(string relativePath, string prefix)
    {
        var lines = System.IO.File.ReadAllLines(File(relativePath));
        var index = Array.FindIndex(lines, l => l.TrimStart().StartsWith(prefix, StringComparison.Ordinal));
        Assert.True(index >= 0, $"no line starting with '{prefix}' in {relativePath}");
        return index + 1;
    }

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
