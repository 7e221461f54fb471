namespace ImageActors.Cli;

/// <summary>
/// What a command reads from and writes to outside its arguments: the output streams and the
/// environment. Tests pass their own to run commands in-process.
/// </summary>
/// <param name="Output">Standard output.</param>
/// <param name="Error">Standard error.</param>
/// <param name="Environment">Environment variables (<c>IMAGEACTORS_CONFIG</c>, and those keys name, such as <c>IMAGEACTORS_DATA</c>).</param>
public sealed record CliHost(TextWriter Output, TextWriter Error, Func<string, string?> Environment)
{
    /// <summary>Standard input, for questions asked on a terminal (none by default).</summary>
    public TextReader Input { get; init; } = TextReader.Null;

    /// <summary>Whether <see cref="Input"/> is a terminal a person answers on; when not, a command that would ask fails instead.</summary>
    public bool InputIsTerminal { get; init; }

    /// <summary>The process' console and environment.</summary>
    public static CliHost FromProcess() => new(Console.Out, Console.Error, System.Environment.GetEnvironmentVariable)
    {
        Input = Console.In,
        InputIsTerminal = !Console.IsInputRedirected,
    };
}
