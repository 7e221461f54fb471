namespace ImageActors.Streaming.Archives;

/// <summary>Counts the bytes read through it (compressed and unpacked sides of a ratio check).</summary>
internal sealed class CountingStream(Stream inner, bool leaveOpen) : ForwardReadStream
{
    public long Count { get; private set; }

    public override int Read(Span<byte> buffer)
    {
        var n = inner.Read(buffer);
        Count += n;
        return n;
    }

    public override async ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default)
    {
        var n = await inner.ReadAsync(buffer, cancellationToken).ConfigureAwait(false);
        Count += n;
        return n;
    }

    public override long Position
    {
        get => Count;
        set => throw new NotSupportedException();
    }

    protected override void Dispose(bool disposing)
    {
        if (disposing && !leaveOpen)
        {
            inner.Dispose();
        }

        base.Dispose(disposing);
    }
}
