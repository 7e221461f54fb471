using System.Text.Json;
using ImageActors.Images.Domain;
using ImageActors.Remotes.Incus;
using ImageActors.Server.Events;
using ImageActors.Server.Hosting;
using ImageActors.Server.Images;
using ImageActors.Server.Metrics;
using ImageActors.Server.Operations;
using Microsoft.AspNetCore.Http.Features;
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
        var contentType = context.Request.ContentType ?? string.Empty;
        if (contentType.StartsWith("application/json", StringComparison.OrdinalIgnoreCase))
        {
            if (ImagesEndpoints.Writable(context, out var error) is not { } trusted)
            {
                return error!;
            }

            var post = await JsonSerializer.DeserializeAsync(context.Request.Body, IncusJsonContext.Default.ImagesPost, context.RequestAborted)
                ?? throw new JsonException("The request body is empty");
            return post.Source?.Mode == "push"
                ? ApiResults.Async(ImageCopies.StartPushToken(context.RequestServices.GetRequiredService<ImageSecrets>(), trusted, post))
                : ApiResults.Async(ImageCopies.Start(backend, operations, lifecycle, trusted, post, RequestSettings.Parse(context.Request.Headers[RequestSettings.Header])));
        }

        // A raw upload: from a trusted client, or from a server pushing with the secret of a push token
        // (spec §2.8: X-Incus-secret and X-Incus-fingerprint), which may name the token's project.
        var headers = UploadHeaders.Read(context.Request.Headers);
        if (PushScope(context, out var scopeError) is not { } scope)
        {
            return scopeError!;
        }

        var grant = headers.Fingerprint is { } pushed
            ? context.RequestServices.GetRequiredService<ImageSecrets>().AdmitPush(scope.Project, pushed, headers.Secret)
            : null;
        if (!scope.Caller.IsTrusted && grant is null)
        {
            return ApiErrors.Forbidden();
        }

        var upload = grant is null ? headers : Granted(headers, grant);
        var limits = context.RequestServices.GetRequiredService<ListenSettings>().Limits;
        if (limits.MaxUploadSize is { } most)
        {
            if (context.Request.ContentLength > most)
            {
                return ApiResults.Error(StatusCodes.Status413PayloadTooLarge, UploadTooLarge(most));
            }
        }

        // Only an image upload may be large: its request's limit is raised from server.max_request_body_size.
        if (context.Features.Get<IHttpMaxRequestBodySizeFeature>() is { IsReadOnly: false } bodySize)
        {
            bodySize.MaxRequestBodySize = limits.MaxUploadSize;
        }

        // The upload's memory (its copy buffers, the decoder that checks it) is held only inside a slot; without a
        // free one, the body stays unread on the connection until one comes free or the wait ends.
        var slots = context.RequestServices.GetRequiredService<UploadSlots>();
        using var slot = await slots.TakeAsync(context.RequestAborted);
        if (slot is null)
        {
            var retryAfter = (int)ServerLimits.UploadRetryAfter.TotalSeconds;
            context.Response.Headers.RetryAfter = retryAfter.ToString(System.Globalization.CultureInfo.InvariantCulture);
            return ApiResults.Error(
                StatusCodes.Status503ServiceUnavailable,
                $"The server is running as many image uploads as it allows ({slots.Count}, server.max_concurrent_uploads) and none ended within {Seconds(limits.UploadQueueTimeout)} (server.upload_queue_timeout); retry the upload after {retryAfter} seconds");
        }

        // The pusher is not trusted: the operation carries a fresh secret it may wait on, as Incus does.
        var waitSecret = grant is null ? null : Convert.ToHexStringLower(System.Security.Cryptography.RandomNumberGenerator.GetBytes(32));
        var counted = new CountingStream(context.Request.Body);

        // The body is only readable while the request lives, so the import runs inside the request;
        // the client gets the operation (usually already final) as Incus' async answer.
        var operation = operations.Start(
            Description,
            scope.Project.Value,
            null,
            async op =>
            {
                if (waitSecret is not null)
                {
                    op.SetMetadata("secret", waitSecret);
                }

                ImageRecord image;
                try
                {
                    image = await ImportAsync(backend, scope.Project, contentType, counted, upload, op.CancellationToken);
                }
                catch (BadHttpRequestException e) when (e.StatusCode == StatusCodes.Status413PayloadTooLarge && limits.MaxUploadSize is { } most)
                {
                    // A body without Content-Length passed the check above and was cut where it went over.
                    throw new InvalidDataException(UploadTooLarge(most), e);
                }
                catch (BadHttpRequestException e) when (e.StatusCode == StatusCodes.Status408RequestTimeout)
                {
                    throw new InvalidDataException(
                        $"The upload was cut off: its body arrived slower than {limits.MinRequestBodyRate} bytes per second (server.min_request_body_rate)", e);
                }

                lifecycle.Publish(LifecycleActions.ImageCreated, ImagesEndpoints.Url(image.Fingerprint), scope.Project, scope.Caller, ImagesEndpoints.TypeContext(image));
                foreach (var alias in upload.Aliases)
                {
                    lifecycle.Publish(LifecycleActions.ImageAliasCreated, AliasesEndpoints.Url(alias), scope.Project, scope.Caller, new() { ["target"] = image.Fingerprint.ToString() }, alias.Value);
                }

                var result = new Dictionary<string, string>
                {
                    ["fingerprint"] = image.Fingerprint.ToString(),
                    ["size"] = image.Size.ToString(System.Globalization.CultureInfo.InvariantCulture),
                };
                if (waitSecret is not null)
                {
                    result["secret"] = waitSecret;
                }

                return result;
            });
        using (context.RequestAborted.Register(() => operations.Cancel(operation)))
        {
            await operation.Completion;
        }

        metrics.BytesReceived(counted.BytesRead);
        return ApiResults.Async(operation);
    }

    private static string UploadTooLarge(long most) =>
        $"The image upload is larger than the {most}-byte limit of this server (server.max_upload_size)";

    private static string Seconds(TimeSpan wait) => wait.TotalSeconds.ToString("0.###", System.Globalization.CultureInfo.InvariantCulture) + "s";

    // Like RequestScope.Read, except that a pusher (untrusted, holding a secret) may name the project of its token.
    private static RequestScope? PushScope(HttpContext context, out IResult? error)
    {
        var caller = context.Caller();
        var requested = context.Request.Query["project"].ToString();
        if (caller.IsTrusted || string.IsNullOrEmpty(requested) || !context.Request.Headers.ContainsKey("X-Incus-secret") && !context.Request.Headers.ContainsKey("X-LXD-secret"))
        {
            return RequestScope.Read(context, out error);
        }

        error = null;
        try
        {
            return new RequestScope(ProjectName.Parse(requested), caller);
        }
        catch (InvalidProjectNameException e)
        {
            error = ApiResults.Error(StatusCodes.Status400BadRequest, e.Message);
            return null;
        }
    }

    // The push token's settings over the pusher's headers: aliases of both, public if either says so.
    private static UploadHeaders Granted(UploadHeaders headers, PushGrant grant)
    {
        var properties = new Dictionary<string, string>(grant.Properties, StringComparer.Ordinal);
        foreach (var (key, value) in headers.Properties)
        {
            properties[key] = value;
        }

        return headers with
        {
            Public = headers.Public || grant.Public,
            Properties = properties,
            Profiles = headers.Profiles ?? grant.Profiles,
            Aliases = [.. grant.Aliases.Concat(headers.Aliases).Distinct()],
        };
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

        var (metadata, rootfs) = await OpenPartsAsync(contentType, body, cancellationToken);
        return await backend.ImportAsync(Upload(project, headers, metadata, rootfs, () => rootfs.Type), cancellationToken);
    }

    // The longest multipart boundary RFC 2046 allows.
    private const int MaxBoundaryLength = 70;

    /// <summary>
    /// The two parts of a split upload (<c>multipart/form-data</c>): the metadata part, open now, and the rootfs part,
    /// opened only when the metadata part was read to its end, so that both stream straight from the request body.
    /// </summary>
    /// <exception cref="InvalidDataException">The body is not a split image as Incus sends one.</exception>
    internal static async Task<(Stream Metadata, NextPartStream Rootfs)> OpenPartsAsync(string contentType, Stream body, CancellationToken cancellationToken)
    {
        if (!MediaTypeHeaderValue.TryParse(contentType, out var mediaType) ||
            HeaderUtilities.RemoveQuotes(mediaType.Boundary).ToString() is not { Length: > 0 } boundary)
        {
            throw new InvalidDataException("Invalid multipart image: the Content-Type has no boundary");
        }

        // RFC 2046 limits a boundary to 70 characters; the reader fails on one longer than its buffer.
        if (boundary.Length > MaxBoundaryLength)
        {
            throw new InvalidDataException($"Invalid multipart image: the Content-Type's boundary has {boundary.Length} characters, more than the {MaxBoundaryLength} RFC 2046 allows");
        }

        var watched = new EndOfBodyStream(body);
        var reader = new MultipartReader(boundary, watched) { BodyLengthLimit = null };
        var metadata = await NextPartStream.ReadSectionAsync(reader, watched, "metadata", cancellationToken);
        if (metadata is null || PartName(metadata) != "metadata")
        {
            throw new InvalidDataException("Invalid multipart image: the first part must be named \"metadata\"");
        }

        return (new MetadataPartStream(metadata.Body, watched), new NextPartStream(reader, watched, cancellationToken));
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
