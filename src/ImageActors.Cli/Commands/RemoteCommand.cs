using System.CommandLine;
using System.Text.Json;
using System.Text.Json.Nodes;
using Spectre.Console;
using YamlDotNet.Serialization;

namespace ImageActors.Cli.Commands;

/// <summary>
/// <c>imageactors remote add|list|remove|rename|set-default</c>: the image servers <c>image copy</c> can name
/// as <c>&lt;remote&gt;:&lt;image&gt;</c>, kept in <c>&lt;data&gt;/remotes.yml</c>.
/// </summary>
public static class RemoteCommand
{
    /// <summary>Builds the <c>remote</c> group.</summary>
    public static Command Create(GlobalOptions globals)
    {
        ArgumentNullException.ThrowIfNull(globals);
        var remote = new Command("remote", "Manage the image servers image copy can copy from");
        remote.Subcommands.Add(Add(globals));
        remote.Subcommands.Add(List(globals));
        remote.Subcommands.Add(Remove(globals));
        remote.Subcommands.Add(Rename(globals));
        remote.Subcommands.Add(SetDefault(globals));
        return remote;
    }

    private static Command Add(GlobalOptions globals)
    {
        var name = new Argument<string>("name");
        var url = new Argument<string>("url") { Description = "Address of the server, for example https://images.example:8443" };
        var protocol = new Option<string>("--protocol") { Description = "imageactors, incus, lxd or simplestreams", DefaultValueFactory = _ => "incus" };
        var isPublic = new Option<bool>("--public") { Description = "The server is used without a client certificate" };
        var certificate = new Option<string?>("--certificate") { Description = "PEM file of the server's certificate to pin" };
        var accept = new Option<bool>("--accept-certificate") { Description = "Pin the certificate the server presents now, without asking" };
        var command = new Command("add", "Add a remote") { name, url, protocol, isPublic, certificate, accept };
        command.SetAction((parseResult, cancellationToken) => RunAsync(globals, parseResult, async (remotes, output) =>
        {
            var pem = parseResult.GetValue(certificate) is { } file
                ? File.Exists(file) ? await File.ReadAllTextAsync(file, cancellationToken) : throw new CommandException($"{file}: no such file")
                : null;

            // Added first so that a bad name, URL or protocol is reported before the server is contacted.
            var remote = new Remote(parseResult.GetValue(name)!, parseResult.GetValue(url)!.TrimEnd('/'), parseResult.GetValue(protocol)!, parseResult.GetValue(isPublic), pem ?? string.Empty);
            remotes.Add(remote);
            if (pem is null && NeedsCertificateCheck(remote, parseResult.GetValue(accept)))
            {
                var pinned = await ServerCertificateCheck.RunAsync(remote.Url, parseResult.GetValue(accept), globals.Host, output, cancellationToken);
                remotes.Remove(remote.Name);
                remotes.Add(remote with { Certificate = pinned });
            }

            remotes.Save();
            return ExitCodes.Success;
        }));
        return command;
    }

    // As incus does: the certificate of an https server is checked when the remote is added; a simplestreams remote
    // is only contacted when asked to pin (incus never pins one; --certificate or --accept-certificate does here).
    private static bool NeedsCertificateCheck(Remote remote, bool accept) =>
        remote.Url.StartsWith("https://", StringComparison.OrdinalIgnoreCase) && (accept || remote.Protocol != "simplestreams");

    private static Command List(GlobalOptions globals)
    {
        var format = new Option<string>("--format", "-f") { Description = "Output format", DefaultValueFactory = _ => "table" }
            .AcceptOnlyFromAmong("table", "json", "yaml", "csv");
        var command = new Command("list", "List remotes") { format };
        command.Aliases.Add("ls");
        command.SetAction((parseResult, _) => RunAsync(globals, parseResult, async (remotes, output) =>
        {
            switch (parseResult.GetValue(format))
            {
                case "json":
                    await output.WriteLineAsync(ToJson(remotes));
                    break;
                case "yaml":
                    await output.WriteAsync(new SerializerBuilder().Build().Serialize(remotes.All.ToDictionary(r => r.Name, r => Fields(remotes, r), StringComparer.Ordinal)));
                    break;
                case "csv":
                    foreach (var remote in remotes.All)
                    {
                        var fields = Fields(remotes, remote);
                        await output.WriteLineAsync($"{remote.Name},{fields["url"]},{fields["protocol"]},{fields["public"]},{fields["default"]}");
                    }

                    break;
                default:
                    var table = new Table().AddColumns("NAME", "URL", "PROTOCOL", "PUBLIC", "DEFAULT");
                    foreach (var remote in remotes.All)
                    {
                        var fields = Fields(remotes, remote);
                        table.AddRow(Markup.Escape(remote.Name), Markup.Escape(fields["url"]), fields["protocol"], fields["public"] == "true" ? "YES" : "NO", fields["default"] == "true" ? "YES" : "NO");
                    }

                    ImageCommand.Console(output).Write(table);
                    break;
            }

            return ExitCodes.Success;
        }));
        return command;
    }

    private static Command Remove(GlobalOptions globals)
    {
        var name = new Argument<string>("name");
        var command = new Command("remove", "Remove a remote") { name };
        command.Aliases.Add("rm");
        command.SetAction((parseResult, _) => RunAsync(globals, parseResult, (remotes, _) =>
        {
            remotes.Remove(parseResult.GetValue(name)!);
            remotes.Save();
            return Task.FromResult(ExitCodes.Success);
        }));
        return command;
    }

    private static Command Rename(GlobalOptions globals)
    {
        var name = new Argument<string>("name");
        var newName = new Argument<string>("new-name");
        var command = new Command("rename", "Rename a remote") { name, newName };
        command.Aliases.Add("mv");
        command.SetAction((parseResult, _) => RunAsync(globals, parseResult, (remotes, _) =>
        {
            remotes.Rename(parseResult.GetValue(name)!, parseResult.GetValue(newName)!);
            remotes.Save();
            return Task.FromResult(ExitCodes.Success);
        }));
        return command;
    }

    private static Command SetDefault(GlobalOptions globals)
    {
        var name = new Argument<string>("name");
        var command = new Command("set-default", "Make a remote the default one") { name };
        command.SetAction((parseResult, _) => RunAsync(globals, parseResult, (remotes, _) =>
        {
            remotes.SetDefault(parseResult.GetValue(name)!);
            remotes.Save();
            return Task.FromResult(ExitCodes.Success);
        }));
        return command;
    }

    private static Dictionary<string, string> Fields(RemoteList remotes, Remote remote) => new(StringComparer.Ordinal)
    {
        ["url"] = remote.Name == RemoteList.Local ? "unix://" : remote.Url,
        ["protocol"] = remote.Protocol,
        ["public"] = remote.Public ? "true" : "false",
        ["default"] = remotes.DefaultRemote == remote.Name ? "true" : "false",
    };

    private static string ToJson(RemoteList remotes)
    {
        var json = new JsonObject();
        foreach (var remote in remotes.All)
        {
            json[remote.Name] = new JsonObject
            {
                ["addr"] = remote.Name == RemoteList.Local ? "unix://" : remote.Url,
                ["protocol"] = remote.Protocol,
                ["public"] = remote.Public,
                ["default"] = remotes.DefaultRemote == remote.Name,
            };
        }

        return json.ToJsonString(new JsonSerializerOptions { WriteIndented = true });
    }

    private static Task<int> RunAsync(GlobalOptions globals, ParseResult parseResult, Func<RemoteList, TextWriter, Task<int>> action) =>
        globals.WithConfigurationAsync(parseResult, async configuration =>
        {
            try
            {
                return await action(RemoteList.Load(configuration.Node.DataDirectory), parseResult.InvocationConfiguration.Output);
            }
            catch (CommandException e)
            {
                await parseResult.InvocationConfiguration.Error.WriteLineAsync("Error: " + e.Message);
                return ExitCodes.Failure;
            }
        });
}
