using System.Globalization;
using ImageActors.LoadTests.Runner;

namespace ImageActors.LoadTests.Scenarios;

/// <summary>The command line of a scenario run.</summary>
public sealed class LoadOptions
{
    /// <summary>The usage text.</summary>
    public const string Usage = """
        usage: ImageActors.LoadTests SCENARIO [options]

        scenarios:
          import-storm    many different small images uploaded at once (POST /1.0/images)
          copy-storm      --count clients copy one remote image through the appliance at once; one upstream download
          alias-churn     writers retarget aliases while readers resolve them
          appliance-mix   clients resolve, inspect and export a working set bigger than images.cache_max_size
          soak            appliance-mix for 20 minutes, with the server's memory, threads and open files over time
          kill-loop       --count times: SIGKILL the appliance amid imports, copies, pull-throughs, refreshes, deletes,
                          alias and property changes and eviction, start it again, check that nothing is half there

        options:
          --duration T          measured time per run (default 30s; soak 20m), e.g. 45s, 2m
          --warm-up T           load before measuring, not recorded (default 5s; 0 for none)
          --users N             closed model: N virtual users (default per scenario)
          --rate R              open model: R iterations started per second instead of users
          --ramp T              ramp users or rate up over T before the constant stretch
          --count N             copy-storm: clients (default 1000); kill-loop: kills (default 200)
          --images N            appliance-mix: images in the working set (default 24)
          --size BYTES          image size for copy-storm (default 64MiB) and appliance-mix (default 4MiB)
          --threshold EXPR      e.g. "p99 < 50ms", "export.errors == 0" (repeatable; a missed one fails the run)
          --socket PATH         import-storm, alias-churn: a running server's unix socket (an imageactors serve,
                                or an Incus daemon's) instead of starting imageactors serve
          --imageactors PATH    the imageactors binary to start (default: the Release build in this repository)
          --out DIR             where the report goes (default ./load-reports/SCENARIO-TIME)
        """;

    /// <summary>The scenario's name.</summary>
    public required string Scenario { get; init; }

    /// <summary>Measured time, or null for the scenario's default.</summary>
    public TimeSpan? Duration { get; init; }

    /// <summary>Warm-up before measuring.</summary>
    public TimeSpan? WarmUp { get; init; }

    /// <summary>Closed model users, or null for the scenario's default.</summary>
    public int? Users { get; init; }

    /// <summary>Open model rate, or null for a closed model.</summary>
    public double? Rate { get; init; }

    /// <summary>Ramp time before the constant stretch.</summary>
    public TimeSpan Ramp { get; init; }

    /// <summary>Copy storm clients.</summary>
    public int? Count { get; init; }

    /// <summary>Images in the appliance mix's working set.</summary>
    public int? Images { get; init; }

    /// <summary>Image size in bytes.</summary>
    public long? Size { get; init; }

    /// <summary>Thresholds given on the command line.</summary>
    public IReadOnlyList<Threshold> Thresholds { get; init; } = [];

    /// <summary>A running server's unix socket.</summary>
    public string? Socket { get; init; }

    /// <summary>The imageactors binary.</summary>
    public string? ImageActors { get; init; }

    /// <summary>The report folder.</summary>
    public string? Out { get; init; }

    /// <summary>The load stretches: an optional ramp, then constant load for <paramref name="duration"/>.</summary>
    public IReadOnlyList<LoadSimulation> Load(int defaultUsers, TimeSpan duration)
    {
        var during = Duration ?? duration;
        if (Rate is { } rate)
        {
            return Ramp > TimeSpan.Zero
                ? [new LoadSimulation.RampingInject(rate, Ramp), new LoadSimulation.Inject(rate, during)]
                : [new LoadSimulation.Inject(rate, during)];
        }

        var users = Users ?? defaultUsers;
        return Ramp > TimeSpan.Zero
            ? [new LoadSimulation.RampingConstant(users, Ramp), new LoadSimulation.KeepConstant(users, during)]
            : [new LoadSimulation.KeepConstant(users, during)];
    }

    /// <summary>Parses the arguments; throws <see cref="FormatException"/> with a one-line message.</summary>
    public static LoadOptions Parse(IReadOnlyList<string> args)
    {
        ArgumentNullException.ThrowIfNull(args);
        if (args.Count == 0 || args[0].StartsWith('-'))
        {
            throw new FormatException("name a scenario");
        }

        var values = new Dictionary<string, List<string>>(StringComparer.Ordinal);
        for (var n = 1; n < args.Count; n++)
        {
            var key = args[n];
            if (!key.StartsWith("--", StringComparison.Ordinal) || n + 1 >= args.Count)
            {
                throw new FormatException($"{key}: expected --OPTION VALUE");
            }

            if (!values.TryGetValue(key[2..], out var list))
            {
                values[key[2..]] = list = [];
            }

            list.Add(args[++n]);
        }

        string? One(string key) => values.Remove(key, out var v) ? v[^1] : null;
        var options = new LoadOptions
        {
            Scenario = args[0],
            Duration = One("duration") is { } d ? ParseDuration(d, "--duration") : null,
            WarmUp = One("warm-up") is { } w ? ParseDuration(w, "--warm-up") : null,
            Users = One("users") is { } u ? Positive(u, "--users") : null,
            Rate = One("rate") is { } r ? double.Parse(r, CultureInfo.InvariantCulture) : null,
            Ramp = One("ramp") is { } ramp ? ParseDuration(ramp, "--ramp") : TimeSpan.Zero,
            Count = One("count") is { } c ? Positive(c, "--count") : null,
            Images = One("images") is { } i ? Positive(i, "--images") : null,
            Size = One("size") is { } s ? ParseSize(s) : null,
            Thresholds = values.Remove("threshold", out var t) ? [.. t.Select(Threshold.Parse)] : [],
            Socket = One("socket"),
            ImageActors = One("imageactors"),
            Out = One("out"),
        };
        if (values.Count > 0)
        {
            throw new FormatException($"unknown option --{values.Keys.First()}");
        }

        return options;
    }

    /// <summary>Parses <c>30s</c>, <c>2m</c>, <c>500ms</c>, <c>1h</c>.</summary>
    public static TimeSpan ParseDuration(string text, string option)
    {
        ArgumentNullException.ThrowIfNull(text);
        var (number, unit) = Split(text);
        return unit switch
        {
            "ms" => TimeSpan.FromMilliseconds(number),
            "s" or "" => TimeSpan.FromSeconds(number),
            "m" => TimeSpan.FromMinutes(number),
            "h" => TimeSpan.FromHours(number),
            _ => throw new FormatException($"{option} {text}: expected a duration such as 500ms, 30s, 2m"),
        };
    }

    private static long ParseSize(string text)
    {
        var (number, unit) = Split(text);
        return (long)(number * unit.ToUpperInvariant() switch
        {
            "" or "B" => 1,
            "KIB" or "K" => 1024,
            "MIB" or "M" => 1024 * 1024,
            "GIB" or "G" => 1024L * 1024 * 1024,
            _ => throw new FormatException($"--size {text}: expected bytes such as 4MiB"),
        });
    }

    private static int Positive(string text, string option) =>
        int.TryParse(text, CultureInfo.InvariantCulture, out var n) && n > 0 ? n : throw new FormatException($"{option} {text}: expected a positive number");

    private static (double Number, string Unit) Split(string text)
    {
        var end = 0;
        while (end < text.Length && (char.IsAsciiDigit(text[end]) || text[end] == '.'))
        {
            end++;
        }

        return end == 0 || !double.TryParse(text[..end], CultureInfo.InvariantCulture, out var number)
            ? throw new FormatException($"\"{text}\": expected a number with a unit")
            : (number, text[end..]);
    }
}
