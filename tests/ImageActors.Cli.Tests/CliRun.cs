namespace ImageActors.Cli.Tests;

/// <summary>One in-process run of <c>imageactors</c>: its exit code and what it wrote.</summary>
internal sealed record CliRun(int ExitCode, string Output, string Error)
{
    public static Task<CliRun> InvokeAsync(IReadOnlyDictionary<string, string>? environment, params string[] args) =>
        InvokeAsync(environment, CancellationToken.None, args);

    /// <summary>Runs the command; cancelling <paramref name="interrupt"/> is what Ctrl-C does to it.</summary>
    public static async Task<CliRun> InvokeAsync(IReadOnlyDictionary<string, string>? environment, CancellationToken interrupt, params string[] args)
    {
        using var output = new StringWriter();
        using var error = new StringWriter();
        var variables = environment ?? new Dictionary<string, string>();
        var code = await ImageActorsCommand.InvokeAsync(args, new CliHost(output, error, variables.GetValueOrDefault), interrupt);
        return new CliRun(code, output.ToString(), error.ToString());
    }

    public static Task<CliRun> InvokeAsync(params string[] args) => InvokeAsync(null, args);
}
