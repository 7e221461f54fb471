using System.Security.Cryptography;
using ImageActors.Streaming.Storage;

namespace ImageActors.Remotes.Download;

/// <summary>
/// Writes a file from network chunks while hashing them: chunks are hashed and written (on two other
/// threads, at the same time, each in order) while the next ones are read, so the network, SHA-256 and the
/// disk overlap. A ring of pooled aligned buffers lets the reader run a few chunks ahead of a hash or a
/// disk that is briefly slower, and whole chunks go to the disk without a copy into the page cache
/// (<see cref="SequentialFileWriter"/>). Once drained, the hash state covers exactly the bytes written,
/// so a download can resume from <see cref="Length"/> without re-reading the file.
/// </summary>
internal sealed class HashingFileWriter : IDisposable
{
    private readonly SequentialFileWriter _file;
    private readonly AlignedBuffer[] _buffers;
    private IncrementalHash _hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
    private IncrementalHash? _combined;
    private readonly string? _combinedPrefixFile;
    private readonly bool _keepFileHash;
    private readonly Task[] _inUse;
    private Task _hashed = Task.CompletedTask;
    private Task _written = Task.CompletedTask;
    private int _current;

    /// <summary>Buffers in the ring: the reader may be this many chunks ahead of the hash and the disk.</summary>
    public const int RingSize = 4;

    /// <param name="path">The file to create.</param>
    /// <param name="chunkSize">Bytes per chunk.</param>
    /// <param name="preallocate">Expected size, reserved on disk up front.</param>
    /// <param name="combinedPrefixFile">A file whose bytes precede this one in a combined hash.</param>
    /// <param name="keepFileHash">
    /// Whether this file's own hash is needed besides the combined one; when not, a single hash seeded
    /// with the prefix is kept (one pass over the bytes instead of two).
    /// </param>
    /// <param name="direct">Whether whole chunks may bypass the page cache.</param>
    public HashingFileWriter(string path, int chunkSize, long? preallocate, string? combinedPrefixFile, bool keepFileHash, bool direct = true)
        : this(path, chunkSize, combinedPrefixFile, keepFileHash, SequentialFileWriter.Create(path, direct, preallocate ?? 0))
    {
    }

    private HashingFileWriter(string path, int chunkSize, string? combinedPrefixFile, bool keepFileHash, SequentialFileWriter file)
    {
        _combinedPrefixFile = combinedPrefixFile;
        _keepFileHash = keepFileHash || combinedPrefixFile is null;
        _file = file;
        _buffers = new AlignedBuffer[RingSize];
        _inUse = new Task[RingSize];
        for (var i = 0; i < RingSize; i++)
        {
            _buffers[i] = AlignedBuffer.Rent(chunkSize);
            _inUse[i] = Task.CompletedTask;
        }

        Path = path;
        StartCombined();
    }

    public string Path { get; }

    /// <summary>
    /// Continues a file whose first <paramref name="length"/> bytes were written by an earlier download: they are read
    /// once to bring the hashes up to where the file ends, then new chunks are appended.
    /// </summary>
    public static HashingFileWriter Resume(string path, int chunkSize, long length, string? combinedPrefixFile, bool keepFileHash)
    {
        var writer = new HashingFileWriter(path, chunkSize, combinedPrefixFile, keepFileHash, SequentialFileWriter.Append(path, length));
        try
        {
            using var existing = File.OpenRead(path);
            var buffer = writer._buffers[0].Span;
            int n;
            while ((n = existing.Read(buffer)) > 0)
            {
                writer._hash.AppendData(buffer[..n]);
                if (writer._keepFileHash && writer._combined is { } combined)
                {
                    combined.AppendData(buffer[..n]);
                }
            }

            writer.Length = length;
            return writer;
        }
        catch
        {
            writer.Dispose();
            throw;
        }
    }

    /// <summary>Bytes committed (written and hashed, once <see cref="DrainAsync"/> returned).</summary>
    public long Length { get; private set; }

    /// <summary>The buffer to read the next chunk into; its previous hash and write have finished.</summary>
    public Memory<byte> NextBuffer => _buffers[_current].Memory;

    /// <summary>
    /// Starts writing and hashing the first <paramref name="count"/> bytes of <see cref="NextBuffer"/>, after the
    /// chunks before it, and returns once the following buffer is free. A failed write (a full disk) surfaces here
    /// a few chunks later, or from <see cref="DrainAsync"/> / <see cref="FinishAsync"/>.
    /// </summary>
    public async ValueTask CommitAsync(int count)
    {
        var chunk = _buffers[_current].Memory[..count];
        var hash = _hash;
        var combined = _keepFileHash ? _combined : null;
        var file = _file;
        var previousHash = _hashed;
        var previousWrite = _written;
        _written = Task.Run(async () =>
        {
            await previousWrite.ConfigureAwait(false);
            file.Write(chunk.Span);
        });
        _hashed = Task.Run(async () =>
        {
            await previousHash.ConfigureAwait(false);
            if (combined is null)
            {
                hash.AppendData(chunk.Span);
                return;
            }

            // The file's own hash and the combined one (a split image's rootfs) at the same time.
            var both = Task.Run(() => combined.AppendData(chunk.Span));
            hash.AppendData(chunk.Span);
            await both.ConfigureAwait(false);
        });
        _inUse[_current] = Task.WhenAll(_written, _hashed);
        Length += count;
        _current = (_current + 1) % RingSize;

        // The next buffer is free once the chunk it held is hashed and written.
        await _inUse[_current].ConfigureAwait(false);
    }

    /// <summary>Whether every write so far succeeded, so that the file holds exactly the first <see cref="Length"/> bytes.</summary>
    public bool Intact => _inUse.All(t => !t.IsFaulted) && !_written.IsFaulted;

    /// <summary>Waits until every committed byte is written and hashed.</summary>
    public Task DrainAsync() => Task.WhenAll(_inUse);

    /// <summary>Drops everything written (the server ignored <c>Range</c>, or sent another file).</summary>
    public async ValueTask RestartAsync()
    {
        try
        {
            await DrainAsync().ConfigureAwait(false);
        }
        finally
        {
            Array.Fill(_inUse, Task.CompletedTask);
            _hashed = Task.CompletedTask;
            _written = Task.CompletedTask;
        }

        _file.Truncate();
        Length = 0;
        _hash.Dispose();
        if (_keepFileHash)
        {
            _combined?.Dispose();
        }

        _hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        StartCombined();
    }

    /// <summary>Finishes: waits for the hash and returns the file's and the combined SHA-256.</summary>
    public async ValueTask<(string Sha256, string? Combined)> FinishAsync()
    {
        await DrainAsync().ConfigureAwait(false);
        _file.Dispose();
        var sha = Convert.ToHexStringLower(_hash.GetHashAndReset());
        if (!_keepFileHash)
        {
            return (sha, sha);
        }

        var combined = _combined is null ? null : Convert.ToHexStringLower(_combined.GetHashAndReset());
        return (sha, combined);
    }

    public void Dispose()
    {
        // A hash or write task may still read a buffer: let it end before the buffer goes back to the pool.
        try
        {
            Task.WaitAll(_inUse);
        }
        catch (AggregateException)
        {
        }

        _file.Dispose();
        _hash.Dispose();
        if (_keepFileHash)
        {
            _combined?.Dispose();
        }

        foreach (var buffer in _buffers)
        {
            buffer.Dispose();
        }
    }

    private void StartCombined()
    {
        if (_combinedPrefixFile is null)
        {
            _combined = null;
            return;
        }

        _combined = _keepFileHash ? IncrementalHash.CreateHash(HashAlgorithmName.SHA256) : _hash;
        using var prefix = File.OpenRead(_combinedPrefixFile);
        var buffer = _buffers[_current].Span;
        int n;
        while ((n = prefix.Read(buffer)) > 0)
        {
            _combined.AppendData(buffer[..n]);
        }
    }
}
