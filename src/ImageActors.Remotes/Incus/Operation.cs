using System.Text.Json.Nodes;

namespace ImageActors.Remotes.Incus;

/// <summary>A background operation (<c>/1.0/operations/&lt;id&gt;</c>).</summary>
public sealed record Operation
{
    /// <summary>UUID of the operation.</summary>
    public string Id { get; init; } = "";

    /// <summary><c>task</c>, <c>websocket</c> or <c>token</c>.</summary>
    public string Class { get; init; } = "task";

    /// <summary>What the operation does, e.g. <c>Downloading image</c>.</summary>
    public string Description { get; init; } = "";

    /// <summary>Creation time.</summary>
    public DateTimeOffset CreatedAt { get; init; }

    /// <summary>Last update time.</summary>
    public DateTimeOffset UpdatedAt { get; init; }

    /// <summary>Status text, matching <see cref="StatusCode"/> (see <see cref="OperationStatus"/>).</summary>
    public string Status { get; init; } = "Running";

    /// <summary>Status code; ≥ 200 is final.</summary>
    public int StatusCode { get; init; } = OperationStatus.Running;

    /// <summary>Affected resources, e.g. <c>{"images":["/1.0/images/&lt;fp&gt;"]}</c>.</summary>
    public IReadOnlyDictionary<string, IReadOnlyList<string>>? Resources { get; init; }

    /// <summary>Operation metadata, e.g. <c>download_progress</c>, then <c>fingerprint</c>/<c>size</c>.</summary>
    public JsonObject? Metadata { get; init; }

    /// <summary>Whether the operation can be cancelled.</summary>
    public bool MayCancel { get; init; }

    /// <summary>Error text of a failed operation, otherwise empty.</summary>
    public string Err { get; init; } = "";

    /// <summary>Cluster member running the operation (<c>none</c> outside clusters).</summary>
    public string Location { get; init; } = "none";
}

/// <summary>Operation status codes and their texts.</summary>
public static class OperationStatus
{
    /// <summary>Operation created.</summary>
    public const int Created = 100;

    /// <summary>Started.</summary>
    public const int Started = 101;

    /// <summary>Stopped.</summary>
    public const int Stopped = 102;

    /// <summary>Running.</summary>
    public const int Running = 103;

    /// <summary>Cancelling.</summary>
    public const int Cancelling = 104;

    /// <summary>Pending.</summary>
    public const int Pending = 105;

    /// <summary>Success (final).</summary>
    public const int Success = 200;

    /// <summary>Failure (final).</summary>
    public const int Failure = 400;

    /// <summary>Cancelled (final).</summary>
    public const int Cancelled = 401;

    /// <summary>The text Incus writes next to a status code.</summary>
    public static string Text(int code) => code switch
    {
        100 => "Operation created",
        101 => "Started",
        102 => "Stopped",
        103 => "Running",
        104 => "Cancelling",
        105 => "Pending",
        106 => "Starting",
        107 => "Stopping",
        108 => "Aborting",
        109 => "Freezing",
        110 => "Frozen",
        111 => "Thawed",
        112 => "Error",
        113 => "Ready",
        200 => "Success",
        400 => "Failure",
        401 => "Cancelled",
        _ => "",
    };
}
