using System.Security.Cryptography;

namespace ImageActors.Streaming.Hashing;

/// <summary>
/// Passes bytes through (reading from or writing to an inner stream) and feeds every one of them to a SHA-256,
/// so a file is hashed in the same pass that moves it. Several streams may share one hash (a split image's
/// metadata then rootfs).
/// </summary>
public sealed class HashingStream : Stream
{
    private readonly Stream _inner;
    private readonly IncrementalHash _hash;
    private readonly bool _ownsHash;
    private readonly bool _leaveOpen;
    private long _count;

    /// <summary>Hashes what passes through <paramref name="inner"/> with a hash of its own.</summary>
    public HashingStream(Stream inner, bool leaveOpen = false)
        : this(inner, IncrementalHash.CreateHash(HashAlgorithmName.SHA256), ownsHash: true, leaveOpen)
    {
    }

    /// <summary>Hashes into <paramref name="hash"/>, which the caller owns (to chain several streams into one hash).</summary>
    public HashingStream(Stream inner, IncrementalHash hash, bool leaveOpen = false)
        : this(inner, hash, ownsHash: false, leaveOpen)
    {
    }

    private HashingStream(Stream inner, IncrementalHash hash, bool ownsHash, bool leaveOpen)
    {
        ArgumentNullException.ThrowIfNull(inner);
        ArgumentNullException.ThrowIfNull(hash);
        _inner = inner;
        _hash = hash;
        _ownsHash = ownsHash;
        _leaveOpen = leaveOpen;
    }

    /// <summary>Bytes that passed through so far.</summary>
    public long BytesHashed => _count;

    /// <summary>The fingerprint of everything that passed so far (the hash goes on).</summary>
    public Fingerprint CurrentFingerprint()
    {
        Span<byte> digest = stackalloc byte[Fingerprint.ByteLength];
        _hash.GetCurrentHash(digest);
        return new Fingerprint(digest);
    }

    /// <inheritdoc />
    public override int Read(Span<byte> buffer)
    {
        var n = _inner.Read(buffer);
        Append(buffer[..n]);
        return n;
    }

    /// <inheritdoc />
    public override int Read(byte[] buffer, int offset, int count) => Read(buffer.AsSpan(offset, count));

    /// <inheritdoc />
    public override async ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default)
    {
        var n = await _inner.ReadAsync(buffer, cancellationToken).ConfigureAwait(false);
        Append(buffer.Span[..n]);
        return n;
    }

    /// <inheritdoc />
    public override Task<int> ReadAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken) =>
        ReadAsync(buffer.AsMemory(offset, count), cancellationToken).AsTask();

    /// <inheritdoc />
    public override void Write(ReadOnlySpan<byte> buffer)
    {
        Append(buffer);
        _inner.Write(buffer);
    }

    /// <inheritdoc />
    public override void Write(byte[] buffer, int offset, int count) => Write(buffer.AsSpan(offset, count));

    /// <inheritdoc />
    public override ValueTask WriteAsync(ReadOnlyMemory<byte> buffer, CancellationToken cancellationToken = default)
    {
        Append(buffer.Span);
        return _inner.WriteAsync(buffer, cancellationToken);
    }

    /// <inheritdoc />
    public override Task WriteAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken) =>
        WriteAsync(buffer.AsMemory(offset, count), cancellationToken).AsTask();

    private void Append(ReadOnlySpan<byte> bytes)
    {
        _hash.AppendData(bytes);
        _count += bytes.Length;
    }

    /// <inheritdoc />
    public override bool CanRead => _inner.CanRead;

    /// <inheritdoc />
    public override bool CanSeek => false;

    /// <inheritdoc />
    public override bool CanWrite => _inner.CanWrite;

    /// <inheritdoc />
    public override long Length => throw new NotSupportedException();

    /// <inheritdoc />
    public override long Position
    {
        get => _count;
        set => throw new NotSupportedException();
    }

    /// <inheritdoc />
    public override void Flush() => _inner.Flush();

    /// <inheritdoc />
    public override Task FlushAsync(CancellationToken cancellationToken) => _inner.FlushAsync(cancellationToken);

    /// <inheritdoc />
    public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();

    /// <inheritdoc />
    public override void SetLength(long value) => throw new NotSupportedException();

    /// <inheritdoc />
    protected override void Dispose(bool disposing)
    {
        if (disposing)
        {
            if (_ownsHash)
            {
                _hash.Dispose();
            }

            if (!_leaveOpen)
            {
                _inner.Dispose();
            }
        }

        base.Dispose(disposing);
    }
}
