using System.Collections.Concurrent;
using System.Diagnostics;
using System.Globalization;
using System.Text;
using System.Text.Json;
using ImageActors.Images.Domain;
using ImageActors.Remotes;
using ImageActors.Remotes.Incus;
using ImageActors.Server.Events;
using ImageActors.Server.Images;
using ImageActors.Server.Metrics;
using ImageActors.Server.Operations;
using ImageActors.Streaming.Formats;
using Microsoft.Net.Http.Headers;

namespace ImageActors.Server.Api;

/// <summary>
/// <c>GET /1.0/images/&lt;fp&gt;/export</c> (spec §2.7). Unified: the file itself with a
/// <c>Content-Disposition</c> filename, <c>Range</c>, <c>ETag</c> = fingerprint, sent by the
/// server's file path (no copy through managed buffers of ours). Split: <c>multipart/form-data</c>
/// with the parts <c>metadata</c> then <c>rootfs</c> / <c>rootfs.img</c>, streamed chunked from
/// the files; headers go out before the first byte of the body is read.
/// </summary>
public static class ImageExports
{
    // Sniffing reads the first bytes of the file; an image's bytes never change, so remember the answer.
    private static readonly ConcurrentDictionary<string, string> Extensions = new(StringComparer.Ordinal);

    // Large enough that a read and a socket write are each one system call per 256 KiB.
    private const int CopyChunk = 256 * 1024;

    /// <summary>Serves an export.</summary>
    public static async Task ExportAsync(HttpContext context, IImageBackend backend, ServerMetrics metrics, Lifecycle lifecycle, string fingerprint)
    {
        ArgumentNullException.ThrowIfNull(context);
        if (RequestScope.Read(context, out var error) is not { } scope)
        {
            await error!.ExecuteAsync(context);
            return;
        }

        // Kestrel leaves %2F encoded in a route value; LXD decodes the path, and its 404 names what the client meant.
        var requested = Uri.UnescapeDataString(fingerprint);
        // The appliance serves the files it holds for this request: an eviction cannot take them between lookup and open.
        await using var held = await backend.PullThroughAsync(scope.Project, requested, context.RequestAborted);
        var image = ImagesEndpoints.Visible(context, backend, scope, requested, held);
        await using var export = held?.Export ?? await backend.OpenExportAsync(scope.Project, image.Fingerprint, context.RequestAborted);
        if (!HttpMethods.IsHead(context.Request.Method))
        {
            backend.RecordUse(scope.Project, image.Fingerprint);
        }

        using var inFlight = metrics.ExportStarted();
        var fp = image.Fingerprint.ToString();
        context.Response.Headers["X-Incus-Type"] = image.Properties.TryGetValue("type", out var type) && type == "oci" ? "oci" : "incus";

        if (!export.IsSplit)
        {
            context.Response.Headers.ContentDisposition = "inline;filename=" + fp + ExtensionOf(export.MetadataPath);
            if (IsPlainGet(context.Request))
            {
                // The common case (lxc, incus, curl): the whole file, copied straight into the
                // response pipe's buffers with no intermediate buffer of ours.
                var length = new FileInfo(export.MetadataPath).Length;
                var response = context.Response;
                response.StatusCode = StatusCodes.Status200OK;
                response.ContentType = "application/octet-stream";
                response.ContentLength = length;
                response.Headers.AcceptRanges = "bytes";
                response.Headers.ETag = "\"" + fp + "\"";
                if (image.UploadedAt != default)
                {
                    response.Headers.LastModified = image.UploadedAt.ToString("R", System.Globalization.CultureInfo.InvariantCulture);
                }

                if (!HttpMethods.IsHead(context.Request.Method))
                {
                    await CopyFileAsync(export.MetadataPath, response.BodyWriter, context.RequestAborted);
                    metrics.BytesServed(length);
                }
            }
            else
            {
                // Range and conditional requests: ASP.NET's file result implements their rules.
                var file = Results.File(
                    export.MetadataPath,
                    "application/octet-stream",
                    lastModified: image.UploadedAt == default ? null : image.UploadedAt,
                    entityTag: new EntityTagHeaderValue("\"" + fp + "\""),
                    enableRangeProcessing: true);
                await file.ExecuteAsync(context);
                if (context.Response.ContentLength is { } sent)
                {
                    metrics.BytesServed(sent);
                }
            }

            lifecycle.Publish(LifecycleActions.ImageRetrieved, ImagesEndpoints.Url(image.Fingerprint), scope.Project, scope.Caller);
            return;
        }

        await WriteSplitAsync(context, metrics, image, export);
    }

    /// <summary>
    /// <c>POST /1.0/images/&lt;fp&gt;/export</c> (<c>ImageExportPost</c>): pushes the image to another server (ours,
    /// Incus or LXD) with the secret of a push token the target issued. The files stream from the blob store as a
    /// raw upload, unified or split, the rootfs part named <c>rootfs.img</c> for a virtual-machine image so the
    /// target keeps its type; the operation shows <c>upload_progress</c> and ends when the target's import ended.
    /// </summary>
    /// <exception cref="InvalidDataException">The target URL or the secret is missing or malformed (400).</exception>
    public static async Task<IResult> PushAsync(HttpContext context, IImageBackend backend, OperationRegistry operations, Lifecycle lifecycle, string fingerprint)
    {
        ArgumentNullException.ThrowIfNull(context);
        if (ImagesEndpoints.Writable(context, out var error) is not { } scope)
        {
            return error!;
        }

        var image = backend.GetByPrefix(scope.Project, fingerprint);
        var post = await JsonSerializer.DeserializeAsync(context.Request.Body, IncusJsonContext.Default.ImageExportPost, context.RequestAborted)
            ?? throw new JsonException("The request body is empty");
        if (!Uri.TryCreate(post.Target ?? string.Empty, UriKind.Absolute, out var target) || (target.Scheme != Uri.UriSchemeHttps && target.Scheme != Uri.UriSchemeHttp))
        {
            throw new InvalidDataException($"target must be the absolute http(s) URL of the server to push to, got \"{post.Target}\"");
        }

        if (string.IsNullOrEmpty(post.Secret))
        {
            throw new InvalidDataException("secret is required: the push token the target server issued");
        }

        var url = ImagesEndpoints.Url(image.Fingerprint);
        var operation = operations.Start(
            ImageUploads.Description,
            scope.Project.Value,
            new Dictionary<string, IReadOnlyList<string>> { ["images"] = [url] },
            async op =>
            {
                await UploadToAsync(backend, scope.Project, image, target, post, op);
                lifecycle.Publish(LifecycleActions.ImageRetrieved, url, scope.Project, scope.Caller, new() { ["target"] = target.ToString() });
                return new Dictionary<string, string> { ["fingerprint"] = image.Fingerprint.ToString() };
            });
        return ApiResults.Async(operation);
    }

    private static async Task UploadToAsync(IImageBackend backend, ProjectName project, ImageRecord image, Uri target, ImageExportPost post, TrackedOperation operation)
    {
        var cancellationToken = operation.CancellationToken;
        await using var export = await backend.OpenExportAsync(project, image.Fingerprint, cancellationToken);
        var fp = image.Fingerprint.ToString();

        // The pusher is not trusted by the target: the secret is its credential, the pinned certificate its trust.
        var connection = new RemoteConnection { ServerCertificatePem = string.IsNullOrEmpty(post.Certificate) ? null : post.Certificate };
        using var client = IncusApiClient.Connect(target, connection, string.IsNullOrEmpty(post.Project) ? null : post.Project);
        var content = ImageUploadContent.FromFiles(export.MetadataPath, export.RootfsPath, image.Type == ImageType.VirtualMachine);
        content.ExpectedFingerprint = fp;
        content.Source = new Uri("file://" + export.MetadataPath);
        content.Progress = new UploadProgressText(operation, content.TotalLength ?? 0);
        var headers = new ImageUploadHeaders
        {
            Fingerprint = fp,
            Secret = post.Secret,
            Filename = image.Filename,
            Profiles = post.Profiles,
            Aliases = [.. (post.Aliases ?? []).Select(a => a.Name)],
        };
        var uploaded = await client.UploadImageAsync(content, headers, cancellationToken);
        var done = uploaded.StatusCode >= OperationStatus.Success
            ? uploaded
            : await client.WaitOperationAsync(uploaded.Id, -1, uploaded.Metadata?["secret"]?.GetValue<string>(), cancellationToken);
        if (done.StatusCode != OperationStatus.Success)
        {
            throw new InvalidOperationException($"{target} did not store the pushed image {fp}: {(string.IsNullOrEmpty(done.Err) ? done.Status : done.Err)}");
        }
    }

    /// <summary>The file-name extension of an image file by its magic bytes (<c>.tar.xz</c>, <c>.squashfs</c>, …).</summary>
    public static string ExtensionOf(string path) => Extensions.GetOrAdd(path, static p =>
    {
        var format = FormatSniffer.DetectFile(p);
        return format == ImageFileFormat.Unknown ? string.Empty : format.Extension();
    });

    private static async Task WriteSplitAsync(HttpContext context, ServerMetrics metrics, ImageRecord image, ImageExport export)
    {
        var fp = image.Fingerprint.ToString();
        var boundary = Convert.ToHexStringLower(System.Security.Cryptography.RandomNumberGenerator.GetBytes(30));
        var rootfsPart = image.Type == ImageType.VirtualMachine ? "rootfs.img" : "rootfs";
        var response = context.Response;
        response.StatusCode = StatusCodes.Status200OK;
        response.ContentType = "multipart/form-data; boundary=" + boundary;

        var first = PartHeader(boundary, "metadata", "meta-" + fp + ExtensionOf(export.MetadataPath), leadingBreak: false);
        var second = PartHeader(boundary, rootfsPart, fp + ExtensionOf(export.RootfsPath!), leadingBreak: true);
        var end = Encoding.ASCII.GetBytes("\r\n--" + boundary + "--\r\n");

        await response.StartAsync(context.RequestAborted);
        var body = response.BodyWriter;
        await body.WriteAsync(first, context.RequestAborted);
        await CopyFileAsync(export.MetadataPath, body, context.RequestAborted);
        await body.WriteAsync(second, context.RequestAborted);
        await CopyFileAsync(export.RootfsPath!, body, context.RequestAborted);
        await body.WriteAsync(end, context.RequestAborted);
        metrics.BytesServed(first.Length + second.Length + end.Length + new FileInfo(export.MetadataPath).Length + new FileInfo(export.RootfsPath!).Length);
    }

    /// <summary>
    /// Copies a file into a response pipe: each read lands directly in the pipe's buffer, and the
    /// flush that follows lets the transport send while the next chunk is read.
    /// </summary>
    public static async Task CopyFileAsync(string path, System.IO.Pipelines.PipeWriter writer, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(writer);
        using var handle = File.OpenHandle(path, FileMode.Open, FileAccess.Read, FileShare.Read | FileShare.Delete, FileOptions.SequentialScan);
        var length = RandomAccess.GetLength(handle);
        long offset = 0;
        while (offset < length)
        {
            var memory = writer.GetMemory(CopyChunk);
            var read = await RandomAccess.ReadAsync(handle, memory, offset, cancellationToken);
            if (read == 0)
            {
                throw new IOException($"{path} ended at byte {offset} of {length}");
            }

            writer.Advance(read);
            offset += read;
            var flushed = await writer.FlushAsync(cancellationToken);
            if (flushed.IsCanceled || flushed.IsCompleted)
            {
                return;
            }
        }
    }

    private static bool IsPlainGet(HttpRequest request) =>
        (HttpMethods.IsGet(request.Method) || HttpMethods.IsHead(request.Method)) &&
        !request.Headers.ContainsKey(HeaderNames.Range) &&
        !request.Headers.ContainsKey(HeaderNames.IfNoneMatch) &&
        !request.Headers.ContainsKey(HeaderNames.IfModifiedSince) &&
        !request.Headers.ContainsKey(HeaderNames.IfMatch) &&
        !request.Headers.ContainsKey(HeaderNames.IfUnmodifiedSince);

    private static byte[] PartHeader(string boundary, string name, string filename, bool leadingBreak) => Encoding.UTF8.GetBytes(
        (leadingBreak ? "\r\n" : string.Empty) +
        "--" + boundary + "\r\n" +
        "Content-Disposition: form-data; name=\"" + name + "\"; filename=\"" + filename + "\"\r\n" +
        "Content-Type: application/octet-stream\r\n\r\n");

    /// <summary>Writes upload progress into the operation's <c>upload_progress</c>, worded like <c>download_progress</c>.</summary>
    private sealed class UploadProgressText(TrackedOperation operation, long total) : IProgress<long>
    {
        private readonly Stopwatch _elapsed = Stopwatch.StartNew();
        private long _lastReport = -1;

        public void Report(long value)
        {
            var now = _elapsed.ElapsedMilliseconds;
            if (value < total && now - Interlocked.Read(ref _lastReport) < 500)
            {
                return;
            }

            Interlocked.Exchange(ref _lastReport, now);
            var seconds = Math.Max(_elapsed.Elapsed.TotalSeconds, 0.001);
            var rate = Megabytes(value / seconds) + "/s";
            var text = total > 0
                ? string.Create(CultureInfo.InvariantCulture, $"{value * 100 / total}% ({rate})")
                : $"{Megabytes(value)} ({rate})";
            operation.SetMetadata("upload_progress", text);
        }

        private static string Megabytes(double bytes) => (bytes / 1_000_000).ToString("0.00", CultureInfo.InvariantCulture) + "MB";
    }
}
