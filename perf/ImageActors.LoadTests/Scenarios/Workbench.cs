using System.Diagnostics;
using System.Globalization;

namespace ImageActors.LoadTests.Scenarios;

/// <summary>Where a run keeps its servers' data, which binary it starts, and how it reads a server's metrics.</summary>
public sealed class Workbench : IDisposable
{
    private readonly bool _logIsTerminal;

    private Workbench(string root, string binary, TextWriter log, bool logIsTerminal)
    {
        Root = root;
        Binary = binary;
        Log = log;
        _logIsTerminal = logIsTerminal;
    }

    /// <summary>A fresh directory for the run's data directories, removed at the end.</summary>
    public string Root { get; }

    /// <summary>The imageactors binary.</summary>
    public string Binary { get; }

    /// <summary>Where progress goes.</summary>
    public TextWriter Log { get; }

    /// <summary>Finds (or builds) the imageactors binary and makes a work directory.</summary>
    public static async Task<Workbench> CreateAsync(LoadOptions options, TextWriter log, bool logIsTerminal)
    {
        ArgumentNullException.ThrowIfNull(options);
        var needsBinary = options.Socket is null || options.Scenario is "copy-storm" or "appliance-mix" or "soak" or "kill-loop";
        var binary = options.ImageActors ?? (needsBinary ? await LocateAsync(log) : "imageactors");
        var root = Directory.CreateTempSubdirectory("imageactors-load-").FullName;
        return new Workbench(root, binary, log, logIsTerminal);
    }

    /// <summary>Runs <paramref name="scenario"/> with a live line on the log.</summary>
    public Task<Runner.ScenarioResult> RunAsync(Runner.Scenario scenario, CancellationToken cancellation) =>
        new Runner.ScenarioRunner(scenario, Log, _logIsTerminal).RunAsync(cancellation);

    /// <summary>Starts <c>imageactors serve</c> on a new data directory named <paramref name="name"/>.</summary>
    public Task<ServeProcess> ServeAsync(string name, string configuration = "# defaults only\n", params string[] settings) =>
        ServeProcess.StartAsync(Binary, Path.Combine(Root, name), configuration, settings, Log);

    /// <summary>The sum of a Prometheus counter or gauge over the series whose labels contain <paramref name="labels"/>.</summary>
    public static async Task<double> MetricAsync(HttpClient client, string name, string labels = "", CancellationToken cancellation = default)
    {
        ArgumentNullException.ThrowIfNull(client);
        return Metric(await client.GetStringAsync(new Uri("/metrics", UriKind.Relative), cancellation), name, labels);
    }

    /// <summary>The sum of the series of <paramref name="name"/> whose labels contain <paramref name="labels"/>, in a <c>/metrics</c> text.</summary>
    public static double Metric(string text, string name, string labels = "")
    {
        ArgumentNullException.ThrowIfNull(text);
        var sum = 0.0;
        foreach (var line in text.Split('\n'))
        {
            if (line.StartsWith(name, StringComparison.Ordinal)
                && line.Length > name.Length && line[name.Length] is '{' or ' '
                && line.Contains(labels, StringComparison.Ordinal))
            {
                sum += double.Parse(line[(line.LastIndexOf(' ') + 1)..], CultureInfo.InvariantCulture);
            }
        }

        return sum;
    }

    /// <inheritdoc />
    public void Dispose()
    {
        try
        {
            Directory.Delete(Root, recursive: true);
        }
        catch (IOException)
        {
            // A server that did not stop may hold files; the temp directory is left for the OS.
        }
    }

    private static async Task<string> LocateAsync(TextWriter log)
    {
        var repository = new DirectoryInfo(AppContext.BaseDirectory);
        while (repository is not null && !File.Exists(Path.Combine(repository.FullName, "ImageActors.sln")))
        {
            repository = repository.Parent;
        }

        if (repository is null)
        {
            throw new FileNotFoundException("no imageactors binary: give --imageactors PATH (e.g. from `dotnet publish src/ImageActors.Cli -c Release -o DIR`)");
        }

        var binary = Path.Combine(repository.FullName, "src", "ImageActors.Cli", "bin", "Release", "net10.0", "imageactors");
        if (!File.Exists(binary))
        {
            await log.WriteLineAsync("building src/ImageActors.Cli (Release)…");
            using var build = Process.Start(new ProcessStartInfo("dotnet", ["build", Path.Combine(repository.FullName, "src", "ImageActors.Cli"), "-c", "Release", "-v", "quiet", "-nologo"]))!;
            await build.WaitForExitAsync();
            if (build.ExitCode != 0 || !File.Exists(binary))
            {
                throw new FileNotFoundException($"building src/ImageActors.Cli failed; build it, or give --imageactors PATH");
            }
        }

        return binary;
    }
}
