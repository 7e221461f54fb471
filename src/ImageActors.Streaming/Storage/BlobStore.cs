using System.Security.Cryptography;

namespace ImageActors.Streaming.Storage;

/// <summary>Options of a <see cref="BlobStore"/>.</summary>
/// <param name="Durable">fsync files and directories at commit (turn off only for throwaway stores).</param>
/// <param name="ReserveBytes">Free space always left on the disk when the size of an incoming image is known.</param>
/// <param name="DirectWrites">Write image files around the page cache where the file system allows (see <see cref="SequentialFileWriter"/>).</param>
public sealed record BlobStoreOptions(bool Durable = true, long ReserveBytes = 64L << 20, bool DirectWrites = true);

/// <summary>
/// Content-addressed image files: <c>&lt;data&gt;/images/&lt;fp&gt;</c> and <c>&lt;fp&gt;.rootfs</c>. Bytes are written
/// to <c>&lt;data&gt;/tmp</c>, hashed on the way, and committed by fsync and an atomic rename only when their hash is
/// the fingerprint; so a final name never holds partial or wrong bytes. Thread-safe: every write has its own
/// temp file, and renames of identical content are idempotent.
/// </summary>
public sealed class BlobStore
{
    private const string RootfsSuffix = ".rootfs";
    private readonly BlobStoreOptions _options;

    /// <summary>Opens (creating its folders) the store under <paramref name="dataDirectory"/>.</summary>
    public BlobStore(string dataDirectory, BlobStoreOptions? options = null)
    {
        ArgumentException.ThrowIfNullOrEmpty(dataDirectory);
        _options = options ?? new BlobStoreOptions();
        ImagesDirectory = Path.Combine(dataDirectory, "images");
        TempDirectory = Path.Combine(dataDirectory, "tmp");
        Directory.CreateDirectory(ImagesDirectory);
        Directory.CreateDirectory(TempDirectory);
    }

    /// <summary><c>&lt;data&gt;/images</c>.</summary>
    public string ImagesDirectory { get; }

    /// <summary><c>&lt;data&gt;/tmp</c>: in-flight writes, garbage after a crash.</summary>
    public string TempDirectory { get; }

    /// <summary>Path of the unified or metadata file of <paramref name="fingerprint"/>.</summary>
    public string MetadataPath(Fingerprint fingerprint) => Path.Combine(ImagesDirectory, fingerprint.ToString());

    /// <summary>Path of the rootfs file of a split image.</summary>
    public string RootfsPath(Fingerprint fingerprint) => Path.Combine(ImagesDirectory, fingerprint + RootfsSuffix);

    /// <summary>The stored files of <paramref name="fingerprint"/>, or null.</summary>
    public StoredImage? Find(Fingerprint fingerprint)
    {
        var meta = new FileInfo(MetadataPath(fingerprint));
        if (!meta.Exists)
        {
            return null;
        }

        var rootfs = new FileInfo(RootfsPath(fingerprint));
        return rootfs.Exists
            ? new StoredImage(fingerprint, meta.FullName, rootfs.FullName, meta.Length + rootfs.Length, AlreadyStored: true)
            : new StoredImage(fingerprint, meta.FullName, null, meta.Length, AlreadyStored: true);
    }

    /// <summary>Removes an image's files (the metadata file first, so a crash leaves at most an orphan rootfs).</summary>
    public bool Delete(Fingerprint fingerprint)
    {
        var existed = File.Exists(MetadataPath(fingerprint));
        File.Delete(MetadataPath(fingerprint));
        File.Delete(RootfsPath(fingerprint));
        return existed;
    }

    /// <summary>
    /// Starts a temp file. For the rootfs of a split image pass the (complete) metadata file as
    /// <paramref name="hashedAfter"/>: the rootfs's fingerprint is then the combined one.
    /// </summary>
    /// <param name="expectedSize">Bytes that will come, when known: refused at once when the disk cannot hold them.</param>
    /// <param name="hashedAfter">The file whose bytes come first in this file's hash.</param>
    public PendingFile CreatePending(long? expectedSize = null, PendingFile? hashedAfter = null)
    {
        if (expectedSize is { } size)
        {
            EnsureSpace(size);
        }

        var hash = hashedAfter?.CloneHash() ?? IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        var path = Path.Combine(TempDirectory, $"{DateTime.UtcNow:yyyyMMddHHmmss}-{Guid.NewGuid():N}.part");
        try
        {
            return new PendingFile(path, hash, hashedAfter, _options.DirectWrites);
        }
        catch (IOException e) when (Posix.IsDiskFull(e))
        {
            hash.Dispose();
            throw new InsufficientStorageException(TempDirectory, expectedSize, e);
        }
    }

    private void EnsureSpace(long bytes)
    {
        var free = new DriveInfo(TempDirectory).AvailableFreeSpace;
        if (free - _options.ReserveBytes < bytes)
        {
            throw new InsufficientStorageException(TempDirectory, bytes);
        }
    }

    /// <summary>Stores a unified image read from <paramref name="source"/> (to its end) in one pass.</summary>
    /// <param name="source">The image bytes.</param>
    /// <param name="expected">The fingerprint the bytes must have, when known (downloads); null to take what comes (uploads).</param>
    /// <param name="sourceName">Where the bytes come from, for errors.</param>
    /// <param name="expectedSize">Total bytes, when known.</param>
    /// <param name="cancellationToken">Stops the copy; nothing is kept.</param>
    /// <exception cref="HashMismatchException">The bytes do not hash to <paramref name="expected"/>.</exception>
    /// <exception cref="InsufficientStorageException">The disk filled up.</exception>
    public async Task<StoredImage> ImportAsync(Stream source, Fingerprint? expected = null, string sourceName = "upload", long? expectedSize = null, CancellationToken cancellationToken = default)
    {
        using var pending = CreatePending(expectedSize);
        await pending.AppendAsync(source, cancellationToken: cancellationToken).ConfigureAwait(false);
        return Commit(pending, expected, sourceName);
    }

    /// <summary>Stores a split image: the metadata bytes, then the rootfs bytes, hashed together.</summary>
    /// <exception cref="HashMismatchException">The combined bytes do not hash to <paramref name="expected"/>.</exception>
    public async Task<StoredImage> ImportSplitAsync(Stream metadata, Stream rootfs, Fingerprint? expected = null, string sourceName = "upload", CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(metadata);
        ArgumentNullException.ThrowIfNull(rootfs);
        using var meta = CreatePending();
        await meta.AppendAsync(metadata, cancellationToken: cancellationToken).ConfigureAwait(false);
        using var root = CreatePending(hashedAfter: meta);
        await root.AppendAsync(rootfs, cancellationToken: cancellationToken).ConfigureAwait(false);
        return CommitSplit(meta, root, expected, sourceName);
    }

    /// <summary>Stores a unified image from a file (which stays where it is).</summary>
    public async Task<StoredImage> ImportFileAsync(string path, Fingerprint? expected = null, CancellationToken cancellationToken = default)
    {
        await using var source = OpenSequential(path);
        return await ImportAsync(source, expected, path, source.Length, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>Stores a split image from its two files.</summary>
    public async Task<StoredImage> ImportSplitFilesAsync(string metadataPath, string rootfsPath, Fingerprint? expected = null, CancellationToken cancellationToken = default)
    {
        await using var meta = OpenSequential(metadataPath);
        await using var rootfs = OpenSequential(rootfsPath);
        EnsureSpace(meta.Length + rootfs.Length);
        return await ImportSplitAsync(meta, rootfs, expected, $"{metadataPath} + {rootfsPath}", cancellationToken).ConfigureAwait(false);
    }

    private static FileStream OpenSequential(string path) =>
        new(path, new FileStreamOptions { Mode = FileMode.Open, Access = FileAccess.Read, Share = FileShare.Read, BufferSize = 0, Options = FileOptions.SequentialScan });

    /// <summary>Commits a complete unified file under its fingerprint, or deletes it if that is not <paramref name="expected"/>.</summary>
    /// <exception cref="HashMismatchException">The bytes do not hash to <paramref name="expected"/>; the temp file is gone.</exception>
    public StoredImage Commit(PendingFile pending, Fingerprint? expected, string sourceName)
    {
        ArgumentNullException.ThrowIfNull(pending);
        var actual = pending.CurrentFingerprint();
        Check(expected, actual, sourceName, pending);
        pending.FlushAndClose(_options.Durable);
        var target = MetadataPath(actual);
        var already = File.Exists(target);
        Publish(pending, target);
        SyncImagesDirectory();
        return new StoredImage(actual, target, null, pending.Length, already);
    }

    /// <summary>
    /// Commits a split pair: the rootfs file (whose hash continues the metadata file's) is renamed first, then the
    /// metadata file, so a crash in between leaves at worst an orphan <c>.rootfs</c> that <see cref="Sweep"/> removes.
    /// </summary>
    /// <exception cref="HashMismatchException">The combined bytes do not hash to <paramref name="expected"/>; both temp files are gone.</exception>
    public StoredImage CommitSplit(PendingFile metadata, PendingFile rootfs, Fingerprint? expected, string sourceName)
    {
        ArgumentNullException.ThrowIfNull(metadata);
        ArgumentNullException.ThrowIfNull(rootfs);
        if (!ReferenceEquals(rootfs.HashedAfter, metadata) || rootfs.HashedAfterLength != metadata.Length)
        {
            throw new InvalidOperationException("The rootfs file must be created after the metadata file was complete, with hashedAfter: metadata.");
        }

        var actual = rootfs.CurrentFingerprint();
        Check(expected, actual, sourceName, metadata, rootfs);
        metadata.FlushAndClose(_options.Durable);
        rootfs.FlushAndClose(_options.Durable);
        var metaTarget = MetadataPath(actual);
        var rootfsTarget = RootfsPath(actual);
        var already = File.Exists(metaTarget) && File.Exists(rootfsTarget);
        Publish(rootfs, rootfsTarget);
        SyncImagesDirectory();
        Publish(metadata, metaTarget);
        SyncImagesDirectory();
        return new StoredImage(actual, metaTarget, rootfsTarget, metadata.Length + rootfs.Length, already);
    }

    /// <summary>
    /// Commits files that a writer put into <see cref="TempDirectory"/> while hashing every byte it wrote (the remote
    /// downloader does), so they are not read a second time: <paramref name="writtenHash"/> is the hash that writer
    /// computed (of the file, or for a split image of metadata then rootfs) and must equal
    /// <paramref name="expected"/>. The files are flushed to disk and renamed as <see cref="Commit"/> does.
    /// </summary>
    /// <param name="metadataPath">The unified or metadata file, in <see cref="TempDirectory"/>.</param>
    /// <param name="rootfsPath">The rootfs file of a split image, or null.</param>
    /// <param name="writtenHash">The SHA-256 the writer computed over the bytes it wrote.</param>
    /// <param name="expected">The fingerprint the image must have.</param>
    /// <param name="sourceName">Where the bytes came from, for errors.</param>
    /// <exception cref="HashMismatchException">The written bytes do not hash to <paramref name="expected"/>; the files are left to the caller.</exception>
    public StoredImage CommitVerified(string metadataPath, string? rootfsPath, Fingerprint writtenHash, Fingerprint expected, string sourceName)
    {
        var metadata = TempFile(metadataPath);
        var rootfs = rootfsPath is null ? null : TempFile(rootfsPath);
        if (writtenHash != expected)
        {
            throw new HashMismatchException(expected, writtenHash, sourceName);
        }

        var length = FlushFile(metadata) + (rootfs is null ? 0 : FlushFile(rootfs));
        var metaTarget = MetadataPath(expected);
        string? rootfsTarget = null;
        var already = File.Exists(metaTarget);
        if (rootfs is not null)
        {
            rootfsTarget = RootfsPath(expected);
            already &= File.Exists(rootfsTarget);

            // The rootfs goes first: a metadata file under a final name always has its rootfs beside it.
            File.Move(rootfs, rootfsTarget, overwrite: true);
            SyncImagesDirectory();
        }

        File.Move(metadata, metaTarget, overwrite: true);
        SyncImagesDirectory();
        return new StoredImage(expected, metaTarget, rootfsTarget, length, already);
    }

    private string TempFile(string path)
    {
        var full = Path.GetFullPath(path);
        if (!string.Equals(Path.GetDirectoryName(full), Path.GetFullPath(TempDirectory).TrimEnd('/'), StringComparison.Ordinal))
        {
            throw new ArgumentException($"{path} is not a temp file of this store.", nameof(path));
        }

        return full;
    }

    private long FlushFile(string path)
    {
        using var handle = File.OpenHandle(path, FileMode.Open, FileAccess.Write);
        if (_options.Durable)
        {
            try
            {
                Posix.FlushToDisk(handle);
            }
            catch (IOException e) when (Posix.IsDiskFull(e))
            {
                throw new InsufficientStorageException(TempDirectory, null, e);
            }
        }

        return RandomAccess.GetLength(handle);
    }

    private static void Check(Fingerprint? expected, Fingerprint actual, string sourceName, params PendingFile[] files)
    {
        if (expected is { } want && want != actual)
        {
            foreach (var file in files)
            {
                file.Dispose();
            }

            throw new HashMismatchException(want, actual, sourceName);
        }
    }

    private static void Publish(PendingFile pending, string target)
    {
        // rename(2) replaces atomically; an existing file of the same name has the same bytes, by construction.
        File.Move(pending.Path, target, overwrite: true);
        pending.Committed = true;
    }

    private void SyncImagesDirectory()
    {
        if (_options.Durable)
        {
            Posix.FlushDirectory(ImagesDirectory);
        }
    }

    /// <summary>
    /// Removes the temp files (older than <paramref name="olderThan"/>, when given); call it when no write is in flight,
    /// such as when the store stopped. Kept partial downloads live in a folder below and stay.
    /// </summary>
    public IReadOnlyList<string> SweepTemporaryFiles(DateTime? olderThan = null)
    {
        var temps = new List<string>();
        foreach (var file in Directory.EnumerateFiles(TempDirectory))
        {
            if (olderThan is null || File.GetLastWriteTimeUtc(file) < olderThan)
            {
                File.Delete(file);
                temps.Add(file);
            }
        }

        return temps;
    }

    /// <summary>
    /// Removes what no committed image owns: every temp file (call it when no write is in flight: at start-up or
    /// recovery, or pass <paramref name="tempOlderThan"/>), files under <c>images/</c> whose fingerprint is not in
    /// <paramref name="known"/> (when given), names that are no fingerprint, and <c>.rootfs</c> files whose
    /// metadata file is missing.
    /// </summary>
    public SweepResult Sweep(IReadOnlySet<Fingerprint>? known = null, DateTime? tempOlderThan = null)
    {
        var temps = SweepTemporaryFiles(tempOlderThan);
        var images = new List<string>();
        foreach (var file in Directory.EnumerateFileSystemEntries(ImagesDirectory))
        {
            var name = Path.GetFileName(file);
            var isRootfs = name.EndsWith(RootfsSuffix, StringComparison.Ordinal);
            var fpText = isRootfs ? name[..^RootfsSuffix.Length] : name;
            var keep = Fingerprint.TryParse(fpText, out var fp)
                && fpText == fp.ToString()
                && (known is null || known.Contains(fp))
                && (!isRootfs || File.Exists(MetadataPath(fp)))
                && !Directory.Exists(file);
            if (!keep)
            {
                if (Directory.Exists(file))
                {
                    Directory.Delete(file, recursive: true);
                }
                else
                {
                    File.Delete(file);
                }

                images.Add(file);
            }
        }

        if (images.Count > 0)
        {
            SyncImagesDirectory();
        }

        return new SweepResult(temps, images);
    }
}
