namespace ImageActors.LoadTests.Runner;

/// <summary>
/// What one step did: whether it succeeded, the bytes it moved, and for a failure the kind that groups it in reports and
/// what the server or client said (reports show the first one of each kind).
/// </summary>
public readonly record struct StepOutcome(bool IsOk, long Bytes, string? ErrorKind, string? ErrorDetail = null)
{
    /// <summary>A success that moved <paramref name="bytes"/> bytes.</summary>
    public static StepOutcome Ok(long bytes = 0) => new(true, bytes, null);

    /// <summary>A failure of the given kind (e.g. <c>http 503</c>, <c>timeout</c>).</summary>
    public static StepOutcome Fail(string kind, long bytes = 0, string? detail = null) => new(false, bytes, kind, detail);
}

/// <summary>Thrown by a step to end its iteration as a failure of <see cref="Kind"/>.</summary>
public sealed class StepFailedException(string kind, string message) : Exception(message)
{
    /// <summary>The kind of failure reports group by.</summary>
    public string Kind { get; } = kind;
}
