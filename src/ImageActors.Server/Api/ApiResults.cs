using System.Buffers;
using System.Text.Json;
using System.Text.Json.Serialization.Metadata;
using ImageActors.Remotes.Incus;
using ImageActors.Server.Operations;

namespace ImageActors.Server.Api;

/// <summary>
/// Incus' response envelopes (spec §2.1) as HTTP results: sync 200 (201 with a Location), async
/// 202 with the operation and its Location, error with the HTTP status in <c>error_code</c>.
/// Responses are serialized once into a pooled buffer so that Content-Length is always known.
/// </summary>
public static class ApiResults
{
    private static readonly JsonElement EmptyObject = JsonDocument.Parse("{}").RootElement.Clone();

    /// <summary>A sync response.</summary>
    public static IResult Sync<T>(T metadata, JsonTypeInfo<IncusResponse<T>> typeInfo, string? etag = null, string? location = null) =>
        new Json<IncusResponse<T>>(IncusResponse.Sync(metadata), typeInfo, location is null ? StatusCodes.Status200OK : StatusCodes.Status201Created, etag, location);

    /// <summary>An empty sync response (<c>metadata: {}</c>), as PUT/PATCH/DELETE answer.</summary>
    public static IResult Empty(string? location = null) => Sync(EmptyObject, IncusJsonContext.Default.IncusResponseJsonElement, location: location);

    /// <summary>An async response: 202, <c>Location</c> = the operation, metadata = the operation object.</summary>
    public static IResult Async(TrackedOperation operation)
    {
        ArgumentNullException.ThrowIfNull(operation);
        return new Json<IncusResponse<Operation>>(
            IncusResponse.Async(OperationWire.From(operation)),
            IncusJsonContext.Default.IncusResponseOperation,
            StatusCodes.Status202Accepted,
            null,
            operation.Url);
    }

    /// <summary>An error response; the HTTP status is <paramref name="code"/>.</summary>
    public static IResult Error(int code, string message) =>
        new Json<IncusResponse<object>>(IncusResponse.Error(code, message), IncusJsonContext.Default.IncusResponseObject, code, null, null);

    /// <summary>Not found.</summary>
    public static IResult NotFound(string message = "Not found") => Error(StatusCodes.Status404NotFound, message);

    /// <summary>A JSON document that is not an Incus envelope (SimpleStreams files).</summary>
    public static IResult Plain<T>(T value, JsonTypeInfo<T> typeInfo) => new Json<T>(value, typeInfo, StatusCodes.Status200OK, null, null);

    private sealed class Json<T>(T value, JsonTypeInfo<T> typeInfo, int status, string? etag, string? location) : IResult
    {
        public async Task ExecuteAsync(HttpContext httpContext)
        {
            var response = httpContext.Response;
            response.StatusCode = status;
            response.ContentType = "application/json";
            if (status >= 400)
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

            using var buffer = new PooledBufferWriter(1024);
            await using (var writer = new Utf8JsonWriter(buffer))
            {
                JsonSerializer.Serialize(writer, value, typeInfo);
            }

            buffer.Write("\n"u8);
            response.ContentLength = buffer.WrittenCount;
            if (!HttpMethods.IsHead(httpContext.Request.Method))
            {
                await response.Body.WriteAsync(buffer.WrittenMemory, httpContext.RequestAborted);
            }
        }
    }
}
