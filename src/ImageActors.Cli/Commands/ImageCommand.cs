using System.CommandLine;
using System.Globalization;
using System.Net;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json;
using ImageActors.Images.Configuration;
using ImageActors.Images.Hosting;
using ImageActors.Persistence;
using ImageActors.Remotes.Incus;
using ImageActors.Server.Api;
using ImageActors.Server.Configuration;
using Microsoft.AspNetCore.WebUtilities;
using Spectre.Console;
using YamlDotNet.Serialization;

namespace ImageActors.Cli.Commands;

/// <summary>
/// <c>imageactors image ...</c>, mirroring <c>incus image</c> on the local store: import, export,
/// list, info, delete, property get/set/unset, and aliases.
/// </summary>
public static class ImageCommand
{
    /// <summary>Builds the <c>image</c> group.</summary>
    public static Command Create(GlobalOptions globals)
    {
        ArgumentNullException.ThrowIfNull(globals);
        var image = new Command("image", "Manage the images of the local store (through the running server's unix socket, or directly)");
        image.Subcommands.Add(Import(globals));
        image.Subcommands.Add(ImageCopyCommand.Copy(globals));
        image.Subcommands.Add(ImageCopyCommand.Refresh(globals));
        image.Subcommands.Add(Export(globals));
        image.Subcommands.Add(List(globals));
        image.Subcommands.Add(Info(globals));
        image.Subcommands.Add(Delete(globals));
        image.Subcommands.Add(Edit(globals));
        image.Subcommands.Add(GetProperty(globals));
        image.Subcommands.Add(SetProperty(globals));
        image.Subcommands.Add(UnsetProperty(globals));
        image.Subcommands.Add(ImageAliasCommand.Create(globals));
        return image;
    }

    /// <summary>Runs <paramref name="action"/> against the local server; user errors print one line and exit 1.</summary>
    internal static Task<int> RunAsync(GlobalOptions globals, ParseResult parseResult, CancellationToken cancellationToken, Func<LocalServer, TextWriter, Task<int>> action) =>
        globals.WithConfigurationAsync(parseResult, async configuration =>
        {
            var error = parseResult.InvocationConfiguration.Error;
            LocalServer? server = null;
            try
            {
                try
                {
                    server = await LocalServer.ConnectAsync(configuration, parseResult.GetValue(globals.Debug), cancellationToken);
                }
                catch (DataDirectoryInUseException e)
                {
                    await error.WriteLineAsync($"Error: {e.Message}, or run it as imageactors serve so that commands use it through its unix socket");
                    return ExitCodes.Failure;
                }
                catch (JournalUnavailableException e)
                {
                    await error.WriteLineAsync("Error: " + e.Message);
                    return ExitCodes.Failure;
                }
                catch (IOException e)
                {
                    await error.WriteLineAsync($"Error: {e.Message.TrimEnd('.')}; if another imageactors process owns the data directory, run the command while its server is up (it is then used through the unix socket)");
                    return ExitCodes.Failure;
                }

                // Any other I/O failure (a connection cut mid-answer, a file that went away) is the top level's to describe.
                if (server.Shared)
                {
                    CarrySettings(server, parseResult.GetValue(globals.Set) ?? []);
                }

                return await action(server, parseResult.InvocationConfiguration.Output);
            }
            catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
            {
                // Ctrl-C: say what became of the work (before closing a store opened here, which may take a moment).
                await error.WriteLineAsync(server is { Shared: true }
                    ? $"Interrupted: the server on {server.Address} goes on with what the command asked for; run the command again to wait for it (a download still under way is joined, not started again)"
                    : "Interrupted: the command stopped before it finished; run it again to complete it (what a download had fetched is kept and resumed)");
                return ExitCodes.Interrupted;
            }
            catch (CommandException e)
            {
                await error.WriteLineAsync("Error: " + e.Message);
                return ExitCodes.Failure;
            }
            finally
            {
                if (server is not null)
                {
                    await server.DisposeAsync();
                }
            }
        });

    /// <summary>
    /// A running server was configured when it started: of the <c>--set</c> overrides, those a request can carry
    /// (<see cref="RequestSettings.Keys"/>) go with every request, the ones that only find the server are used here,
    /// and any other is refused rather than silently ignored.
    /// </summary>
    /// <exception cref="CommandException">An override cannot reach the running server.</exception>
    internal static void CarrySettings(LocalServer server, IReadOnlyList<string> overrides)
    {
        ArgumentNullException.ThrowIfNull(server);
        ArgumentNullException.ThrowIfNull(overrides);
        foreach (var entry in overrides)
        {
            var equals = entry.IndexOf('=', StringComparison.Ordinal);
            var key = entry[..equals].Trim();
            if (RequestSettings.Carries(key))
            {
                server.Client.DefaultRequestHeaders.Add(RequestSettings.Header, key + "=" + entry[(equals + 1)..].Trim());
            }
            else if (key != NodeOptions.Keys.DataDirectory.Path && key != ServerOptions.Keys.UnixSocket.Path)
            {
                throw new CommandException(
                    $"--set {entry} cannot apply: this command runs through the server already running on {server.Address}, which read its configuration when it started. "
                    + $"Set it in that server's configuration and restart it, or stop the server; per command only {string.Join(", ", RequestSettings.Keys)} can be set");
            }
        }
    }

    /// <summary>The image named by an alias, or by a fingerprint or unique prefix (aliases first, as lxc does).</summary>
    internal static async Task<Image> ResolveAsync(LocalServer server, string name, CancellationToken cancellationToken)
    {
        using var alias = await server.Client.GetAsync(new Uri("/1.0/images/aliases/" + Uri.EscapeDataString(name), UriKind.Relative), cancellationToken);
        var target = alias.IsSuccessStatusCode
            ? (await LocalServer.ReadAsync(alias, IncusJsonContext.Default.IncusResponseImageAliasesEntry, cancellationToken)).Target
            : name;
        return await server.GetAsync("/1.0/images/" + Uri.EscapeDataString(target), IncusJsonContext.Default.IncusResponseImage, cancellationToken);
    }

    private static Command Import(GlobalOptions globals)
    {
        var file = new Argument<string>("file") { Description = "Unified image tarball, the metadata tarball of a split image, or an https URL that names an image" };
        var rootfs = new Argument<string?>("rootfs") { Description = "Rootfs of a split image (squashfs, qcow2 or tarball)", Arity = ArgumentArity.ZeroOrOne };
        var properties = new Argument<string[]>("properties") { Description = "key=value properties", Arity = ArgumentArity.ZeroOrMore };
        var aliases = new Option<string[]>("--alias") { Description = "Alias for the new image (repeatable)", Arity = ArgumentArity.ZeroOrMore, AllowMultipleArgumentsPerToken = false };
        var isPublic = new Option<bool>("--public") { Description = "Make the image visible to untrusted clients" };
        var certificate = new Option<string?>("--certificate") { Description = "PEM file of the certificate to pin for an https URL's server" };
        var command = new Command("import", "Import an image file (unified) or a metadata + rootfs pair (split)") { file, rootfs, properties, aliases, isPublic, certificate };
        command.SetAction((parseResult, cancellationToken) => RunAsync(globals, parseResult, cancellationToken, async (server, output) =>
        {
            // A key=value in the rootfs position is a property (incus image import f.tar.xz os=x works too).
            var rootfsPath = parseResult.GetValue(rootfs);
            var props = (parseResult.GetValue(properties) ?? []).ToList();
            if (rootfsPath is not null && rootfsPath.Contains('=', StringComparison.Ordinal) && !File.Exists(rootfsPath))
            {
                props.Insert(0, rootfsPath);
                rootfsPath = null;
            }

            var path = parseResult.GetValue(file)!;
            if (rootfsPath is null && props.Count == 0 && !File.Exists(path) && Uri.TryCreate(path, UriKind.Absolute, out var url) && url.Scheme.StartsWith("http", StringComparison.Ordinal))
            {
                var pem = parseResult.GetValue(certificate) is { } pemFile
                    ? File.Exists(pemFile) ? await File.ReadAllTextAsync(pemFile, cancellationToken) : throw new CommandException($"{pemFile}: no such file")
                    : null;
                return await ImageCopyCommand.ImportUrlAsync(server, output, url, parseResult.GetValue(aliases) ?? [], parseResult.GetValue(isPublic), cancellationToken, pem);
            }

            foreach (var p in new[] { path, rootfsPath }.OfType<string>())
            {
                if (!File.Exists(p))
                {
                    throw new CommandException($"{p}: no such file");
                }
            }

            var total = new[] { path, rootfsPath }.OfType<string>().Sum(p => new FileInfo(p).Length);
            var error = parseResult.InvocationConfiguration.Error;
            var fingerprint = await TransferProgress.RunAsync(output, "Uploading", total, progress => UploadAsync(server, path, rootfsPath, props, parseResult.GetValue(aliases) ?? [], parseResult.GetValue(isPublic), progress, error, cancellationToken));

            // Written after the bar has finished, so the terminal shows the result below it rather than inside it.
            await output.WriteLineAsync("Image imported with fingerprint: " + fingerprint);
            return ExitCodes.Success;
        }));
        return command;
    }

    // Bytes per read of the file and write to the socket of an upload: few syscalls per GB (the default is 80 KiB).
    private const int UploadBufferSize = 1 << 20;

    // A server with every upload slot taken answers 503 with Retry-After: the files are read again from the start, so
    // the command waits as asked and sends the image again, this many times at most.
    private const int BusyAttempts = 10;

    private static async Task<string?> UploadAsync(LocalServer server, string path, string? rootfsPath, List<string> props, string[] aliasNames, bool isPublic, Action<long> progress, TextWriter error, CancellationToken cancellationToken)
    {
        for (var attempt = 1; ; attempt++)
        {
            long sent = 0;
            using var request = new HttpRequestMessage(HttpMethod.Post, "/1.0/images");
            var streams = new List<Stream>();
            try
            {
                void Counted(long bytes)
                {
                    sent += bytes;
                    progress(bytes);
                }

                if (rootfsPath is null)
                {
                    var body = new ProgressStream(File.OpenRead(path), Counted);
                    streams.Add(body);
                    request.Content = new StreamContent(body, UploadBufferSize);
                    request.Content.Headers.ContentType = new MediaTypeHeaderValue("application/octet-stream");
                    request.Content.Headers.Add("X-Incus-filename", Path.GetFileName(path));
                }
                else
                {
                    var metadata = new ProgressStream(File.OpenRead(path), Counted);
                    var root = new ProgressStream(File.OpenRead(rootfsPath), Counted);
                    streams.Add(metadata);
                    streams.Add(root);
                    var form = new MultipartFormDataContent
                    {
                        { new StreamContent(metadata, UploadBufferSize), "metadata", Path.GetFileName(path) },
                        { new StreamContent(root, UploadBufferSize), IsQcow2(rootfsPath) ? "rootfs.img" : "rootfs", Path.GetFileName(rootfsPath) },
                    };
                    request.Content = form;
                }

                if (isPublic)
                {
                    request.Content.Headers.Add("X-Incus-public", "true");
                }

                if (props.Count > 0)
                {
                    request.Content.Headers.Add("X-Incus-properties", string.Join('&', props.Select(Property)));
                }

                if (aliasNames.Length > 0)
                {
                    request.Content.Headers.Add("X-Incus-aliases", string.Join('&', aliasNames.Select(a => "alias=" + Uri.EscapeDataString(a))));
                }

                using var response = await server.Client.SendAsync(request, cancellationToken);
                if (response.StatusCode == HttpStatusCode.ServiceUnavailable && attempt < BusyAttempts && BusyWait(response) is { } wait)
                {
                    string reason;
                    try
                    {
                        await LocalServer.ReadAsync(response, IncusJsonContext.Default.IncusResponseJsonElement, cancellationToken);
                        reason = "busy";
                    }
                    catch (CommandException busy)
                    {
                        reason = busy.Message.TrimEnd('.');
                    }

                    progress(-sent);
                    await error.WriteLineAsync(string.Create(CultureInfo.InvariantCulture, $"The server is busy ({reason}); sending the image again in {wait.TotalSeconds:0.#} s (attempt {attempt + 1} of {BusyAttempts})"));
                    await Task.Delay(wait, cancellationToken);
                    continue;
                }

                var operation = await server.WaitAsync(await LocalServer.ReadAsync(response, IncusJsonContext.Default.IncusResponseOperation, cancellationToken), cancellationToken);
                return operation.Metadata?["fingerprint"]?.ToString();
            }
            finally
            {
                foreach (var stream in streams)
                {
                    await stream.DisposeAsync();
                }
            }
        }
    }

    // The wait a 503 asks for (Retry-After, seconds or a date), within 1 s to 1 min; null when it asks for none.
    private static TimeSpan? BusyWait(HttpResponseMessage response)
    {
        var asked = response.Headers.RetryAfter switch
        {
            { Delta: { } delta } => delta,
            { Date: { } date } => date - DateTimeOffset.UtcNow,
            _ => (TimeSpan?)null,
        };
        return asked is { } wait ? TimeSpan.FromTicks(Math.Clamp(wait.Ticks, TimeSpan.TicksPerSecond, TimeSpan.TicksPerMinute)) : null;
    }

    private static Command Export(GlobalOptions globals)
    {
        var name = new Argument<string>("image") { Description = "Alias, fingerprint or unique fingerprint prefix" };
        var target = new Argument<string?>("target") { Description = "Directory to write into (default: the current one)", Arity = ArgumentArity.ZeroOrOne };
        var command = new Command("export", "Export an image's files under the server's names (<fp>.tar.xz, or meta-<fp>.tar.xz + <fp>.squashfs)") { name, target };
        command.SetAction((parseResult, cancellationToken) => RunAsync(globals, parseResult, cancellationToken, async (server, output) =>
        {
            var image = await ResolveAsync(server, parseResult.GetValue(name)!, cancellationToken);
            var directory = parseResult.GetValue(target) ?? Directory.GetCurrentDirectory();
            Directory.CreateDirectory(directory);
            using var response = await server.Client.GetAsync(new Uri($"/1.0/images/{image.Fingerprint}/export", UriKind.Relative), HttpCompletionOption.ResponseHeadersRead, cancellationToken);
            if (!response.IsSuccessStatusCode)
            {
                await LocalServer.ReadAsync(response, IncusJsonContext.Default.IncusResponseJsonElement, cancellationToken);
            }

            var written = await TransferProgress.RunAsync(output, "Downloading", response.Content.Headers.ContentLength, progress => DownloadAsync(response, image, directory, progress, cancellationToken));
            foreach (var path in written)
            {
                await output.WriteLineAsync("Image exported to: " + path);
            }

            return ExitCodes.Success;
        }));
        return command;
    }

    private static async Task<List<string>> DownloadAsync(HttpResponseMessage response, Image image, string directory, Action<long> progress, CancellationToken cancellationToken)
    {
        var written = new List<string>();
        var body = new ProgressStream(await response.Content.ReadAsStreamAsync(cancellationToken), progress);
        var contentType = response.Content.Headers.ContentType;
        if (contentType?.MediaType == "multipart/form-data")
        {
            var boundary = contentType.Parameters.Single(p => p.Name == "boundary").Value!.Trim('"');
            var reader = new MultipartReader(boundary, body) { BodyLengthLimit = null };
            while (await reader.ReadNextSectionAsync(cancellationToken) is { } section)
            {
                var fileName = Microsoft.Net.Http.Headers.ContentDispositionHeaderValue.Parse(section.ContentDisposition).FileName.ToString().Trim('"');
                written.Add(await WriteAsync(directory, fileName, section.Body, cancellationToken));
            }
        }
        else
        {
            var fileName = response.Content.Headers.ContentDisposition?.FileName?.Trim('"') ?? image.Fingerprint;
            written.Add(await WriteAsync(directory, fileName, body, cancellationToken));
        }

        return written;
    }

    private static Command List(GlobalOptions globals)
    {
        var format = new Option<string>("--format", "-f")
        {
            Description = "Format (csv|json|table|yaml|compact), use suffix \",noheader\" to disable headers and \",header\" to enable it if missing, e.g. csv,header",
            DefaultValueFactory = _ => "table",
        };
        var columns = new Option<string>("--columns", "-c") { Description = "Columns, as incus image list names them: l, L, f, F, p, d, e, a, s, u, t", DefaultValueFactory = _ => ImageListColumns.Default };
        var filters = new Argument<string[]>("filters") { Description = "key=value property filters, or words matching a fingerprint or alias", Arity = ArgumentArity.ZeroOrMore };
        var command = new Command("list", "List images") { format, columns, filters };
        command.Aliases.Add("ls");
        command.SetAction((parseResult, cancellationToken) => RunAsync(globals, parseResult, cancellationToken, async (server, output) =>
        {
            var (kind, header) = ImageListColumns.ParseFormat(parseResult.GetValue(format)!);
            var shown = ImageListColumns.Parse(parseResult.GetValue(columns)!);
            var words = parseResult.GetValue(filters) ?? [];
            var images = (await ListAsync(server, cancellationToken))
                .Where(i => words.All(w => Matches(i, w)))
                .OrderBy(i => i.Aliases.Count == 0 ? "~" : i.Aliases[0].Name, StringComparer.Ordinal)
                .ThenBy(i => i.Fingerprint, StringComparer.Ordinal)
                .ToList();
            switch (kind)
            {
                case "json":
                    await output.WriteLineAsync(JsonSerializer.Serialize(images, IncusJsonContext.Default.IReadOnlyListImage));
                    break;
                case "yaml":
                    {
                        // One row at a time gives the same text as the whole list at once, without holding it all.
                        var yaml = new SerializerBuilder().Build();
                        var text = new StringBuilder(images.Count == 0 ? yaml.Serialize(Array.Empty<object>()) : string.Empty, 64 * 1024);
                        foreach (var image in images)
                        {
                            // As incus: the image objects themselves, under their API field names.
                            text.Append(yaml.Serialize(new[] { ImageListColumns.Plain(JsonSerializer.SerializeToElement(image, IncusJsonContext.Default.Image)) }));
                            await FlushIfFullAsync(output, text, cancellationToken);
                        }

                        await output.WriteAsync(text, cancellationToken);
                        break;
                    }

                case "csv":
                    {
                        var text = new StringBuilder(64 * 1024);
                        if (header == true)
                        {
                            text.AppendJoin(',', shown.Select(c => c.Header)).Append('\n');
                        }

                        foreach (var image in images)
                        {
                            text.AppendJoin(',', shown.Select(c => Csv(c.Value(image)))).Append('\n');
                            await FlushIfFullAsync(output, text, cancellationToken);
                        }

                        await output.WriteAsync(text, cancellationToken);
                        break;
                    }

                default:
                    await ImageListColumns.WriteTableAsync(
                        output,
                        header == false ? null : [.. shown.Select(c => c.Header)],
                        [.. images.Select(i => (IReadOnlyList<string>)[.. shown.Select(c => c.Value(i))])],
                        compact: kind == "compact");
                    break;
            }

            return ExitCodes.Success;
        }));
        return command;
    }

    /// <summary>The image objects, parsed from the response as it arrives (no copy of the whole body as text).</summary>
    private static async Task<IReadOnlyList<Image>> ListAsync(LocalServer server, CancellationToken cancellationToken)
    {
        using var response = await server.Client.GetAsync(new Uri("/1.0/images?recursion=1", UriKind.Relative), HttpCompletionOption.ResponseHeadersRead, cancellationToken);
        if (!response.IsSuccessStatusCode)
        {
            return await LocalServer.ReadAsync(response, IncusJsonContext.Default.IncusResponseIReadOnlyListImage, cancellationToken);
        }

        await using var body = await response.Content.ReadAsStreamAsync(cancellationToken);
        var envelope = await JsonSerializer.DeserializeAsync(body, IncusJsonContext.Default.IncusResponseIReadOnlyListImage, cancellationToken)
            ?? throw new CommandException("The server sent an empty answer");
        return envelope.Metadata ?? [];
    }

    private static async Task FlushIfFullAsync(TextWriter output, StringBuilder text, CancellationToken cancellationToken)
    {
        if (text.Length >= 60 * 1024)
        {
            await output.WriteAsync(text, cancellationToken);
            text.Clear();
        }
    }

    private static Command Info(GlobalOptions globals)
    {
        var name = new Argument<string>("image") { Description = "Alias, fingerprint or unique fingerprint prefix" };
        var command = new Command("info", "Show an image") { name };
        command.SetAction((parseResult, cancellationToken) => RunAsync(globals, parseResult, cancellationToken, async (server, output) =>
        {
            var image = await ResolveAsync(server, parseResult.GetValue(name)!, cancellationToken);
            var text = new StringBuilder()
                .AppendLine(CultureInfo.InvariantCulture, $"Fingerprint: {image.Fingerprint}")
                .AppendLine(CultureInfo.InvariantCulture, $"Size: {Size(image.Size)}")
                .AppendLine(CultureInfo.InvariantCulture, $"Architecture: {image.Architecture}")
                .AppendLine(CultureInfo.InvariantCulture, $"Type: {image.Type}")
                .AppendLine(CultureInfo.InvariantCulture, $"Public: {(image.Public ? "yes" : "no")}")
                .AppendLine("Timestamps:")
                .AppendLine(CultureInfo.InvariantCulture, $"    Created: {Time(image.CreatedAt)}")
                .AppendLine(CultureInfo.InvariantCulture, $"    Uploaded: {Time(image.UploadedAt)}")
                .AppendLine(CultureInfo.InvariantCulture, $"    Expires: {(image.ExpiresAt.Year <= 1970 ? "never" : Time(image.ExpiresAt))}")
                .AppendLine(CultureInfo.InvariantCulture, $"    Last used: {(image.LastUsedAt.Year <= 1970 ? "never" : Time(image.LastUsedAt))}")
                .AppendLine("Properties:");
            foreach (var (key, value) in image.Properties.OrderBy(p => p.Key, StringComparer.Ordinal))
            {
                text.AppendLine(CultureInfo.InvariantCulture, $"    {key}: {value}");
            }

            text.AppendLine("Aliases:");
            foreach (var alias in image.Aliases)
            {
                text.AppendLine(CultureInfo.InvariantCulture, $"    - {alias.Name}");
            }

            text.AppendLine(CultureInfo.InvariantCulture, $"Cached: {(image.Cached ? "yes" : "no")}")
                .AppendLine(CultureInfo.InvariantCulture, $"Auto update: {(image.AutoUpdate ? "enabled" : "disabled")}");
            if (image.UpdateSource is { } source)
            {
                // incus prints where an image copied from a remote came from, between Auto update and Profiles.
                text.AppendLine("Source:")
                    .AppendLine(CultureInfo.InvariantCulture, $"    Server: {source.Server}")
                    .AppendLine(CultureInfo.InvariantCulture, $"    Protocol: {source.Protocol}")
                    .AppendLine(CultureInfo.InvariantCulture, $"    Alias: {source.Alias}");
            }

            text.AppendLine("Profiles:");
            foreach (var profile in image.Profiles)
            {
                text.AppendLine(CultureInfo.InvariantCulture, $"    - {profile}");
            }

            // The lines above are incus' own, in its order; what the cache rules say of a cached image follows them.
            if (image.Retention is { Cached: true } retention)
            {
                AppendRetention(text, retention);
            }

            await output.WriteAsync(text.ToString());
            return ExitCodes.Success;
        }));
        return command;
    }

    private static Command Delete(GlobalOptions globals)
    {
        var names = new Argument<string[]>("images") { Description = "Aliases or fingerprints", Arity = ArgumentArity.OneOrMore };
        var command = new Command("delete", "Delete images") { names };
        command.Aliases.Add("rm");
        command.SetAction((parseResult, cancellationToken) => RunAsync(globals, parseResult, cancellationToken, async (server, _) =>
        {
            foreach (var name in parseResult.GetValue(names)!)
            {
                var image = await ResolveAsync(server, name, cancellationToken);
                using var response = await server.Client.DeleteAsync(new Uri("/1.0/images/" + image.Fingerprint, UriKind.Relative), cancellationToken);
                await server.WaitAsync(await LocalServer.ReadAsync(response, IncusJsonContext.Default.IncusResponseOperation, cancellationToken), cancellationToken);
            }

            return ExitCodes.Success;
        }));
        return command;
    }

    private static Command Edit(GlobalOptions globals)
    {
        var name = new Argument<string>("image");
        var command = new Command("edit", "Edit an image's writable fields as YAML: from stdin when it is redirected, else in $EDITOR") { name };
        command.SetAction((parseResult, cancellationToken) => RunAsync(globals, parseResult, cancellationToken, async (server, _) =>
        {
            var image = await ResolveAsync(server, parseResult.GetValue(name)!, cancellationToken);
            using var current = await server.Client.GetAsync(new Uri("/1.0/images/" + image.Fingerprint, UriKind.Relative), cancellationToken);
            var etag = current.Headers.ETag?.Tag;
            string yaml;
            if (System.Console.IsInputRedirected)
            {
                yaml = await System.Console.In.ReadToEndAsync(cancellationToken);
            }
            else
            {
                var editor = globals.Host.Environment("VISUAL") ?? globals.Host.Environment("EDITOR") ?? "vi";
                var file = Path.Combine(Path.GetTempPath(), $"imageactors-{image.Fingerprint[..12]}.yaml");
                var editable = new SortedDictionary<string, object>(StringComparer.Ordinal)
                {
                    ["auto_update"] = image.AutoUpdate,
                    ["public"] = image.Public,
                    ["properties"] = new SortedDictionary<string, string>(image.Properties.ToDictionary(p => p.Key, p => p.Value), StringComparer.Ordinal),
                    ["profiles"] = image.Profiles.ToList(),
                };
                await File.WriteAllTextAsync(file, "### Edit the writable fields of the image, save and quit.\n" + new SerializerBuilder().Build().Serialize(editable), cancellationToken);
                using (var process = System.Diagnostics.Process.Start(new System.Diagnostics.ProcessStartInfo(editor, file) { UseShellExecute = false }))
                {
                    await process!.WaitForExitAsync(cancellationToken);
                    if (process.ExitCode != 0)
                    {
                        throw new CommandException($"{editor} exited with {process.ExitCode}; nothing changed");
                    }
                }

                yaml = await File.ReadAllTextAsync(file, cancellationToken);
                File.Delete(file);
            }

            var fields = new DeserializerBuilder().Build().Deserialize<Dictionary<string, object?>>(yaml) ?? [];
            var put = new ImagePut
            {
                AutoUpdate = Flag(fields, "auto_update", image.AutoUpdate),
                Public = Flag(fields, "public", image.Public),
                Properties = fields.TryGetValue("properties", out var props) && props is Dictionary<object, object> map
                    ? map.ToDictionary(kv => kv.Key.ToString()!, kv => kv.Value?.ToString() ?? string.Empty, StringComparer.Ordinal)
                    : new Dictionary<string, string>(),
                ExpiresAt = image.ExpiresAt,
                Profiles = fields.TryGetValue("profiles", out var profiles) && profiles is List<object> list ? [.. list.Select(p => p.ToString()!)] : image.Profiles,
            };
            using var request = new HttpRequestMessage(HttpMethod.Put, "/1.0/images/" + image.Fingerprint)
            {
                Content = new StringContent(JsonSerializer.Serialize(put, IncusJsonContext.Default.ImagePut), Encoding.UTF8, "application/json"),
            };
            if (etag is not null)
            {
                request.Headers.TryAddWithoutValidation("If-Match", etag);
            }

            using var response = await server.Client.SendAsync(request, cancellationToken);
            await LocalServer.ReadAsync(response, IncusJsonContext.Default.IncusResponseJsonElement, cancellationToken);
            return ExitCodes.Success;
        }));
        return command;
    }

    private static bool Flag(Dictionary<string, object?> fields, string key, bool fallback) =>
        fields.TryGetValue(key, out var value) && value is not null
            ? bool.TryParse(value.ToString(), out var flag) ? flag : throw new CommandException($"{key}: '{value}' is not true or false")
            : fallback;

    private static Command GetProperty(GlobalOptions globals)
    {
        var name = new Argument<string>("image");
        var key = new Argument<string>("key");
        var command = new Command("get-property", "Print one image property") { name, key };
        command.SetAction((parseResult, cancellationToken) => RunAsync(globals, parseResult, cancellationToken, async (server, output) =>
        {
            var image = await ResolveAsync(server, parseResult.GetValue(name)!, cancellationToken);
            await output.WriteLineAsync(image.Properties.GetValueOrDefault(parseResult.GetValue(key)!, string.Empty));
            return ExitCodes.Success;
        }));
        return command;
    }

    private static Command SetProperty(GlobalOptions globals)
    {
        var name = new Argument<string>("image");
        var key = new Argument<string>("key");
        var value = new Argument<string>("value");
        var command = new Command("set-property", "Set one image property") { name, key, value };
        command.SetAction((parseResult, cancellationToken) => RunAsync(globals, parseResult, cancellationToken, (server, _) =>
            ChangePropertiesAsync(server, parseResult.GetValue(name)!, p => p[parseResult.GetValue(key)!] = parseResult.GetValue(value)!, cancellationToken)));
        return command;
    }

    private static Command UnsetProperty(GlobalOptions globals)
    {
        var name = new Argument<string>("image");
        var key = new Argument<string>("key");
        var command = new Command("unset-property", "Remove one image property") { name, key };
        command.SetAction((parseResult, cancellationToken) => RunAsync(globals, parseResult, cancellationToken, (server, _) =>
            ChangePropertiesAsync(server, parseResult.GetValue(name)!, p => p.Remove(parseResult.GetValue(key)!), cancellationToken)));
        return command;
    }

    // GET then PUT with the ETag, as incus image set-property does.
    private static async Task<int> ChangePropertiesAsync(LocalServer server, string name, Action<Dictionary<string, string>> change, CancellationToken cancellationToken)
    {
        var image = await ResolveAsync(server, name, cancellationToken);
        using var current = await server.Client.GetAsync(new Uri("/1.0/images/" + image.Fingerprint, UriKind.Relative), cancellationToken);
        var etag = current.Headers.ETag?.Tag;
        var properties = new Dictionary<string, string>(image.Properties, StringComparer.Ordinal);
        change(properties);
        var put = new ImagePut { AutoUpdate = image.AutoUpdate, Public = image.Public, Properties = properties, ExpiresAt = image.ExpiresAt, Profiles = image.Profiles };
        using var request = new HttpRequestMessage(HttpMethod.Put, "/1.0/images/" + image.Fingerprint)
        {
            Content = new StringContent(JsonSerializer.Serialize(put, IncusJsonContext.Default.ImagePut), Encoding.UTF8, "application/json"),
        };
        if (etag is not null)
        {
            request.Headers.TryAddWithoutValidation("If-Match", etag);
        }

        using var response = await server.Client.SendAsync(request, cancellationToken);
        await LocalServer.ReadAsync(response, IncusJsonContext.Default.IncusResponseJsonElement, cancellationToken);
        return ExitCodes.Success;
    }

    /// <summary>A plain console on <paramref name="output"/>, wide enough that tables do not wrap when piped.</summary>
    internal static IAnsiConsole Console(TextWriter output)
    {
        var console = AnsiConsole.Create(new AnsiConsoleSettings { Out = new AnsiConsoleOutput(output), Ansi = AnsiSupport.No, ColorSystem = ColorSystemSupport.NoColors });
        console.Profile.Width = Math.Max(console.Profile.Width, 160);
        return console;
    }

    // Written under a temporary name and renamed when complete: a cut download leaves no file that looks whole.
    private static async Task<string> WriteAsync(string directory, string fileName, Stream body, CancellationToken cancellationToken)
    {
        var path = Path.Combine(directory, Path.GetFileName(fileName));
        var partial = path + ".partial";
        try
        {
            await using (var file = File.Create(partial))
            {
                await body.CopyToAsync(file, cancellationToken);
            }

            File.Move(partial, path, overwrite: true);
            return path;
        }
        finally
        {
            File.Delete(partial);
        }
    }

    private static bool IsQcow2(string path)
    {
        Span<byte> head = stackalloc byte[4];
        using var file = File.OpenRead(path);
        return file.Read(head) == 4 && head[..3].SequenceEqual("QFI"u8);
    }

    private static string Property(string keyValue)
    {
        var equals = keyValue.IndexOf('=', StringComparison.Ordinal);
        if (equals <= 0)
        {
            throw new CommandException($"'{keyValue}' is not key=value");
        }

        return Uri.EscapeDataString(keyValue[..equals]) + "=" + Uri.EscapeDataString(keyValue[(equals + 1)..]);
    }

    private static bool Matches(Image image, string word)
    {
        var equals = word.IndexOf('=', StringComparison.Ordinal);
        if (equals > 0)
        {
            return image.Properties.TryGetValue(word[..equals], out var value) &&
                System.Text.RegularExpressions.Regex.IsMatch(value, "^(?:" + word[(equals + 1)..] + ")$", System.Text.RegularExpressions.RegexOptions.None, TimeSpan.FromSeconds(1));
        }

        return image.Fingerprint.Contains(word, StringComparison.Ordinal) || image.Aliases.Any(a => a.Name.Contains(word, StringComparison.Ordinal));
    }

    private static string Csv(string value) => value.AsSpan().IndexOfAny(",\"\r\n") >= 0 || value.StartsWith(' ')
        ? "\"" + value.Replace("\"", "\"\"", StringComparison.Ordinal) + "\""
        : value;

    /// <summary>A size as incus prints it: powers of 1024 with two decimals (<c>2.86MiB</c>), whole bytes below 1 KiB.</summary>
    internal static string Size(long bytes)
    {
        if (bytes < 1024)
        {
            return bytes.ToString(CultureInfo.InvariantCulture) + "B";
        }

        string[] units = ["KiB", "MiB", "GiB", "TiB", "PiB", "EiB"];
        var value = bytes / 1024.0;
        var unit = 0;
        for (; value >= 1024 && unit < units.Length - 1; unit++)
        {
            value /= 1024;
        }

        return value.ToString("F2", CultureInfo.InvariantCulture) + units[unit];
    }

    /// <summary>A time as incus prints it in image info and image list: <c>2026/01/01 00:00 UTC</c>.</summary>
    // Why the server keeps the image: what an operator needs to reason about its cache.
    private static void AppendRetention(StringBuilder text, ImageRetentionInfo retention)
    {
        text.AppendLine("Retention:")
            .AppendLine(CultureInfo.InvariantCulture, $"    Last used: {(retention.LastUsedAt is { } used ? TimeWithSeconds(used) : "never")}");
        if (retention.PinnedBy.Count > 0)
        {
            text.AppendLine(CultureInfo.InvariantCulture, $"    Pinned by: {string.Join(", ", retention.PinnedBy)} (kept while a user's alias points at it)");
        }

        var removable = retention.RemovableAfter is not { } after ? "never"
            : retention.PinnedBy.Count > 0 ? $"not while pinned (else {TimeWithSeconds(after)}, {retention.RemovableBecause})"
            : $"{TimeWithSeconds(after)} ({retention.RemovableBecause})";
        text.AppendLine(CultureInfo.InvariantCulture, $"    Removable after: {removable}")
            .AppendLine(CultureInfo.InvariantCulture, $"    Size bound: {(retention.SizeBounded ? "may evict it, least recently used first" : "does not apply")}");
        if (retention.FollowsImage.Count > 0)
        {
            text.AppendLine(CultureInfo.InvariantCulture, $"    Aliases that go with it: {string.Join(", ", retention.FollowsImage)}");
        }
    }

    internal static string TimeWithSeconds(DateTimeOffset at) => at.UtcDateTime.ToString("yyyy'/'MM'/'dd HH':'mm':'ss 'UTC'", CultureInfo.InvariantCulture);

    internal static string Time(DateTimeOffset at) => at.UtcDateTime.ToString("yyyy'/'MM'/'dd HH':'mm 'UTC'", CultureInfo.InvariantCulture);
}
