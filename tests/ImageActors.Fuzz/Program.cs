using ImageActors.Fuzz;
using SharpFuzz;

// `ImageActors.Fuzz <target>` runs the target under afl-fuzz (the input arrives on standard input; run once without
// afl-fuzz). `ImageActors.Fuzz <target> <file or folder>...` replays files and prints how each ended, for triage.
IReadOnlyList<FuzzTarget> targets = [.. StreamingTargets.All, .. RemotesTargets.All, .. ImagesTargets.All, .. ServerTargets.All, .. CliTargets.All];
if (args.Length == 0 || targets.FirstOrDefault(t => t.Name == args[0]) is not { } target)
{
    Console.Error.WriteLine($"usage: ImageActors.Fuzz <target> [file or folder...]; targets: {string.Join(' ', targets.Select(t => t.Name))}");
    return 2;
}

if (args.Length == 1)
{
    Fuzzer.OutOfProcess.Run(target.Run);
    return 0;
}

var failed = 0;
foreach (var file in args.Skip(1).SelectMany(a => Directory.Exists(a) ? Directory.EnumerateFiles(a, "*", SearchOption.AllDirectories).Order(StringComparer.Ordinal) : (IEnumerable<string>)[a]))
{
    try
    {
        using var stream = File.OpenRead(file);
        target.Run(stream);
        Console.WriteLine($"ok      {file}");
    }
    catch (Exception e)
    {
        failed++;
        Console.WriteLine($"FINDING {file}");
        Console.WriteLine(e);
    }
}

return failed == 0 ? 0 : 1;
