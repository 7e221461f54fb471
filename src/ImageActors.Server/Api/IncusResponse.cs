using System.Buffers;
using System.Text.Json;
using System.Text.Json.Serialization.Metadata;
using ImageActors.Server.Operations;

namespace ImageActors.Server.Api;

/// <summary>
/// Incus' response envelopes (spec §2.1): every key present, sync 200 (201 with a Location),
/// async 202 with the operation, error with the HTTP status in <c>error_code</c>. The envelope
/// is written directly around the metadata so a response is serialized in one pass.
/// </summary>
public static class IncusResponse
{
    /// <summary>A sync response whose metadata is written by <paramref name="metadata"/> (null → JSON null).</summary>
    public static IResult Sync(Action<Utf8JsonWriter>? metadata, string? etag = null, string? location = null) =>
        new Envelope(location is null ? StatusCodes.Status200OK : StatusCodes.Status201Created, "sync", "Success", 200, string.Empty, 0, string.Empty, metadata, etag, location);

    /// <summary>A sync response with a serialized value as metadata.</summary>
    public static IResult Sync<T>(T value, JsonTypeInfo<T> typeInfo, string? etag = null, string? location = null) =>
        Sync(w => JsonSerializer.Serialize(w, value, typeInfo), etag, location);

    /// <summary>An empty sync response (<c>metadata: {}</c>), as PUT/PATCH/DELETE answer.</summary>
    public static IResult Empty(string? location = null) => Sync(
        static w =>
        {
            w.WriteStartObject();
            w.WriteEndObject();
        },
        location: location);

    /// <summary>An async response: 202, <c>Location</c> = the operation, metadata = the operation object.</summary>
    public static IResult Async(TrackedOperation operation)
    {
        ArgumentNullException.ThrowIfNull(operation);
        return new Envelope(StatusCodes.Status202Accepted, "async", "Operation created", 100, operation.Url, 0, string.Empty, w => OperationJson.Write(w, operation), null, operation.Url);
    }

    /// <summary>An error response; the HTTP status is <paramref name="code"/>.</summary>
    public static IResult Error(int code, string message) =>
        new Envelope(code, "error", string.Empty, 0, string.Empty, code, message, null, null, null);

    /// <summary>Not found, in Incus' words for images.</summary>
    public static IResult NotFound(string what = "Not found") => Error(StatusCodes.Status404NotFound, what);

    private sealed class Envelope(
        int httpStatus,
        string type,
        string status,
        int statusCode,
        string operation,
        int errorCode,
        string error,
        Action<Utf8JsonWriter>? metadata,
        string? etag,
        string? location) : IResult
    {
        public async Task ExecuteAsync(HttpContext httpContext)
        {
            var response = httpContext.Response;
            response.StatusCode = httpStatus;
            response.ContentType = "application/json";
            if (type == "error")
            {
                response.Headers["X-Content-Type-Options"] = "nosniff";
            }

            if (etag is not null)
            {
                response.Headers.ETag = "\"" + etag + "\"";
            }

            if (location is not null)
            {
                response.Headers.Location = location;
            }

            var buffer = new System.Buffers.ArrayBufferWriter<byte>(512);
            await using (var writer = new Utf8JsonWriter(buffer))
            {
                writer.WriteStartObject();
                writer.WriteString("type", type);
                writer.WriteString("status", status);
                writer.WriteNumber("status_code", statusCode);
                writer.WriteString("operation", operation);
                writer.WriteNumber("error_code", errorCode);
                writer.WriteString("error", error);
                writer.WritePropertyName("metadata");
                if (metadata is null)
                {
                    writer.WriteNullValue();
                }
                else
                {
                    metadata(writer);
                }

                writer.WriteEndObject();
            }

            buffer.Write("\n"u8);
            response.ContentLength = buffer.WrittenCount;
            await response.Body.WriteAsync(buffer.WrittenMemory, httpContext.RequestAborted);
        }
    }
}
