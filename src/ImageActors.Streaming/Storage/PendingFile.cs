using System.Security.Cryptography;

namespace ImageActors.Streaming.Storage;

/// <summary>
/// A file being written under <c>&lt;data&gt;/tmp</c>, hashed as its bytes arrive. It becomes an image file only
/// when the blob store commits it; disposing an uncommitted one deletes it.
/// </summary>
public sealed class PendingFile : IDisposable
{
    private readonly IncrementalHash _hash;
    private SequentialFileWriter? _file;
    private long _closedLength;

    internal PendingFile(string path, IncrementalHash hash, PendingFile? hashedAfter, bool direct)
    {
        Path = path;
        _hash = hash;
        HashedAfter = hashedAfter;
        HashedAfterLength = hashedAfter?.Length ?? 0;
        _file = SequentialFileWriter.Create(path, direct);
    }

    /// <summary>The temp file's path.</summary>
    public string Path { get; }

    /// <summary>Bytes written so far.</summary>
    public long Length => _file?.Length ?? _closedLength;

    /// <summary>The file whose bytes this file's hash continues (the metadata file of a split image).</summary>
    public PendingFile? HashedAfter { get; }

    internal long HashedAfterLength { get; }

    internal bool Committed { get; set; }

    private SequentialFileWriter File => _file ?? throw new ObjectDisposedException(Path);

    /// <summary>The fingerprint of the bytes so far (after those of <see cref="HashedAfter"/>).</summary>
    public Fingerprint CurrentFingerprint()
    {
        Span<byte> digest = stackalloc byte[Fingerprint.ByteLength];
        _hash.GetCurrentHash(digest);
        return new Fingerprint(digest);
    }

    internal IncrementalHash CloneHash() => _hash.Clone();

    internal void Hash(ReadOnlySpan<byte> bytes) => _hash.AppendData(bytes);

    /// <summary>Appends bytes (hashing them).</summary>
    public void Append(ReadOnlySpan<byte> bytes)
    {
        _hash.AppendData(bytes);
        Write(bytes);
    }

    /// <summary>
    /// Copies <paramref name="source"/> to its end into this file in one pass: one stage reads, a second hashes and a
    /// third writes, overlapping over a small ring of large aligned buffers (see <see cref="PipelinedCopy"/>), so the
    /// copy runs at the speed of SHA-256 and its memory does not depend on the file's size.
    /// </summary>
    /// <returns>The number of bytes copied.</returns>
    /// <param name="source">The bytes to append.</param>
    /// <param name="progress">Told the file's length after each piece is written (for operation progress).</param>
    /// <param name="cancellationToken">Stops the copy; the file keeps what was written (resumable) until disposed.</param>
    /// <param name="check">
    /// Reads the same bytes as a stream while they are hashed and written (on a thread of its own), instead of a second
    /// pass over the file afterwards; what it throws is thrown once the source was copied to its end. Null: no check.
    /// </param>
    public async Task<long> AppendAsync(Stream source, IProgress<long>? progress = null, CancellationToken cancellationToken = default, Action<Stream>? check = null)
    {
        ArgumentNullException.ThrowIfNull(source);
        using var copy = new PipelinedCopy(this, progress, cancellationToken, check);
        return await copy.RunAsync(source).ConfigureAwait(false);
    }

    internal void Write(ReadOnlySpan<byte> bytes)
    {
        try
        {
            File.Write(bytes);
        }
        catch (IOException e) when (Posix.IsDiskFull(e))
        {
            throw new InsufficientStorageException(System.IO.Path.GetDirectoryName(Path)!, null, e);
        }
    }

    /// <summary>Makes the bytes durable and closes the file (before a rename).</summary>
    internal void FlushAndClose(bool durable)
    {
        if (_file is null)
        {
            return;
        }

        if (durable)
        {
            try
            {
                _file.Flush();
            }
            catch (IOException e) when (Posix.IsDiskFull(e))
            {
                throw new InsufficientStorageException(System.IO.Path.GetDirectoryName(Path)!, null, e);
            }
        }

        _closedLength = _file.Length;
        _file.Dispose();
        _file = null;
    }

    /// <summary>
    /// Closes the complete file and hands it over by path: disposing this object no longer deletes it, so a message
    /// can name it (<see cref="BlobStore.CommitVerified"/> commits it; whoever drops it deletes it). The fingerprint
    /// is read first, while the hash is still open.
    /// </summary>
    /// <returns>The path and the fingerprint of the bytes written (after those of <see cref="HashedAfter"/>).</returns>
    public (string Path, Fingerprint Fingerprint) Seal()
    {
        var fingerprint = CurrentFingerprint();
        if (_file is not null)
        {
            _closedLength = _file.Length;
            _file.Dispose();
            _file = null;
        }

        Committed = true;
        return (Path, fingerprint);
    }

    /// <summary>Closes the file and, unless it was committed or sealed, deletes it.</summary>
    public void Dispose()
    {
        if (_file is not null)
        {
            _closedLength = _file.Length;
            _file.Dispose();
            _file = null;
        }

        _hash.Dispose();
        if (!Committed)
        {
            System.IO.File.Delete(Path);
        }
    }

}
