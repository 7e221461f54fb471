using System.Text.Json.Serialization;

namespace ImageActors.Remotes.Incus;

/// <summary>
/// The envelope of every JSON reply of the Incus REST API. Every key is always written (the Go
/// struct has no <c>omitempty</c>): sync <c>{"type":"sync","status":"Success","status_code":200,...}</c>,
/// async (HTTP 202, an operation in <see cref="Metadata"/>) and error (<see cref="ErrorCode"/> = HTTP status).
/// </summary>
/// <typeparam name="TMetadata">The payload type; <see cref="System.Text.Json.JsonElement"/> when reading an unknown reply.</typeparam>
public sealed record IncusResponse<TMetadata>
{
    /// <summary><c>sync</c>, <c>async</c> or <c>error</c>.</summary>
    public string Type { get; init; } = ResponseTypes.Sync;

    /// <summary>Status text: <c>Success</c>, <c>Operation created</c>, or empty for errors.</summary>
    public string Status { get; init; } = "";

    /// <summary>Status code: 200 for sync, 100 for async, 0 for errors.</summary>
    public int StatusCode { get; init; }

    /// <summary>URL of the operation of an async reply, otherwise empty.</summary>
    public string Operation { get; init; } = "";

    /// <summary>HTTP status of an error reply, otherwise 0.</summary>
    public int ErrorCode { get; init; }

    /// <summary>Error message of an error reply, otherwise empty.</summary>
    public string Error { get; init; } = "";

    /// <summary>The payload; <c>null</c> for errors.</summary>
    [JsonIgnore(Condition = JsonIgnoreCondition.Never)]
    public TMetadata? Metadata { get; init; }
}

/// <summary>Factories for the three envelope kinds, with exactly the values Incus writes.</summary>
public static class IncusResponse
{
    /// <summary>A sync reply (HTTP 200, or 201 when a Location header is set).</summary>
    public static IncusResponse<T> Sync<T>(T metadata) => new()
    {
        Type = ResponseTypes.Sync,
        Status = "Success",
        StatusCode = 200,
        Metadata = metadata,
    };

    /// <summary>An async reply (HTTP 202 with <c>Location: /1.0/operations/&lt;id&gt;</c>).</summary>
    public static IncusResponse<Operation> Async(Operation operation)
    {
        ArgumentNullException.ThrowIfNull(operation);
        return new()
        {
            Type = ResponseTypes.Async,
            Status = "Operation created",
            StatusCode = 100,
            Operation = "/1.0/operations/" + operation.Id,
            Metadata = operation,
        };
    }

    /// <summary>An error reply; the HTTP status must equal <paramref name="httpStatus"/>.</summary>
    public static IncusResponse<object> Error(int httpStatus, string message) => new()
    {
        Type = ResponseTypes.Error,
        Status = "",
        StatusCode = 0,
        ErrorCode = httpStatus,
        Error = message,
        Metadata = null,
    };
}

/// <summary>Values of the envelope's <c>type</c> key.</summary>
public static class ResponseTypes
{
    /// <summary>A synchronous reply.</summary>
    public const string Sync = "sync";

    /// <summary>A reply carrying a background operation.</summary>
    public const string Async = "async";

    /// <summary>An error reply.</summary>
    public const string Error = "error";
}
