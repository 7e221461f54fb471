using System.Diagnostics;
using System.Globalization;
using ImageActors.Images;
using ImageActors.Images.Domain;
using ImageActors.Images.Remote;
using ImageActors.Remotes.Incus;
using ImageActors.Server.Events;
using ImageActors.Server.Images;
using ImageActors.Server.Operations;

namespace ImageActors.Server.Api;

/// <summary>
/// The JSON forms of <c>POST /1.0/images</c> (spec §2.9, §4): a copy from another image server
/// (<c>source.type = image</c>) or an import from a URL (<c>source.type = url</c>, protocol <c>direct</c>),
/// and <c>POST /1.0/images/&lt;fp&gt;/refresh</c> (§2.10). Each runs as an async operation.
/// </summary>
public static class ImageCopies
{
    /// <summary>Starts the download a JSON <c>POST /1.0/images</c> asks for.</summary>
    /// <exception cref="InvalidDataException">The source is incomplete or names a protocol this server does not speak (400).</exception>
    /// <exception cref="NotSupportedException">The source is of a kind this server cannot create images from (501).</exception>
    /// <param name="backend">The store.</param>
    /// <param name="operations">Where the operation runs.</param>
    /// <param name="lifecycle">Where its events go.</param>
    /// <param name="scope">The caller and project.</param>
    /// <param name="post">The request.</param>
    /// <param name="download">Download settings of this request (<see cref="RequestSettings"/>); null for the server's.</param>
    public static TrackedOperation Start(IImageBackend backend, OperationRegistry operations, Lifecycle lifecycle, RequestScope scope, ImagesPost post, Remotes.Download.DownloadSettings? download = null)
    {
        ArgumentNullException.ThrowIfNull(backend);
        ArgumentNullException.ThrowIfNull(operations);
        ArgumentNullException.ThrowIfNull(lifecycle);
        ArgumentNullException.ThrowIfNull(scope);
        ArgumentNullException.ThrowIfNull(post);
        var request = Request(post, scope.Project) with { Download = download };

        // The store downloads an image once for all who ask; a request that finds the same copy under way joins it, and
        // its operation says so (a command run again after Ctrl-C finds the download it started still going).
        var source = string.Join(' ', request.Source.Protocol, request.Source.Server, request.Image, request.Type ?? string.Empty, scope.Project.Value);
        var running = operations.List().LastOrDefault(o => !o.State.Status.IsFinal()
            && o.State.Metadata.TryGetValue(SourceKey, out var other) && other == source);
        var operation = operations.Start(
            ImageUploads.Description,
            scope.Project.Value,
            null,
            async op =>
            {
                var image = await backend.CopyAsync(request with { Progress = new DownloadProgressText(op) }, op.CancellationToken);
                lifecycle.Publish(LifecycleActions.ImageCreated, ImagesEndpoints.Url(image.Fingerprint), scope.Project, scope.Caller, ImagesEndpoints.TypeContext(image));
                foreach (var alias in request.Aliases)
                {
                    lifecycle.Publish(LifecycleActions.ImageAliasCreated, AliasesEndpoints.Url(AliasName.Parse(alias)), scope.Project, scope.Caller, new() { ["target"] = image.Fingerprint.ToString() }, alias);
                }

                return new Dictionary<string, string>
                {
                    ["fingerprint"] = image.Fingerprint.ToString(),
                    ["size"] = image.Size.ToString(CultureInfo.InvariantCulture),
                };
            });
        operation.SetMetadata(SourceKey, source);
        if (running is not null)
        {
            operation.SetMetadata(JoinedKey, running.Url);
        }

        return operation;
    }

    /// <summary>Operation metadata naming what a copy downloads, to find a copy of the same image under way.</summary>
    public const string SourceKey = "imageactors_source";

    /// <summary>Operation metadata of a copy that joined one already under way: that operation's URL.</summary>
    public const string JoinedKey = "imageactors_joined";

    /// <summary>
    /// <c>POST /1.0/images</c> with <c>source.mode = push</c>: a token operation whose metadata holds the secret the
    /// source server must send with its upload of <c>source.fingerprint</c>; the aliases, public flag, properties and
    /// profiles asked for here are applied to the pushed image.
    /// </summary>
    /// <exception cref="InvalidDataException">The source names no full fingerprint, or an alias name is invalid.</exception>
    public static TrackedOperation StartPushToken(ImageSecrets secrets, RequestScope scope, ImagesPost post)
    {
        ArgumentNullException.ThrowIfNull(secrets);
        ArgumentNullException.ThrowIfNull(scope);
        ArgumentNullException.ThrowIfNull(post);
        var text = post.Source?.Fingerprint ?? string.Empty;
        if (!Streaming.Fingerprint.TryParse(text, out var fingerprint))
        {
            throw new InvalidDataException($"A push needs the full fingerprint of the image in source.fingerprint, got \"{text}\"");
        }

        var grant = new PushGrant(
            [.. (post.Aliases ?? []).Select(a => AliasName.Parse(a.Name))],
            post.Public,
            post.Properties ?? new Dictionary<string, string>(),
            post.Profiles);
        return secrets.CreatePush(scope.Project, fingerprint, grant);
    }

    /// <summary>The copy an <see cref="ImagesPost"/> asks for.</summary>
    /// <exception cref="InvalidDataException">The source is incomplete or names a protocol this server does not speak.</exception>
    /// <exception cref="NotSupportedException">The source is of a kind this server cannot create images from.</exception>
    public static CopyRequest Request(ImagesPost post, ProjectName project)
    {
        ArgumentNullException.ThrowIfNull(post);
        var source = post.Source ?? throw new InvalidDataException("The request has no source");
        // Fields the client left out may arrive as null rather than the empty default.
        source = source with
        {
            Type = source.Type ?? string.Empty,
            Mode = source.Mode ?? string.Empty,
            Server = source.Server ?? string.Empty,
            Protocol = source.Protocol ?? string.Empty,
            Alias = source.Alias ?? string.Empty,
            Fingerprint = source.Fingerprint ?? string.Empty,
            Certificate = source.Certificate ?? string.Empty,
            ImageType = source.ImageType ?? string.Empty,
            Url = source.Url ?? string.Empty,
            Project = source.Project ?? string.Empty,
            Secret = source.Secret ?? string.Empty,
        };
        if (source.Mode is not ("" or "pull"))
        {
            throw new InvalidDataException($"Unknown image source mode \"{source.Mode}\" (pull or push)");
        }

        var aliases = (post.Aliases ?? []).Select(a => AliasName.Parse(a.Name).Value).ToList();
        switch (source.Type)
        {
            case "image":
                {
                    var protocol = source.Protocol.Length == 0 ? "incus" : source.Protocol;
                    if (protocol is not ("incus" or "lxd" or "simplestreams"))
                    {
                        throw new InvalidDataException($"Unsupported protocol \"{source.Protocol}\" for an image source (incus, lxd or simplestreams)");
                    }

                    var image = source.Fingerprint.Length > 0 ? source.Fingerprint : source.Alias;
                    if (image.Length == 0)
                    {
                        throw new InvalidDataException("The image source names neither a fingerprint nor an alias");
                    }

                    if (source.Secret.Length > 0 && protocol == "simplestreams")
                    {
                        throw new InvalidDataException("source.secret opens private images on Incus or LXD servers; a simplestreams source has none");
                    }

                    var server = Absolute(source.Server, "source.server");
                    var remote = new RemoteSource(server, protocol, source.Certificate, source.Project.Length == 0 ? null : source.Project);
                    return new CopyRequest(remote, image)
                    {
                        Project = project,
                        Aliases = aliases,
                        AutoUpdate = post.AutoUpdate,
                        Public = post.Public,
                        Profiles = post.Profiles,
                        Type = source.ImageType.Length == 0 ? null : source.ImageType,
                        Secret = source.Secret.Length == 0 ? null : source.Secret,
                    };
                }

            case "url":
                {
                    if (source.Protocol is not ("" or "direct"))
                    {
                        throw new InvalidDataException($"Unsupported protocol \"{source.Protocol}\" for a URL source (direct)");
                    }

                    var url = Absolute(source.Url, "source.url");
                    // source.certificate pins the URL server's certificate, as it does for an image server.
                    return new CopyRequest(new RemoteSource(url, "direct", source.Certificate), url.ToString())
                    {
                        Project = project,
                        Aliases = aliases,
                        Public = post.Public,
                        Profiles = post.Profiles,
                    };
                }

            case "instance" or "container" or "virtual-machine" or "snapshot":
                throw new NotSupportedException("Publishing instances is not supported by this server");
            default:
                throw new InvalidDataException($"Unknown image source type \"{source.Type}\"");
        }
    }

    /// <summary><c>POST /1.0/images/&lt;fp&gt;/refresh</c>: an async operation whose metadata says whether a newer image replaced it.</summary>
    internal static IResult Refresh(HttpContext context, IImageBackend backend, OperationRegistry operations, Lifecycle lifecycle, string fingerprint)
    {
        if (ImagesEndpoints.Writable(context, out var error) is not { } scope)
        {
            return error!;
        }

        var image = backend.GetByPrefix(scope.Project, fingerprint);
        var operation = operations.Start(
            "Refreshing image",
            scope.Project.Value,
            new Dictionary<string, IReadOnlyList<string>> { ["images"] = [ImagesEndpoints.Url(image.Fingerprint)] },
            async op =>
            {
                var replacement = await backend.RefreshAsync(scope.Project, image.Fingerprint, op.CancellationToken);
                if (replacement is not null)
                {
                    lifecycle.Publish(LifecycleActions.ImageRefreshed, ImagesEndpoints.Url(image.Fingerprint), scope.Project, scope.Caller);
                }

                op.SetMetadata("refreshed", replacement is not null);
                return null;
            });
        return ApiResults.Async(operation);
    }

    private static Uri Absolute(string text, string field) =>
        Uri.TryCreate(text, UriKind.Absolute, out var uri) && (uri.Scheme == Uri.UriSchemeHttps || uri.Scheme == Uri.UriSchemeHttp)
            ? uri
            : throw new InvalidDataException($"{field} must be an absolute http(s) URL, got \"{text}\"");

    /// <summary>Writes transfer progress into the operation's <c>download_progress</c> as Incus words it (spec §5.5).</summary>
    private sealed class DownloadProgressText(TrackedOperation operation) : IProgress<ImageProgress>
    {
        private readonly Stopwatch _elapsed = Stopwatch.StartNew();

        public void Report(ImageProgress value)
        {
            var seconds = Math.Max(_elapsed.Elapsed.TotalSeconds, 0.001);
            var rate = Megabytes(value.Processed / seconds) + "/s";
            var text = value.Percent is { } percent
                ? string.Create(CultureInfo.InvariantCulture, $"{percent}% ({rate})")
                : $"{Megabytes(value.Processed)} ({rate})";
            operation.SetMetadata("download_progress", value.File.Length > 0 ? value.File + ": " + text : text);
        }

        private static string Megabytes(double bytes) => (bytes / 1_000_000).ToString("0.00", CultureInfo.InvariantCulture) + "MB";
    }
}
