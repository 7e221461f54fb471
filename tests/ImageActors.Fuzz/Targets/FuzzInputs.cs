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

    /// <summary>(target name, input path) for every committed input of <paramref name="targets"/>: the rows of a replay test.</summary>
    public static IEnumerable<object[]> Cases(IEnumerable<FuzzTarget> targets) =>
        targets.SelectMany(target => Of(target.Name).Select(input => new object[] { target.Name, input }));

    /// <summary>Runs one committed input through the target of <paramref name="targets"/> named <paramref name="name"/>.</summary>
    public static void Replay(IEnumerable<FuzzTarget> targets, string name, string relativePath) =>
        Replay(targets.Single(t => t.Name == name), relativePath);

    /// <summary>Whether <paramref name="target"/> has seeds of its own under <c>corpus/</c>.</summary>
    public static bool HasSeeds(FuzzTarget target)
    {
        ArgumentNullException.ThrowIfNull(target);
        return Of(target.Name).Any(path => path.StartsWith("corpus", StringComparison.Ordinal));
    }
}
