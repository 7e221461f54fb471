namespace ImageActors.IntegrationTests.Support;

/// <summary>Captures output and signals when a line containing <c>marker</c> was written (serve prints it once listening).</summary>
public sealed class SignallingWriter(string marker) : StringWriter
{
    private readonly TaskCompletionSource _seen = new(TaskCreationOptions.RunContinuationsAsynchronously);

    // The server writes from its own threads while a test reads what it wrote: StringBuilder is not safe for both.
    private readonly Lock _gate = new();

    /// <summary>Completes once the marker was written.</summary>
    public Task Seen => _seen.Task;

    /// <inheritdoc />
    public override void Write(char value)
    {
        lock (_gate)
        {
            base.Write(value);
        }
    }

    /// <inheritdoc />
    public override void Write(char[] buffer, int index, int count)
    {
        lock (_gate)
        {
            base.Write(buffer, index, count);
        }
    }

    /// <inheritdoc />
    public override void Write(ReadOnlySpan<char> buffer)
    {
        lock (_gate)
        {
            base.Write(buffer);
        }
    }

    /// <inheritdoc />
    public override void Write(string? value)
    {
        lock (_gate)
        {
            base.Write(value);
        }

        if (value is not null && value.Contains(marker, StringComparison.Ordinal))
        {
            _seen.TrySetResult();
        }
    }

    /// <inheritdoc />
    public override string ToString()
    {
        lock (_gate)
        {
            return base.ToString();
        }
    }
}
