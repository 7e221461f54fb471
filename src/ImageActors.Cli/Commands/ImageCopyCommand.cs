using System.CommandLine;
using System.Text;
using System.Text.Json;
using ImageActors.Remotes;
using ImageActors.Remotes.Download;
using ImageActors.Remotes.Incus;
using ImageActors.Server.Api;
using Spectre.Console;

namespace ImageActors.Cli.Commands;

/// <summary>
/// <c>image copy</c>, <c>image import &lt;URL&gt;</c> and <c>image refresh</c>: downloads that the server (or the
/// in-process store) runs as <c>POST /1.0/images</c> with a remote source, and <c>POST …/refresh</c>.
/// </summary>
public static class ImageCopyCommand
{
    /// <summary>Builds <c>image copy [&lt;remote&gt;:]&lt;image&gt; [&lt;remote&gt;:] [--mode pull|push|relay]</c>.</summary>
    public static Command Copy(GlobalOptions globals)
    {
        ArgumentNullException.ThrowIfNull(globals);
        var source = new Argument<string>("source") { Description = "[<remote>:]<alias or fingerprint> (a bare name is on the default remote, local: is this store) or <server URL>:<alias or fingerprint>, for example images:debian/12" };
        var target = new Argument<string?>("target") { Description = "<remote>: to copy to (default: the local store)", Arity = ArgumentArity.ZeroOrOne };
        var mode = new Option<string>("--mode") { Description = "pull: the target downloads from the source; push: the source uploads to the target; relay: this command streams from source to target", DefaultValueFactory = _ => "pull" }
            .AcceptOnlyFromAmong("pull", "push", "relay");
        var protocol = new Option<string?>("--protocol") { Description = "Protocol of the source server: incus, lxd or simplestreams (default: the remote's, else incus)" };
        var aliases = new Option<string[]>("--alias") { Description = "Alias for the copied image (repeatable)", Arity = ArgumentArity.ZeroOrMore, AllowMultipleArgumentsPerToken = false };
        var copyAliases = new Option<bool>("--copy-aliases") { Description = "Copy all the source image's aliases" };
        var autoUpdate = new Option<bool>("--auto-update") { Description = "Keep the image up to date from its source (pull mode)" };
        var vm = new Option<bool>("--vm") { Description = "Copy the virtual-machine image of the alias" };
        var isPublic = new Option<bool>("--public") { Description = "Make the image visible to untrusted clients" };
        var reuse = new Option<bool>("--reuse") { Description = "Move aliases that already exist on the target to the copied image" };
        var profiles = new Option<string[]>("--profile", "-p") { Description = "Profile for the copied image (repeatable)", Arity = ArgumentArity.ZeroOrMore, AllowMultipleArgumentsPerToken = false };
        var targetProject = new Option<string?>("--target-project") { Description = "Project on the target" };
        var certificate = new Option<string?>("--certificate") { Description = "PEM file of the source server's certificate to pin" };
        var command = new Command("copy", "Copy an image between image servers: from a remote into the local store, from the local store to a remote, or between remotes")
        {
            source, target, mode, protocol, aliases, copyAliases, autoUpdate, vm, isPublic, reuse, profiles, targetProject, certificate,
        };
        command.SetAction((parseResult, cancellationToken) => ImageCommand.RunAsync(globals, parseResult, cancellationToken, async (server, output) =>
        {
            var configuration = globals.LoadConfiguration(parseResult);
            var data = configuration.Node.DataDirectory;
            var remotes = RemoteList.Load(data);
            var pem = parseResult.GetValue(certificate) is { } file
                ? File.Exists(file) ? await File.ReadAllTextAsync(file, cancellationToken) : throw new CommandException($"{file}: no such file")
                : null;
            var (sourceRemote, image) = ParseSource(remotes, parseResult.GetValue(source)!, parseResult.GetValue(protocol), pem);
            var targetRemote = ParseTarget(remotes, parseResult.GetValue(target));
            var request = new CopyRequest(
                image,
                parseResult.GetValue(mode)!,
                [.. parseResult.GetValue(aliases) ?? []],
                parseResult.GetValue(copyAliases),
                parseResult.GetValue(autoUpdate),
                parseResult.GetValue(vm),
                parseResult.GetValue(isPublic),
                parseResult.GetValue(reuse),
                parseResult.GetValue(profiles) is { Length: > 0 } p ? p : null,
                parseResult.GetValue(targetProject));
            try
            {
                return await CopyAsync(server, data, sourceRemote, targetRemote, request, configuration.Images.RemoteLookupTimeout, output, cancellationToken);
            }
            catch (RemoteException e)
            {
                throw new CommandException(e.Message);
            }
        }));
        return command;
    }

    /// <summary>The source <c>[&lt;remote&gt;:]&lt;image&gt;</c> or <c>&lt;server URL&gt;:&lt;image&gt;</c> names; a bare image is on the default remote.</summary>
    internal static (Remote Remote, string Image) ParseSource(RemoteList remotes, string text, string? protocol, string? certificatePem)
    {
        ArgumentNullException.ThrowIfNull(remotes);
        ArgumentNullException.ThrowIfNull(text);
        Remote remote;
        string image;
        if (text.StartsWith("http://", StringComparison.Ordinal) || text.StartsWith("https://", StringComparison.Ordinal))
        {
            var (url, name) = SplitSource(text);
            remote = new Remote(url.ToString().TrimEnd('/'), url.ToString().TrimEnd('/'), protocol ?? "incus", true, certificatePem ?? string.Empty);
            return (remote, name);
        }

        var colon = text.IndexOf(':', StringComparison.Ordinal);
        if (colon == 0 || colon == text.Length - 1)
        {
            throw new CommandException($"\"{text}\" is not [<remote>:]<alias or fingerprint> or <server URL>:<alias or fingerprint>");
        }

        (remote, image) = colon < 0 ? (remotes.Get(remotes.DefaultRemote), text) : (remotes.Get(text[..colon]), text[(colon + 1)..]);
        if (protocol is not null && remote.Name != RemoteList.Local)
        {
            remote = remote with { Protocol = protocol };
        }

        return (certificatePem is null ? remote : remote with { Certificate = certificatePem }, image);
    }

    /// <summary>The target <c>&lt;remote&gt;:</c>; none is the local store.</summary>
    internal static Remote ParseTarget(RemoteList remotes, string? text)
    {
        ArgumentNullException.ThrowIfNull(remotes);
        if (string.IsNullOrEmpty(text))
        {
            return remotes.Get(RemoteList.Local);
        }

        var name = text.EndsWith(':') ? text[..^1] : text;
        return name.Length == 0 || name.Contains(':', StringComparison.Ordinal)
            ? throw new CommandException($"The target \"{text}\" is not <remote>: (the image keeps its fingerprint; name aliases with --alias)")
            : remotes.Get(name);
    }

    private static async Task<int> CopyAsync(LocalServer server, string data, Remote sourceRemote, Remote targetRemote, CopyRequest request, TimeSpan lookupTimeout, TextWriter output, CancellationToken cancellationToken)
    {
        if (sourceRemote.Name == targetRemote.Name)
        {
            throw sourceRemote.Name == RemoteList.Local
                ? new CommandException("Remote \"local\" is this store and also the copy's target: name another target, as in image copy local:<image> <remote>:")
                : new CommandException($"The source and the target are both remote \"{sourceRemote.Name}\"");
        }

        if (request.AutoUpdate && request.Mode != "pull")
        {
            throw new CommandException("--auto-update is only available in pull mode");
        }

        using var from = sourceRemote.Name == RemoteList.Local ? CopyEndpoint.Local(server, null) : CopyEndpoint.Connect(sourceRemote, data, null);
        using var to = targetRemote.Name == RemoteList.Local ? CopyEndpoint.Local(server, request.TargetProject) : CopyEndpoint.Connect(targetRemote, data, request.TargetProject);
        var target = to.RequireApi("a copy target");

        // Push, relay and --copy-aliases need the image itself: its fingerprint, type, size and aliases.
        Image? image = null;
        if (request.Mode != "pull")
        {
            image = await from.ResolveAsync(request.Image, request.VirtualMachine ? ImageTypes.VirtualMachine : null, "--mode " + request.Mode, lookupTimeout, cancellationToken);
        }
        else if (from.Api is not null)
        {
            try
            {
                image = await from.ResolveAsync(request.Image, request.VirtualMachine ? ImageTypes.VirtualMachine : null, "--mode pull", lookupTimeout, cancellationToken);
            }
            catch (RemoteException) when (!request.CopyAliases)
            {
                // The target's own download reports what is wrong with the source.
            }

        }

        var names = new List<string>();
        if (request.CopyAliases)
        {
            // As Incus does: every alias of the source image, then the ones asked for.
            names.AddRange(image is not null ? image.Aliases.Select(a => a.Name) : LooksLikeFingerprint(request.Image) ? [] : [request.Image]);
        }

        names.AddRange(request.Aliases);
        names = [.. names.Distinct(StringComparer.Ordinal)];

        // --reuse: aliases that exist already are moved once the copy succeeded, so a failed copy leaves them alone.
        var moved = new List<string>();
        if (request.Reuse)
        {
            foreach (var name in names.ToList())
            {
                if (await target.FindAliasAsync(name, cancellationToken) is not null)
                {
                    names.Remove(name);
                    moved.Add(name);
                }
            }
        }

        var fingerprint = request.Mode switch
        {
            "push" => await PushAsync(from, to, image!, names, request, output, cancellationToken),
            "relay" => await RelayAsync(from, to, image!, names, request, output, cancellationToken),
            _ => await PullAsync(from, to, image, names, request, output, cancellationToken),
        };
        foreach (var name in moved)
        {
            await target.UpdateAliasAsync(name, fingerprint, string.Empty, cancellationToken);
        }

        await output.WriteLineAsync("Image copied successfully! Fingerprint: " + fingerprint);
        return ExitCodes.Success;
    }

    // The target downloads from the source (spec §2.9).
    // A private image is pulled as lxc does: the source issues a one-time secret and the target sends it with its requests.
    private static async Task<string> PullAsync(CopyEndpoint from, CopyEndpoint to, Image? image, List<string> names, CopyRequest request, TextWriter output, CancellationToken cancellationToken)
    {
        var (url, certificate) = await from.AddressAsync("pull", cancellationToken);
        var secret = image is { Public: false } ? await SecretForAsync(from, image, request, cancellationToken) : null;
        var byFingerprint = secret is not null || LooksLikeFingerprint(request.Image);
        var name = secret is not null ? image!.Fingerprint : request.Image;
        var post = new ImagesPost
        {
            AutoUpdate = request.AutoUpdate,
            Public = request.Public,
            Profiles = request.Profiles,
            Aliases = [.. names.Select(n => new ImageAlias { Name = n })],
            Source = new ImagesPostSource
            {
                Type = "image",
                Mode = "pull",
                Server = url.ToString(),
                Protocol = from.PullProtocol,
                Certificate = certificate,
                Alias = byFingerprint ? string.Empty : name,
                Fingerprint = byFingerprint ? name : string.Empty,
                Secret = secret ?? string.Empty,
                ImageType = request.VirtualMachine ? ImageTypes.VirtualMachine : string.Empty,
            },
        };
        var target = to.Api!;
        var operation = await target.CreateImageAsync(post, cancellationToken);
        await AnnounceJoinAsync(operation, output);
        var done = await FollowAsync(target, operation, output, "download_progress", cancellationToken);
        return done.Metadata?["fingerprint"]?.ToString() ?? string.Empty;
    }

    private static async Task<string> SecretForAsync(CopyEndpoint from, Image image, CopyRequest request, CancellationToken cancellationToken)
    {
        try
        {
            return await from.Api!.CreateImageSecretAsync(image.Fingerprint, cancellationToken);
        }
        catch (RemoteErrorResponseException e) when (e.StatusCode is 403 or 404)
        {
            // Without a secret the target downloads as an untrusted client and would not see it.
            throw new CommandException($"Image \"{request.Image}\" is private on {from.Describe()} and it gave no secret for it ({e.Message}): copy it with --mode push or --mode relay");
        }
    }

    // The source uploads to the target with the secret of a push token the target issued.
    private static async Task<string> PushAsync(CopyEndpoint from, CopyEndpoint to, Image image, List<string> names, CopyRequest request, TextWriter output, CancellationToken cancellationToken)
    {
        var source = from.RequireApi("--mode push");
        var target = to.Api!;
        var token = await target.CreateImageAsync(
            new ImagesPost
            {
                // As Incus sends them: an Incus or LXD target takes the image's properties and expiry from the token.
                Public = request.Public,
                Profiles = request.Profiles,
                Properties = image.Properties,
                ExpiresAt = image.ExpiresAt,
                Aliases = [.. names.Select(n => new ImageAlias { Name = n })],
                Source = new ImagesPostSource { Mode = "push", Fingerprint = image.Fingerprint },
            },
            cancellationToken);
        try
        {
            var secret = token.Metadata?["secret"]?.ToString() ?? throw new CommandException($"{to.Describe()} issued no push secret");
            var (url, certificate) = await to.AddressAsync("push", cancellationToken);
            var export = await source.ExportImageAsync(
                image.Fingerprint,
                new ImageExportPost
                {
                    Target = url.ToString(),
                    Secret = secret,
                    Certificate = certificate,
                    Project = request.TargetProject ?? string.Empty,
                    Profiles = request.Profiles,
                    Aliases = [.. names.Select(n => new ImageAlias { Name = n })],
                },
                cancellationToken);
            await FollowAsync(source, export, output, "upload_progress", cancellationToken);
        }
        finally
        {
            await target.CancelOperationAsync(token.Id, CancellationToken.None);
        }

        return image.Fingerprint;
    }

    // This command streams the source's export into an upload to the target, verifying the fingerprint on the way.
    private static async Task<string> RelayAsync(CopyEndpoint from, CopyEndpoint to, Image image, List<string> names, CopyRequest request, TextWriter output, CancellationToken cancellationToken)
    {
        var source = from.RequireApi("--mode relay");
        var target = to.Api!;
        using var response = await source.OpenExportAsync(image.Fingerprint, null, cancellationToken);
        var body = await response.Content.ReadAsStreamAsync(cancellationToken);
        var boundary = MultipartReader.BoundaryOf(response.Content.Headers.ContentType);
        using var reader = boundary is null ? null : new MultipartReader(body, boundary);
        ImageUploadContent content;
        if (reader is null)
        {
            content = ImageUploadContent.Unified(_ => ValueTask.FromResult(body));
        }
        else
        {
            var metadata = await reader.ReadNextSectionAsync(cancellationToken);
            if (metadata?.Name != "metadata")
            {
                throw new CommandException($"The split export of {image.Fingerprint} from {from.Describe()} does not start with a metadata part");
            }

            content = ImageUploadContent.Split(
                _ => ValueTask.FromResult(metadata.Body),
                metadata.FileName ?? "metadata",
                async ct => (await reader.ReadNextSectionAsync(ct))?.Body ?? throw new InvalidDataException($"The split export of {image.Fingerprint} has no rootfs part"),
                image.Fingerprint,
                image.Type == ImageTypes.VirtualMachine);
        }

        content.ExpectedFingerprint = image.Fingerprint;
        content.Source = response.RequestMessage?.RequestUri;
        var headers = new ImageUploadHeaders
        {
            Fingerprint = image.Fingerprint,
            Filename = image.Filename,
            Public = request.Public,
            Profiles = request.Profiles,
        };
        var done = await TransferProgress.RunAsync(output, "Copying", image.Size, async progress =>
        {
            long reported = 0;
            content.Progress = new Progress(sent =>
            {
                progress(sent - reported);
                reported = sent;
            });
            var uploaded = await target.UploadImageAsync(content, headers, cancellationToken);
            return uploaded.StatusCode >= OperationStatus.Success ? uploaded : await target.WaitOperationAsync(uploaded.Id, -1, null, cancellationToken);
        }, operation => operation.StatusCode == OperationStatus.Success);
        if (done.StatusCode != OperationStatus.Success)
        {
            throw new CommandException(string.IsNullOrEmpty(done.Err) ? done.Status : done.Err);
        }

        // As Incus does after a relay: the aliases are made once the image exists.
        foreach (var name in names)
        {
            await target.CreateAliasAsync(name, image.Fingerprint, string.Empty, cancellationToken);
        }

        return image.Fingerprint;
    }

    /// <summary>
    /// Waits for an operation, with a progress bar fed from its <paramref name="progressKey"/> (<c>"45% (12.34MB/s)"</c>)
    /// on a terminal, asking the server to wait at most a second at a time; throws with its error when it failed.
    /// </summary>
    private static async Task<Operation> FollowAsync(IncusApiClient api, Operation operation, TextWriter output, string progressKey, CancellationToken cancellationToken)
    {
        if (operation.StatusCode < OperationStatus.Success && TransferProgress.IsInteractive(output))
        {
            await AnsiConsole.Progress()
                .Columns(new TaskDescriptionColumn(), new ProgressBarColumn(), new PercentageColumn())
                .StartAsync(async context =>
                {
                    var task = context.AddTask("Copying", maxValue: 100);
                    while (operation.StatusCode < OperationStatus.Success)
                    {
                        operation = await api.WaitOperationAsync(operation.Id, 1, null, cancellationToken);
                        var text = operation.Metadata?[progressKey]?.ToString() ?? string.Empty;
                        var percent = text.IndexOf('%', StringComparison.Ordinal);
                        if (percent > 0 && double.TryParse(text.AsSpan(0, percent), System.Globalization.NumberStyles.Float, System.Globalization.CultureInfo.InvariantCulture, out var value))
                        {
                            task.Value = value;
                        }
                    }

                    // A failed transfer stops where it got to: only a finished one fills the bar.
                    if (operation.StatusCode == OperationStatus.Success)
                    {
                        task.Value = 100;
                    }
                    else
                    {
                        TransferProgress.Fail(task);
                    }

                    task.StopTask();
                });
        }
        else if (operation.StatusCode < OperationStatus.Success)
        {
            operation = await api.WaitOperationAsync(operation.Id, -1, null, cancellationToken);
        }

        return operation.StatusCode == OperationStatus.Success
            ? operation
            : throw new CommandException(string.IsNullOrEmpty(operation.Err) ? operation.Status : operation.Err);
    }

    /// <summary>Imports the image an https URL names (spec §4).</summary>
    internal static async Task<int> ImportUrlAsync(LocalServer server, TextWriter output, Uri url, IReadOnlyList<string> aliases, bool isPublic, CancellationToken cancellationToken, string? certificatePem = null)
    {
        if (url.Scheme != Uri.UriSchemeHttps)
        {
            throw new CommandException("Only https:// URLs are supported for image import");
        }

        var post = new ImagesPost
        {
            Public = isPublic,
            Aliases = [.. aliases.Select(n => new ImageAlias { Name = n })],
            Source = new ImagesPostSource { Type = "url", Mode = "pull", Protocol = "direct", Url = url.ToString(), Certificate = certificatePem ?? string.Empty },
        };
        var operation = await PostAsync(server, "/1.0/images", JsonSerializer.Serialize(post, IncusJsonContext.Default.ImagesPost), cancellationToken, output, progress: false);
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

    private static bool LooksLikeFingerprint(string image) =>
        image.Length is >= 12 and <= 64 && image.All(char.IsAsciiHexDigitLower);

    private static async Task<Operation> PostAsync(LocalServer server, string path, string json, CancellationToken cancellationToken, TextWriter? output = null, bool progress = true)
    {
        using var response = await server.Client.PostAsync(new Uri(path, UriKind.Relative), new StringContent(json, Encoding.UTF8, "application/json"), cancellationToken);
        var operation = await LocalServer.ReadAsync(response, IncusJsonContext.Default.IncusResponseOperation, cancellationToken);
        if (output is not null)
        {
            await AnnounceJoinAsync(operation, output);
        }

        if (progress && output is not null && TransferProgress.IsInteractive(output) && operation.StatusCode < OperationStatus.Success)
        {
            using var api = new IncusApiClient(server.Client, server.Client.BaseAddress!, null, ownsClient: false);
            operation = await FollowAsync(api, operation, output, "download_progress", cancellationToken);
        }

        return await server.WaitAsync(operation, cancellationToken);
    }

    /// <summary>Says so when the server joined the request to the same download already under way (started by an earlier, interrupted run).</summary>
    private static async Task AnnounceJoinAsync(Operation operation, TextWriter output)
    {
        if (operation.StatusCode < OperationStatus.Success && operation.Metadata?[ImageCopies.JoinedKey]?.ToString() is { Length: > 0 } running)
        {
            await output.WriteLineAsync($"Joining the download of the same image already under way on the server ({running})");
        }
    }

    /// <summary>What <c>image copy</c> was asked to do.</summary>
    private sealed record CopyRequest(
        string Image,
        string Mode,
        IReadOnlyList<string> Aliases,
        bool CopyAliases,
        bool AutoUpdate,
        bool VirtualMachine,
        bool Public,
        bool Reuse,
        IReadOnlyList<string>? Profiles,
        string? TargetProject);

    /// <summary>An <see cref="IProgress{T}"/> that calls back on the reporting thread (no synchronization context hop).</summary>
    private sealed class Progress(Action<long> report) : IProgress<long>
    {
        public void Report(long value) => report(value);
    }
}
