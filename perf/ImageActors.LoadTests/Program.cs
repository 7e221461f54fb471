namespace ImageActors.LoadTests;

/// <summary>Load scenarios against a running server on loopback.</summary>
public static class Program
{
    public static int Main(string[] args)
    {
        Console.Error.WriteLine("No load scenario is implemented yet; see perf/RESULTS.md for the benchmarks that exist.");
        return args.Length == 0 ? 2 : 2;
    }
}
