using System.CommandLine;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using ImageActors.Remotes.Incus;
using Spectre.Console;

namespace ImageActors.Cli.Commands;

/// <summary>
/// <c>image copy</c>, <c>image import &lt;URL&gt;</c> and <c>image refresh</c>: downloads that the server (or the
/// in-process store) runs as <c>POST /1.0/images</c> with a remote source, and <c>POST …/refresh</c>.
/// </summary>
public static class ImageCopyCommand
{
    /// <summary>Builds <c>image copy &lt;server-url&gt;:&lt;alias|fingerprint&gt;</c>.</summary>
    public static Command Copy(GlobalOptions globals)
    {
        ArgumentNullException.ThrowIfNull(globals);
        var source = new Argument<string>("source") { Description = "<remote>:<alias or fingerprint> (see remote list) or <server URL>:<alias or fingerprint>, for example images:debian/12 or https://images.linuxcontainers.org:debian/12" };
        var protocol = new Option<string?>("--protocol") { Description = "Protocol of the source server: incus, lxd or simplestreams (default: the remote's, else incus)" };
        var aliases = new Option<string[]>("--alias") { Description = "Alias for the copied image (repeatable)", Arity = ArgumentArity.ZeroOrMore, AllowMultipleArgumentsPerToken = false };
        var copyAliases = new Option<bool>("--copy-aliases") { Description = "Also create the alias the image was asked for by" };
        var autoUpdate = new Option<bool>("--auto-update") { Description = "Keep the image up to date from its source" };
        var vm = new Option<bool>("--vm") { Description = "Copy the virtual-machine image of the alias" };
        var isPublic = new Option<bool>("--public") { Description = "Make the image visible to untrusted clients" };
        var reuse = new Option<bool>("--reuse") { Description = "Move aliases that already exist to the copied image" };
        var certificate = new Option<string?>("--certificate") { Description = "PEM file of the source server's certificate to pin" };
        var command = new Command("copy", "Copy an image from another image server into the local store")
        {
            source, protocol, aliases, copyAliases, autoUpdate, vm, isPublic, reuse, certificate,
        };
        command.SetAction((parseResult, cancellationToken) => ImageCommand.RunAsync(globals, parseResult, cancellationToken, async (server, output) =>
        {
            var text = parseResult.GetValue(source)!;
            var remote = text.StartsWith("http://", StringComparison.Ordinal) || text.StartsWith("https://", StringComparison.Ordinal)
                ? null
                : FindRemote(RemoteList.Load(globals.LoadConfiguration(parseResult).Node.DataDirectory), text);
            var (url, image) = remote is null ? SplitSource(text) : (new Uri(remote.Url), text[(remote.Name.Length + 1)..]);
            var pem = parseResult.GetValue(certificate) is { } file
                ? File.Exists(file) ? await File.ReadAllTextAsync(file, cancellationToken) : throw new CommandException($"{file}: no such file")
                : remote?.Certificate ?? string.Empty;
            var names = (parseResult.GetValue(aliases) ?? []).ToList();
            if (parseResult.GetValue(copyAliases) && !LooksLikeFingerprint(image) && !names.Contains(image, StringComparer.Ordinal))
            {
                names.Add(image);
            }

            // --reuse: aliases that exist already are moved once the copy succeeded, so a failed copy leaves them alone.
            var moved = new List<string>();
            if (parseResult.GetValue(reuse))
            {
                foreach (var name in names.ToList())
                {
                    using var existing = await server.Client.GetAsync(AliasUri(name), cancellationToken);
                    if (existing.IsSuccessStatusCode)
                    {
                        names.Remove(name);
                        moved.Add(name);
                    }
                }
            }

            var post = new ImagesPost
            {
                AutoUpdate = parseResult.GetValue(autoUpdate),
                Public = parseResult.GetValue(isPublic),
                Aliases = [.. names.Select(n => new ImageAlias { Name = n })],
                Source = new ImagesPostSource
                {
                    Type = "image",
                    Mode = "pull",
                    Server = url.ToString(),
                    Protocol = Protocol(parseResult.GetValue(protocol), remote),
                    Certificate = pem,
                    Alias = LooksLikeFingerprint(image) ? string.Empty : image,
                    Fingerprint = LooksLikeFingerprint(image) ? image : string.Empty,
                    ImageType = parseResult.GetValue(vm) ? "virtual-machine" : string.Empty,
                },
            };
            var operation = await PostAsync(server, "/1.0/images", JsonSerializer.Serialize(post, IncusJsonContext.Default.ImagesPost), cancellationToken, output);
            var fingerprint = operation.Metadata?["fingerprint"]?.ToString() ?? string.Empty;
            foreach (var name in moved)
            {
                var body = new JsonObject { ["target"] = fingerprint, ["description"] = string.Empty }.ToJsonString();
                using var put = await server.Client.PutAsync(AliasUri(name), new StringContent(body, Encoding.UTF8, "application/json"), cancellationToken);
                await LocalServer.ReadAsync(put, IncusJsonContext.Default.IncusResponseJsonElement, cancellationToken);
            }

            await output.WriteLineAsync("Image copied successfully! Fingerprint: " + fingerprint);
            return ExitCodes.Success;
        }));
        return command;
    }

    /// <summary>Imports the image an https URL names (spec §4).</summary>
    internal static async Task<int> ImportUrlAsync(LocalServer server, TextWriter output, Uri url, IReadOnlyList<string> aliases, bool isPublic, CancellationToken cancellationToken)
    {
        if (url.Scheme != Uri.UriSchemeHttps)
        {
            throw new CommandException("Only https:// URLs are supported for image import");
        }

        var post = new ImagesPost
        {
            Public = isPublic,
            Aliases = [.. aliases.Select(n => new ImageAlias { Name = n })],
            Source = new ImagesPostSource { Type = "url", Mode = "pull", Protocol = "direct", Url = url.ToString() },
        };
        var operation = await PostAsync(server, "/1.0/images", JsonSerializer.Serialize(post, IncusJsonContext.Default.ImagesPost), cancellationToken);
        await output.WriteLineAsync("Image imported with fingerprint: " + operation.Metadata?["fingerprint"]);
        return ExitCodes.Success;
    }

    /// <summary>Builds <c>image refresh &lt;image&gt;...</c>.</summary>
    public static Command Refresh(GlobalOptions globals)
    {
        ArgumentNullException.ThrowIfNull(globals);
        var images = new Argument<string[]>("image") { Description = "Aliases, fingerprints or unique fingerprint prefixes", Arity = ArgumentArity.OneOrMore };
        var command = new Command("refresh", "Refresh images from the servers they were copied from") { images };
        command.SetAction((parseResult, cancellationToken) => ImageCommand.RunAsync(globals, parseResult, cancellationToken, async (server, output) =>
        {
            foreach (var name in parseResult.GetValue(images) ?? [])
            {
                var image = await ImageCommand.ResolveAsync(server, name, cancellationToken);
                var operation = await PostAsync(server, $"/1.0/images/{image.Fingerprint}/refresh", string.Empty, cancellationToken);
                var refreshed = operation.Metadata?["refreshed"]?.ToString() == "true";
                await output.WriteLineAsync(refreshed ? $"Image {name} refreshed successfully!" : $"Image {name} is already up to date.");
            }

            return ExitCodes.Success;
        }));
        return command;
    }

    /// <summary>Splits <c>https://host[:port][/path]:image</c> at the last colon that leaves an absolute http(s) URL on its left.</summary>
    internal static (Uri Server, string Image) SplitSource(string text)
    {
        for (var colon = text.LastIndexOf(':'); colon > 0; colon = text.LastIndexOf(':', colon - 1))
        {
            var left = text[..colon];
            var image = text[(colon + 1)..];
            if (image.Length > 0 && !image.StartsWith("//", StringComparison.Ordinal)
                && Uri.TryCreate(left, UriKind.Absolute, out var url) && (url.Scheme == Uri.UriSchemeHttps || url.Scheme == Uri.UriSchemeHttp))
            {
                return (url, image);
            }
        }

        throw new CommandException($"\"{text}\" is not <server URL>:<alias or fingerprint>");
    }

    /// <summary>The remote <c>&lt;remote&gt;:&lt;image&gt;</c> names; <c>local</c> cannot be a copy source.</summary>
    internal static Remote FindRemote(RemoteList remotes, string text)
    {
        var colon = text.IndexOf(':', StringComparison.Ordinal);
        if (colon <= 0 || colon == text.Length - 1)
        {
            throw new CommandException($"\"{text}\" is not <remote>:<alias or fingerprint> or <server URL>:<alias or fingerprint>");
        }

        var remote = remotes.Get(text[..colon]);
        return remote.Name == RemoteList.Local
            ? throw new CommandException("Remote \"local\" is this store; copy from another remote")
            : remote;
    }

    // The remote's own protocol wins over the default; "imageactors" servers speak the Incus API.
    private static string Protocol(string? option, Remote? remote) =>
        (option ?? remote?.Protocol ?? "incus") switch
        {
            "imageactors" => "incus",
            var p => p,
        };

    private static bool LooksLikeFingerprint(string image) =>
        image.Length is >= 12 and <= 64 && image.All(char.IsAsciiHexDigitLower);

    private static Uri AliasUri(string name) => new("/1.0/images/aliases/" + Uri.EscapeDataString(name), UriKind.Relative);

    private static async Task<Operation> PostAsync(LocalServer server, string path, string json, CancellationToken cancellationToken, TextWriter? output = null)
    {
        using var response = await server.Client.PostAsync(new Uri(path, UriKind.Relative), new StringContent(json, Encoding.UTF8, "application/json"), cancellationToken);
        var operation = await LocalServer.ReadAsync(response, IncusJsonContext.Default.IncusResponseOperation, cancellationToken);
        if (output is not null && TransferProgress.IsInteractive(output) && operation.StatusCode < 200)
        {
            operation = await FollowAsync(server, operation, cancellationToken);
        }

        return await server.WaitAsync(operation, cancellationToken);
    }

    /// <summary>
    /// Waits for a download with a progress bar fed from the operation's <c>download_progress</c>
    /// (<c>"45% (12.34MB/s)"</c>), asking the server to wait at most a second at a time.
    /// </summary>
    private static async Task<Operation> FollowAsync(LocalServer server, Operation operation, CancellationToken cancellationToken)
    {
        await AnsiConsole.Progress()
            .Columns(new TaskDescriptionColumn(), new ProgressBarColumn(), new PercentageColumn())
            .StartAsync(async context =>
            {
                var task = context.AddTask("Copying", maxValue: 100);
                while (operation.StatusCode < 200)
                {
                    operation = await server.GetAsync($"/1.0/operations/{operation.Id}/wait?timeout=1", IncusJsonContext.Default.IncusResponseOperation, cancellationToken);
                    var text = operation.Metadata?["download_progress"]?.ToString() ?? string.Empty;
                    var percent = text.IndexOf('%', StringComparison.Ordinal);
                    if (percent > 0 && double.TryParse(text.AsSpan(0, percent), System.Globalization.NumberStyles.Float, System.Globalization.CultureInfo.InvariantCulture, out var value))
                    {
                        task.Value = value;
                    }
                }

                task.Value = 100;
                task.StopTask();
            });
        return operation;
    }
}
