namespace ImageActors.IntegrationTests.Support;

/// <summary>Captures output and signals when a line containing <c>marker</c> was written (serve prints it once listening).</summary>
public sealed class SignallingWriter(string marker) : StringWriter
{
    private readonly TaskCompletionSource _seen = new(TaskCreationOptions.RunContinuationsAsynchronously);

    /// <summary>Completes once the marker was written.</summary>
    public Task Seen => _seen.Task;

    /// <inheritdoc />
    public override void Write(string? value)
    {
        base.Write(value);
        if (value is not null && value.Contains(marker, StringComparison.Ordinal))
        {
            _seen.TrySetResult();
        }
    }
}
