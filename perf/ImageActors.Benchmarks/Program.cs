using BenchmarkDotNet.Running;

namespace ImageActors.Benchmarks;

/// <summary>Entry point: <c>dotnet run -c Release --project perf/ImageActors.Benchmarks -- --filter '*'</c>.</summary>
public static class Program
{
    public static void Main(string[] args) => BenchmarkSwitcher.FromAssembly(typeof(Program).Assembly).Run(args);
}
