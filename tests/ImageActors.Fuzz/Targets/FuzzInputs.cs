namespace ImageActors.Fuzz;

/// <summary>The committed inputs of a target: its seed corpus and the regressions fuzzing found.</summary>
public static class FuzzInputs
{
    /// <summary>The folder of the fuzzing files, <c>tests/fuzz</c> in the repository.</summary>
    public static string Root
    {
        get
        {
            for (var directory = new DirectoryInfo(AppContext.BaseDirectory); directory is not null; directory = directory.Parent)
            {
                if (File.Exists(Path.Combine(directory.FullName, "ImageActors.sln")))
                {
                    return Path.Combine(directory.FullName, "tests", "fuzz");
                }
            }

            throw new DirectoryNotFoundException($"No ImageActors.sln above {AppContext.BaseDirectory}; the fuzz inputs are found from the repository root.");
        }
    }

    /// <summary>Every file under <c>corpus/&lt;target&gt;</c> and <c>regressions/&lt;target&gt;</c>, as paths relative to <see cref="Root"/>.</summary>
    public static IEnumerable<string> Of(string target)
    {
        var root = Root;
        foreach (var kind in new[] { "corpus", "regressions" })
        {
            var directory = Path.Combine(root, kind, target);
            if (!Directory.Exists(directory))
            {
                continue;
            }

            foreach (var file in Directory.EnumerateFiles(directory, "*", SearchOption.AllDirectories).Order(StringComparer.Ordinal))
            {
                yield return Path.GetRelativePath(root, file);
            }
        }
    }

    /// <summary>Runs one committed input through <paramref name="target"/>.</summary>
    public static void Replay(FuzzTarget target, string relativePath)
    {
        ArgumentNullException.ThrowIfNull(target);
        using var file = File.OpenRead(Path.Combine(Root, relativePath));
        target.Run(file);
    }
}
