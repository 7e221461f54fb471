using System.Buffers;
using System.Security.Cryptography;
using Microsoft.Win32.SafeHandles;

namespace ImageActors.Remotes.Download;

/// <summary>
/// Writes a file from network chunks while hashing them on another thread: chunk N is hashed while
/// chunk N+1 is read, so the hash (the slowest stage) overlaps the network and the disk. Two pooled
/// buffers alternate. The hash state always covers exactly the bytes written, so a download can
/// resume from <see cref="Length"/> without re-reading the file.
/// </summary>
internal sealed class HashingFileWriter : IDisposable
{
    private readonly SafeFileHandle _file;
    private readonly byte[][] _buffers;
    private readonly int _chunkSize;
    private IncrementalHash _hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
    private IncrementalHash? _combined;
    private readonly string? _combinedPrefixFile;
    private readonly bool _keepFileHash;
    private Task _pendingHash = Task.CompletedTask;
    private int _current;

    /// <param name="path">The file to create.</param>
    /// <param name="chunkSize">Bytes per chunk.</param>
    /// <param name="preallocate">Expected size, reserved on disk up front.</param>
    /// <param name="combinedPrefixFile">A file whose bytes precede this one in a combined hash.</param>
    /// <param name="keepFileHash">
    /// Whether this file's own hash is needed besides the combined one; when not, a single hash seeded
    /// with the prefix is kept (one pass over the bytes instead of two).
    /// </param>
    public HashingFileWriter(string path, int chunkSize, long? preallocate, string? combinedPrefixFile, bool keepFileHash)
    {
        _chunkSize = chunkSize;
        _combinedPrefixFile = combinedPrefixFile;
        _keepFileHash = keepFileHash || combinedPrefixFile is null;
        _file = File.OpenHandle(path, FileMode.CreateNew, FileAccess.ReadWrite, FileShare.Read, FileOptions.None, preallocate ?? 0);
        _buffers = [ArrayPool<byte>.Shared.Rent(chunkSize), ArrayPool<byte>.Shared.Rent(chunkSize)];
        Path = path;
        StartCombined();
    }

    public string Path { get; }

    /// <summary>Bytes written (and hashed, once <see cref="DrainAsync"/> returned).</summary>
    public long Length { get; private set; }

    /// <summary>The buffer to read the next chunk into; its previous hash has finished.</summary>
    public Memory<byte> NextBuffer => _buffers[_current].AsMemory(0, _chunkSize);

    /// <summary>Writes the first <paramref name="count"/> bytes of <see cref="NextBuffer"/> and starts hashing them.</summary>
    public async ValueTask CommitAsync(int count)
    {
        // The hash is sequential: wait for the previous chunk before feeding this one.
        await _pendingHash.ConfigureAwait(false);
        var chunk = new ReadOnlyMemory<byte>(_buffers[_current], 0, count);
        var hash = _hash;
        var combined = _keepFileHash ? _combined : null;
        _pendingHash = combined is null
            ? Task.Run(() => hash.AppendData(chunk.Span))
            : Task.WhenAll(Task.Run(() => hash.AppendData(chunk.Span)), Task.Run(() => combined.AppendData(chunk.Span)));
        RandomAccess.Write(_file, chunk.Span, Length);
        Length += count;
        _current ^= 1;
    }

    /// <summary>Waits until every written byte is hashed.</summary>
    public Task DrainAsync() => _pendingHash;

    /// <summary>Drops everything written (the server ignored <c>Range</c>, or sent another file).</summary>
    public async ValueTask RestartAsync()
    {
        try
        {
            await _pendingHash.ConfigureAwait(false);
        }
        finally
        {
            _pendingHash = Task.CompletedTask;
        }

        RandomAccess.SetLength(_file, 0);
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
        await _pendingHash.ConfigureAwait(false);
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
        // A hash task may still read a buffer: let it end before the buffer goes back to the pool.
        try
        {
            _pendingHash.Wait();
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
            ArrayPool<byte>.Shared.Return(buffer);
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
        var buffer = _buffers[_current];
        int n;
        while ((n = prefix.Read(buffer, 0, _chunkSize)) > 0)
        {
            _combined.AppendData(buffer, 0, n);
        }
    }
}
