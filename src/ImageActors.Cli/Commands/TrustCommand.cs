using System.CommandLine;
using ImageActors.Server.Trust;

namespace ImageActors.Cli.Commands;

/// <summary>
/// <c>imageactors config trust add|list|remove</c>: the client certificates the server trusts
/// (files under <c>&lt;data&gt;/trust/</c>; a running server sees changes at once).
/// </summary>
public static class TrustCommand
{
    /// <summary>Builds the <c>trust</c> group.</summary>
    public static Command Create(GlobalOptions globals)
    {
        ArgumentNullException.ThrowIfNull(globals);
        var trust = new Command("trust", "Manage the client certificates the server trusts (writes and private images)");

        var file = new Argument<string>("certificate") { Description = "Client certificate file (PEM or DER)" };
        var add = new Command("add", "Trust a client certificate") { file };
        add.SetAction((parseResult, _) => globals.WithConfigurationAsync(parseResult, async configuration =>
        {
            var path = parseResult.GetValue(file)!;
            if (!File.Exists(path))
            {
                await parseResult.InvocationConfiguration.Error.WriteLineAsync($"Error: {path}: no such file");
                return ExitCodes.Failure;
            }

            var fingerprint = Store(configuration).AddFile(path);
            await parseResult.InvocationConfiguration.Output.WriteLineAsync("Trusted certificate " + fingerprint);
            return ExitCodes.Success;
        }));

        var list = new Command("list", "List trusted client certificates");
        list.Aliases.Add("ls");
        list.SetAction((parseResult, _) => globals.WithConfigurationAsync(parseResult, async configuration =>
        {
            foreach (var certificate in Store(configuration).List())
            {
                await parseResult.InvocationConfiguration.Output.WriteLineAsync($"{certificate.Fingerprint}  {certificate.Subject}  expires {certificate.NotAfter:yyyy-MM-dd}");
            }

            return ExitCodes.Success;
        }));

        var prefix = new Argument<string>("fingerprint") { Description = "Fingerprint or unique prefix of the certificate" };
        var remove = new Command("remove", "Stop trusting a client certificate") { prefix };
        remove.Aliases.Add("rm");
        remove.SetAction((parseResult, _) => globals.WithConfigurationAsync(parseResult, async configuration =>
        {
            try
            {
                var removed = Store(configuration).Remove(parseResult.GetValue(prefix)!);
                await parseResult.InvocationConfiguration.Output.WriteLineAsync("Removed " + removed);
                return ExitCodes.Success;
            }
            catch (KeyNotFoundException e)
            {
                await parseResult.InvocationConfiguration.Error.WriteLineAsync("Error: " + e.Message);
                return ExitCodes.Failure;
            }
        }));

        trust.Subcommands.Add(add);
        trust.Subcommands.Add(list);
        trust.Subcommands.Add(remove);
        return trust;
    }

    private static TrustStore Store(Configuration.ImageActorsConfiguration configuration) =>
        new(Path.GetFullPath(configuration.Node.DataDirectory));
}
