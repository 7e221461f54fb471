namespace ImageActors.Cli;

/// <summary>The <c>imageactors</c> executable.</summary>
public static class Program
{
    /// <summary>Runs the command line against the process' console and environment.</summary>
    public static Task<int> Main(string[] args) => ImageActorsCommand.InvokeAsync(args, CliHost.FromProcess());
}
