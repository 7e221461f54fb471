using System.Text.Json;
using ImageActors.Images.Domain;
using ImageActors.Remotes.Incus;
using ImageActors.Server.Events;
using ImageActors.Server.Images;
using ImageActors.Server.Metrics;
using ImageActors.Server.Operations;
using Microsoft.AspNetCore.WebUtilities;
using Microsoft.Net.Http.Headers;

namespace ImageActors.Server.Api;

/// <summary>
/// <c>POST /1.0/images</c> (spec §2.8–2.9): a raw upload (unified body, or multipart
/// <c>metadata</c> + <c>rootfs</c>/<c>rootfs.img</c>) streamed straight into the store, or a JSON
/// request (copy from a remote, import from a URL).
/// </summary>
public static class ImageUploads
{
    /// <summary>Operation description of every POST /1.0/images, as Incus words it.</summary>
    public const string Description = "Downloading image";

    /// <summary>Handles the POST.</summary>
    public static async Task<IResult> CreateAsync(HttpContext context, IImageBackend backend, OperationRegistry operations, Lifecycle lifecycle, ServerMetrics metrics)
    {
        ArgumentNullException.ThrowIfNull(context);
        if (ImagesEndpoints.Writable(context, out var error) is not { } scope)
        {
            return error!;
        }

        var contentType = context.Request.ContentType ?? string.Empty;
        if (contentType.StartsWith("application/json", StringComparison.OrdinalIgnoreCase))
        {
            var post = await JsonSerializer.DeserializeAsync(context.Request.Body, IncusJsonContext.Default.ImagesPost, context.RequestAborted)
                ?? throw new JsonException("The request body is empty");
            return ApiResults.Async(ImageCopies.Start(backend, operations, lifecycle, scope, post));
        }

        var headers = UploadHeaders.Read(context.Request.Headers);
        var counted = new CountingStream(context.Request.Body);

        // The body is only readable while the request lives, so the import runs inside the request;
        // the client gets the operation (usually already final) as Incus' async answer.
        var operation = operations.Start(
            Description,
            scope.Project.Value,
            null,
            async op =>
            {
                var image = await ImportAsync(backend, scope.Project, contentType, counted, headers, op.CancellationToken);
                lifecycle.Publish(LifecycleActions.ImageCreated, ImagesEndpoints.Url(image.Fingerprint), scope.Project, scope.Caller, ImagesEndpoints.TypeContext(image));
                foreach (var alias in headers.Aliases)
                {
                    lifecycle.Publish(LifecycleActions.ImageAliasCreated, AliasesEndpoints.Url(alias), scope.Project, scope.Caller, new() { ["target"] = image.Fingerprint.ToString() }, alias.Value);
                }

                return new Dictionary<string, string>
                {
                    ["fingerprint"] = image.Fingerprint.ToString(),
                    ["size"] = image.Size.ToString(System.Globalization.CultureInfo.InvariantCulture),
                };
            });
        using (context.RequestAborted.Register(() => operations.Cancel(operation)))
        {
            await operation.Completion;
        }

        metrics.BytesReceived(counted.BytesRead);
        metrics.ImportFinished(operation.State.Status == OperationStatusCode.Success);
        return ApiResults.Async(operation);
    }

    private static async Task<ImageRecord> ImportAsync(
        IImageBackend backend,
        ProjectName project,
        string contentType,
        Stream body,
        UploadHeaders headers,
        CancellationToken cancellationToken)
    {
        if (!contentType.StartsWith("multipart/form-data", StringComparison.OrdinalIgnoreCase))
        {
            return await backend.ImportAsync(Upload(project, headers, body, null, null), cancellationToken);
        }

        var boundary = HeaderUtilities.RemoveQuotes(MediaTypeHeaderValue.Parse(contentType).Boundary).ToString();
        if (string.IsNullOrEmpty(boundary))
        {
            throw new InvalidDataException("Invalid multipart image: the Content-Type has no boundary");
        }

        var reader = new MultipartReader(boundary, body) { BodyLengthLimit = null };
        var metadata = await reader.ReadNextSectionAsync(cancellationToken);
        if (metadata is null || PartName(metadata) != "metadata")
        {
            throw new InvalidDataException("Invalid multipart image: the first part must be named \"metadata\"");
        }

        // The rootfs part is opened only when the store has read the metadata part to its end, so both
        // parts stream straight from the request body.
        var rootfs = new NextPartStream(reader, cancellationToken);
        return await backend.ImportAsync(Upload(project, headers, metadata.Body, rootfs, () => rootfs.Type), cancellationToken);
    }

    private static ImageUpload Upload(ProjectName project, UploadHeaders headers, Stream metadata, Stream? rootfs, Func<ImageType?>? type) => new()
    {
        Project = project,
        Metadata = metadata,
        Rootfs = rootfs,
        SplitType = type,
        Expected = headers.Fingerprint,
        Filename = headers.Filename,
        Public = headers.Public,
        Properties = headers.Properties,
        Profiles = headers.Profiles,
        Aliases = headers.Aliases,
    };

    internal static string? PartName(MultipartSection section) =>
        ContentDispositionHeaderValue.TryParse(section.ContentDisposition, out var disposition)
            ? HeaderUtilities.RemoveQuotes(disposition.Name).ToString()
            : null;
}
