using System.CommandLine;
using ImageActors.Cli.Commands;

namespace ImageActors.Cli;

/// <summary>
/// The root <c>imageactors</c> command: the global options and one command group per file in
/// <c>Commands/</c> (<c>version</c>, <c>config</c>; later <c>serve</c>, <c>image</c>, <c>remote</c>).
/// </summary>
public static class ImageActorsCommand
{
    /// <summary>Builds the command tree for <paramref name="host"/>.</summary>
    public static RootCommand Create(CliHost host) => Create(new GlobalOptions(host));

    private static RootCommand Create(GlobalOptions globals)
    {
        var root = new RootCommand("ImageActors: an Incus-compatible image store, image server and pull-through image cache.");
        globals.AddTo(root);
        root.Subcommands.Add(VersionCommand.Create());
        root.Subcommands.Add(ConfigCommand.Create(globals));
        root.Subcommands.Add(ServeCommand.Create(globals));
        root.Subcommands.Add(ImageCommand.Create(globals));
        root.Subcommands.Add(RemoteCommand.Create(globals));
        root.Subcommands.First(c => c.Name == "config").Subcommands.Add(TrustCommand.Create(globals));
        return root;
    }

    /// <summary>
    /// Parses <paramref name="args"/> and runs the command, writing to <paramref name="host"/>'s streams. A failure
    /// no command handled is one line on stderr saying what happened and what to do (see <see cref="CliFailure"/>);
    /// the stack trace follows only with <c>--debug</c>.
    /// </summary>
    /// <returns>The exit code (see <see cref="ExitCodes"/>).</returns>
    public static async Task<int> InvokeAsync(string[] args, CliHost host, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(host);
        var globals = new GlobalOptions(host);
        var parseResult = Create(globals).Parse(args);
        try
        {
            return await parseResult.InvokeAsync(new InvocationConfiguration { Output = host.Output, Error = host.Error, EnableDefaultExceptionHandler = false }, cancellationToken);
        }
        catch (Exception e)
        {
            await host.Error.WriteLineAsync("Error: " + CliFailure.Describe(e));
            if (parseResult.GetValue(globals.Debug))
            {
                await host.Error.WriteLineAsync(e.ToString());
            }

            return ExitCodes.Failure;
        }
    }
}
