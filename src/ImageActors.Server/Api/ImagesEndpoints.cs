using System.Globalization;
using System.Security.Cryptography;
using System.Text.Json;
using System.Text.Json.Nodes;
using ImageActors.Images.Domain;
using ImageActors.Images.Filtering;
using ImageActors.Remotes.Incus;
using ImageActors.Server.Events;
using ImageActors.Server.Images;
using ImageActors.Server.Operations;
using ImageActors.Streaming;

namespace ImageActors.Server.Api;

/// <summary><c>/1.0/images</c>, <c>/1.0/images/&lt;fp&gt;</c> and <c>/1.0/images/&lt;fp&gt;/secret</c> (spec §2.3–2.10).</summary>
public static class ImagesEndpoints
{
    /// <summary>The URL of an image.</summary>
    public static string Url(Fingerprint fingerprint) => "/1.0/images/" + fingerprint.ToString();

    /// <summary>Maps the routes.</summary>
    public static void Map(IEndpointRouteBuilder routes)
    {
        routes.MapGet("/1.0/images", ListAsync);
        routes.MapPost("/1.0/images", ImageUploads.CreateAsync);
        routes.MapGet("/1.0/images/{fingerprint}", GetAsync);
        routes.MapPut("/1.0/images/{fingerprint}", PutAsync);
        routes.MapPatch("/1.0/images/{fingerprint}", PatchAsync);
        routes.MapDelete("/1.0/images/{fingerprint}", Delete);
        routes.MapGet("/1.0/images/{fingerprint}/export", ImageExports.ExportAsync);
        routes.MapPost("/1.0/images/{fingerprint}/export", ImageExports.PushAsync);
        routes.MapPost("/1.0/images/{fingerprint}/secret", CreateSecret);
        routes.MapPost("/1.0/images/{fingerprint}/refresh", ImageCopies.Refresh);
    }

    /// <summary>
    /// The image named by <paramref name="input"/> (a fingerprint or unique prefix) as the caller may
    /// see it: trusted callers see everything; others see public images, or a private one with a valid
    /// <c>?secret=</c>. Anything else is "not found", never "forbidden".
    /// </summary>
    /// <param name="context">The request.</param>
    /// <param name="backend">The store.</param>
    /// <param name="scope">The caller and project.</param>
    /// <param name="input">What the request named.</param>
    /// <param name="held">The image the cache appliance already found or fetched for this request (it held it): only whether the caller may see it is decided.</param>
    internal static ImageRecord Visible(HttpContext context, IImageBackend backend, RequestScope scope, string input, HeldImage? held = null)
    {
        if (held is null && !Fingerprint.IsValidPrefix(input))
        {
            throw new ImageNotFoundException(input);
        }

        if (scope.Caller.IsTrusted)
        {
            return held?.Image ?? backend.GetByPrefix(scope.Project, input);
        }

        ImageRecord? image;
        if (held is not null)
        {
            image = held.Image;
        }
        else if (Fingerprint.TryParse(input, out var full))
        {
            image = backend.Find(scope.Project, full);
        }
        else
        {
            try
            {
                image = backend.GetByPrefix(scope.Project, input);
            }
            catch (AmbiguousFingerprintException)
            {
                // Only the public images count for an untrusted caller; private ones must not show.
                var visible = backend.List(scope.Project, null).Where(i => i.Public && i.Fingerprint.StartsWith(input)).Take(2).ToList();
                image = visible.Count switch
                {
                    0 => null,
                    1 => visible[0],
                    _ => throw new AmbiguousFingerprintException(input),
                };
            }
        }

        if (image is null)
        {
            throw new ImageNotFoundException(input);
        }

        if (image.Public)
        {
            return image;
        }

        var secret = context.Request.Query["secret"].ToString();
        return context.RequestServices.GetRequiredService<ImageSecrets>().Admits(scope.Project, image.Fingerprint, secret)
            ? image
            : throw new ImageNotFoundException(input);
    }

    private static async Task<IResult> ListAsync(HttpContext context, IImageBackend backend)
    {
        if (RequestScope.Read(context, out var error) is not { } scope)
        {
            return error!;
        }

        var filterText = context.Request.Query["filter"].ToString();
        var filter = string.IsNullOrWhiteSpace(filterText) ? null : ImageFilter.Parse(filterText);
        var recursive = IsRecursive(context);

        // Only image objects differ between the families (update_source.protocol); lists of URLs are shared.
        var family = recursive ? ClientFamilies.Of(context.Request) : ClientFamily.Incus;
        var key = new ImageListKey(scope.Project, scope.Caller.IsTrusted, recursive, filter is null ? string.Empty : filterText, family);

        // The version is read before the list so that a cached answer is never older than the view it is filed under.
        var version = backend.ListVersion;
        var answer = await ImageListCache.For(backend).GetAsync(version, key, () => SerializeList(backend, key, filter));
        return new CachedJson(answer);
    }

    /// <summary>The whole response body of a list: the Incus envelope with URLs or image objects, source-generated JSON.</summary>
    internal static ImageListBody SerializeList(IImageBackend backend, ImageListKey key, ImageFilter? filter)
    {
        IEnumerable<ImageRecord> images = backend.List(key.Project, filter);
        if (!key.Trusted)
        {
            images = images.Where(i => i.Public);
        }

        using var buffer = new PooledBufferWriter(64 * 1024);
        using (var writer = new Utf8JsonWriter(buffer))
        {
            if (key.Recursive)
            {
                IReadOnlyList<Image> objects = [.. images.Select(i => ImageWire.From(i, key.Family))];
                JsonSerializer.Serialize(writer, IncusResponse.Sync(objects), IncusJsonContext.Default.IncusResponseIReadOnlyListImage);
            }
            else
            {
                var suffix = key.Project == ProjectName.Default ? string.Empty : "?project=" + Uri.EscapeDataString(key.Project.Value);
                IReadOnlyList<string> urls = [.. images.Select(i => Url(i.Fingerprint) + suffix)];
                JsonSerializer.Serialize(writer, IncusResponse.Sync(urls), IncusJsonContext.Default.IncusResponseIReadOnlyListString);
            }
        }

        "\n"u8.CopyTo(buffer.GetSpan(1));
        buffer.Advance(1);
        var body = buffer.WrittenSpan.ToArray();
        return new ImageListBody(body, "\"" + Convert.ToHexStringLower(SHA256.HashData(body)) + "\"");
    }

    private static async Task<IResult> GetAsync(HttpContext context, IImageBackend backend, string fingerprint)
    {
        if (RequestScope.Read(context, out var error) is not { } scope)
        {
            return error!;
        }

        // The appliance answers from the image it holds for this request (and counts the hit or miss).
        await using var held = await backend.PullThroughAsync(scope.Project, fingerprint, context.RequestAborted);
        var image = Visible(context, backend, scope, fingerprint, held);
        return ApiResults.Sync(ImageWire.From(image, backend.RetentionOf(image), ClientFamilies.Of(context.Request)), IncusJsonContext.Default.IncusResponseImage, etag: ImageWire.ETag(image));
    }

    private static async Task<IResult> PutAsync(HttpContext context, IImageBackend backend, Lifecycle lifecycle, string fingerprint)
    {
        if (Writable(context, out var error) is not { } scope)
        {
            return error!;
        }

        var image = backend.GetByPrefix(scope.Project, fingerprint);
        if (IfMatchFails(context, ImageWire.ETag(image)))
        {
            return ApiResults.Error(StatusCodes.Status412PreconditionFailed, "ETag doesn't match");
        }

        var put = await JsonSerializer.DeserializeAsync(context.Request.Body, IncusJsonContext.Default.ImagePut, context.RequestAborted)
            ?? throw new JsonException("The request body is empty");
        var changes = new ImageChanges(
            put.Public,
            put.AutoUpdate,
            put.Properties ?? new Dictionary<string, string>(),
            put.ExpiresAt == default || put.ExpiresAt == DateTimeOffset.MinValue ? image.ExpiresAt : put.ExpiresAt,
            put.Profiles ?? ["default"]);
        await backend.UpdateAsync(scope.Project, image.Fingerprint, changes, context.RequestAborted);
        lifecycle.Publish(LifecycleActions.ImageUpdated, Url(image.Fingerprint), scope.Project, scope.Caller);
        return ApiResults.Empty();
    }

    private static async Task<IResult> PatchAsync(HttpContext context, IImageBackend backend, Lifecycle lifecycle, string fingerprint)
    {
        if (Writable(context, out var error) is not { } scope)
        {
            return error!;
        }

        var image = backend.GetByPrefix(scope.Project, fingerprint);
        if (IfMatchFails(context, ImageWire.ETag(image)))
        {
            return ApiResults.Error(StatusCodes.Status412PreconditionFailed, "ETag doesn't match");
        }

        using var body = await JsonDocument.ParseAsync(context.Request.Body, cancellationToken: context.RequestAborted);
        var root = body.RootElement;
        if (root.ValueKind != JsonValueKind.Object)
        {
            throw new JsonException("The request body must be a JSON object");
        }

        // PATCH applies only the keys present; properties merge (request keys win). expires_at and profiles are ignored, as Incus does.
        var properties = new Dictionary<string, string>(image.Properties, StringComparer.Ordinal);
        if (root.TryGetProperty("properties", out var patch) && patch.ValueKind == JsonValueKind.Object)
        {
            foreach (var property in patch.EnumerateObject())
            {
                properties[property.Name] = property.Value.ValueKind == JsonValueKind.String ? property.Value.GetString()! : property.Value.GetRawText();
            }
        }

        var changes = new ImageChanges(
            root.TryGetProperty("public", out var pub) && pub.ValueKind is JsonValueKind.True or JsonValueKind.False ? pub.GetBoolean() : image.Public,
            root.TryGetProperty("auto_update", out var auto) && auto.ValueKind is JsonValueKind.True or JsonValueKind.False ? auto.GetBoolean() : image.AutoUpdate,
            properties,
            image.ExpiresAt,
            image.Profiles);
        await backend.UpdateAsync(scope.Project, image.Fingerprint, changes, context.RequestAborted);
        lifecycle.Publish(LifecycleActions.ImageUpdated, Url(image.Fingerprint), scope.Project, scope.Caller);
        return ApiResults.Empty();
    }

    private static IResult Delete(HttpContext context, IImageBackend backend, OperationRegistry operations, Lifecycle lifecycle, string fingerprint)
    {
        if (Writable(context, out var error) is not { } scope)
        {
            return error!;
        }

        var image = backend.GetByPrefix(scope.Project, fingerprint);
        var aliases = image.Aliases;
        var operation = operations.Start(
            "Deleting image",
            scope.Project.Value,
            new Dictionary<string, IReadOnlyList<string>> { ["images"] = [Url(image.Fingerprint)] },
            async op =>
            {
                await backend.DeleteAsync(scope.Project, image.Fingerprint, op.CancellationToken);
                foreach (var alias in aliases)
                {
                    lifecycle.Publish(LifecycleActions.ImageAliasDeleted, AliasesEndpoints.Url(alias.Name), scope.Project, scope.Caller, name: alias.Name.Value);
                }

                lifecycle.Publish(LifecycleActions.ImageDeleted, Url(image.Fingerprint), scope.Project, scope.Caller);
                return null;
            },
            mayCancel: false);
        return ApiResults.Async(operation);
    }

    private static IResult CreateSecret(HttpContext context, IImageBackend backend, ImageSecrets secrets, Lifecycle lifecycle, string fingerprint)
    {
        if (Writable(context, out var error) is not { } scope)
        {
            return error!;
        }

        var image = backend.GetByPrefix(scope.Project, fingerprint);
        var token = secrets.Create(scope.Project, image.Fingerprint);
        lifecycle.Publish(LifecycleActions.ImageSecretCreated, Url(image.Fingerprint), scope.Project, scope.Caller);
        return ApiResults.Async(token);
    }

    /// <summary>The scope of a write, which needs a trusted caller.</summary>
    internal static RequestScope? Writable(HttpContext context, out IResult? error)
    {
        var scope = RequestScope.Read(context, out error);
        if (scope is not null && !scope.Caller.IsTrusted)
        {
            error = ApiErrors.Forbidden();
            return null;
        }

        return scope;
    }

    internal static bool IsRecursive(HttpContext context) =>
        context.Request.Query["recursion"] is { Count: > 0 } r && int.TryParse(r[0], NumberStyles.Integer, CultureInfo.InvariantCulture, out var depth) && depth > 0;

    internal static bool IfMatchFails(HttpContext context, string etag)
    {
        var ifMatch = context.Request.Headers.IfMatch.ToString();
        return !string.IsNullOrEmpty(ifMatch) && ifMatch.Trim('"', ' ') != etag && ifMatch.Trim() != "*";
    }

    /// <summary>A list answer from the cache: 304 when the client holds it (<c>If-None-Match</c>), else its bytes.</summary>
    private sealed class CachedJson(ImageListBody answer) : IResult
    {
        public async Task ExecuteAsync(HttpContext httpContext)
        {
            var request = httpContext.Request;
            var response = httpContext.Response;
            response.Headers.ETag = answer.ETag;
            if (Matches(request.Headers.IfNoneMatch.ToString(), answer.ETag))
            {
                response.StatusCode = StatusCodes.Status304NotModified;
                return;
            }

            response.StatusCode = StatusCodes.Status200OK;
            response.ContentType = "application/json";
            response.ContentLength = answer.Body.Length;
            if (!HttpMethods.IsHead(request.Method))
            {
                await response.Body.WriteAsync(answer.Body, httpContext.RequestAborted);
            }
        }

        private static bool Matches(string ifNoneMatch, string etag)
        {
            if (string.IsNullOrEmpty(ifNoneMatch))
            {
                return false;
            }

            foreach (var range in ifNoneMatch.AsSpan().Split(','))
            {
                var candidate = ifNoneMatch.AsSpan(range).Trim();
                if (candidate.StartsWith("W/", StringComparison.Ordinal))
                {
                    candidate = candidate[2..];
                }

                if (candidate.SequenceEqual("*") || candidate.SequenceEqual(etag))
                {
                    return true;
                }
            }

            return false;
        }
    }

    internal static JsonObject TypeContext(ImageRecord image) => new() { ["type"] = image.Type.ToApiName() };
}
