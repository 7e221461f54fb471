using System.CommandLine;
using System.Text;
using System.Text.Json;
using ImageActors.Remotes.Incus;
using Spectre.Console;

namespace ImageActors.Cli.Commands;

/// <summary><c>imageactors image alias create|delete|rename|list</c>.</summary>
public static class ImageAliasCommand
{
    /// <summary>Builds the <c>alias</c> group.</summary>
    public static Command Create(GlobalOptions globals)
    {
        var alias = new Command("alias", "Manage image aliases");
        alias.Subcommands.Add(CreateAlias(globals));
        alias.Subcommands.Add(DeleteAlias(globals));
        alias.Subcommands.Add(RenameAlias(globals));
        alias.Subcommands.Add(ListAliases(globals));
        return alias;
    }

    private static Command CreateAlias(GlobalOptions globals)
    {
        var name = new Argument<string>("alias");
        var target = new Argument<string>("fingerprint") { Description = "Fingerprint or unique prefix of the target image" };
        var description = new Option<string?>("--description") { Description = "Alias description" };
        var command = new Command("create", "Create an alias") { name, target, description };
        command.SetAction((parseResult, cancellationToken) => ImageCommand.RunAsync(globals, parseResult, cancellationToken, async (server, _) =>
        {
            var entry = new ImageAliasesEntry { Name = parseResult.GetValue(name)!, Target = parseResult.GetValue(target)!, Description = parseResult.GetValue(description) ?? string.Empty };
            using var response = await server.Client.PostAsync(new Uri("/1.0/images/aliases", UriKind.Relative), Json(JsonSerializer.Serialize(entry, IncusJsonContext.Default.ImageAliasesEntry)), cancellationToken);
            await LocalServer.ReadAsync(response, IncusJsonContext.Default.IncusResponseJsonElement, cancellationToken);
            return ExitCodes.Success;
        }));
        return command;
    }

    private static Command DeleteAlias(GlobalOptions globals)
    {
        var name = new Argument<string>("alias");
        var command = new Command("delete", "Delete an alias") { name };
        command.Aliases.Add("rm");
        command.SetAction((parseResult, cancellationToken) => ImageCommand.RunAsync(globals, parseResult, cancellationToken, async (server, _) =>
        {
            using var response = await server.Client.DeleteAsync(Url(parseResult.GetValue(name)!), cancellationToken);
            await LocalServer.ReadAsync(response, IncusJsonContext.Default.IncusResponseJsonElement, cancellationToken);
            return ExitCodes.Success;
        }));
        return command;
    }

    private static Command RenameAlias(GlobalOptions globals)
    {
        var name = new Argument<string>("alias");
        var newName = new Argument<string>("new-name");
        var command = new Command("rename", "Rename an alias") { name, newName };
        command.Aliases.Add("mv");
        command.SetAction((parseResult, cancellationToken) => ImageCommand.RunAsync(globals, parseResult, cancellationToken, async (server, _) =>
        {
            var body = JsonSerializer.Serialize(new ImageAliasesEntryPost { Name = parseResult.GetValue(newName)! }, IncusJsonContext.Default.ImageAliasesEntryPost);
            using var response = await server.Client.PostAsync(Url(parseResult.GetValue(name)!), Json(body), cancellationToken);
            await LocalServer.ReadAsync(response, IncusJsonContext.Default.IncusResponseJsonElement, cancellationToken);
            return ExitCodes.Success;
        }));
        return command;
    }

    private static Command ListAliases(GlobalOptions globals)
    {
        var format = new Option<string>("--format", "-f") { Description = "Output format", DefaultValueFactory = _ => "table" }
            .AcceptOnlyFromAmong("table", "json", "csv");
        var command = new Command("list", "List aliases") { format };
        command.Aliases.Add("ls");
        command.SetAction((parseResult, cancellationToken) => ImageCommand.RunAsync(globals, parseResult, cancellationToken, async (server, output) =>
        {
            var aliases = await server.GetAsync("/1.0/images/aliases?recursion=1", IncusJsonContext.Default.IncusResponseIReadOnlyListImageAliasesEntry, cancellationToken);
            switch (parseResult.GetValue(format))
            {
                case "json":
                    await output.WriteLineAsync(JsonSerializer.Serialize(aliases, IncusJsonContext.Default.IReadOnlyListImageAliasesEntry));
                    break;
                case "csv":
                    foreach (var alias in aliases)
                    {
                        await output.WriteLineAsync($"{alias.Name},{alias.Target[..Math.Min(12, alias.Target.Length)]},{alias.Type.ToUpperInvariant()},{alias.Description}");
                    }

                    break;
                default:
                    var table = new Table().AddColumns("ALIAS", "FINGERPRINT", "TYPE", "DESCRIPTION");
                    foreach (var alias in aliases)
                    {
                        table.AddRow(Markup.Escape(alias.Name), alias.Target[..Math.Min(12, alias.Target.Length)], alias.Type.ToUpperInvariant(), Markup.Escape(alias.Description));
                    }

                    ImageCommand.Console(output).Write(table);
                    break;
            }

            return ExitCodes.Success;
        }));
        return command;
    }

    private static Uri Url(string name) => new("/1.0/images/aliases/" + Uri.EscapeDataString(name), UriKind.Relative);

    private static StringContent Json(string json) => new(json, Encoding.UTF8, "application/json");
}
