using System.Security.Cryptography;
using ImageActors.Streaming.Hashing;
using ImageActors.Streaming.Storage;

namespace ImageActors.Streaming.Tests;

public sealed class BlobStoreTests : IDisposable
{
    private readonly TempDirectory _dir = new();

    public void Dispose() => _dir.Dispose();

    private static Fingerprint Sha256(params byte[][] parts) => new(SHA256.HashData(parts.SelectMany(p => p).ToArray()));

    [Fact]
    public async Task An_import_stores_the_bytes_under_their_sha256_and_leaves_no_temp_file()
    {
        var store = new BlobStore(_dir["data"]);
        var bytes = TestData.Mixed(5 * 1024 * 1024 + 7);

        var stored = await store.ImportAsync(new MemoryStream(bytes), expected: Sha256(bytes));

        Assert.Equal(Sha256(bytes), stored.Fingerprint);
        Assert.Equal(bytes, await File.ReadAllBytesAsync(store.MetadataPath(stored.Fingerprint)));
        Assert.False(stored.IsSplit);
        Assert.Empty(Directory.EnumerateFileSystemEntries(store.TempDirectory));
        Assert.Equal(stored.Fingerprint, await ImageHasher.HashFileAsync(stored.MetadataPath));
    }

    [Fact]
    public async Task Importing_the_same_bytes_twice_keeps_one_file()
    {
        var store = new BlobStore(_dir["data"]);
        var bytes = TestData.Mixed(100_000);

        var first = await store.ImportAsync(new MemoryStream(bytes));
        var second = await store.ImportAsync(new MemoryStream(bytes));

        Assert.False(first.AlreadyStored);
        Assert.True(second.AlreadyStored);
        Assert.Single(Directory.EnumerateFiles(store.ImagesDirectory));
    }

    [Fact]
    public async Task A_hash_mismatch_is_a_typed_error_and_leaves_no_file()
    {
        var store = new BlobStore(_dir["data"]);
        var bytes = TestData.Mixed(3 * 1024 * 1024);
        var wrong = Sha256([1, 2, 3]);

        var error = await Assert.ThrowsAsync<HashMismatchException>(() => store.ImportAsync(new MemoryStream(bytes), wrong, "https://example.test/x.tar.xz"));

        Assert.Equal(wrong, error.Expected);
        Assert.Equal(Sha256(bytes), error.Actual);
        Assert.Equal("https://example.test/x.tar.xz", error.SourceName);
        Assert.Empty(Directory.EnumerateFileSystemEntries(store.ImagesDirectory));
        Assert.Empty(Directory.EnumerateFileSystemEntries(store.TempDirectory));
    }

    [Fact]
    public async Task A_split_image_is_fingerprinted_over_metadata_then_rootfs_and_stored_as_a_pair()
    {
        var store = new BlobStore(_dir["data"]);
        var meta = TestData.Mixed(20_000, seed: 2);
        var rootfs = TestData.Mixed(2_500_000, seed: 3);

        var stored = await store.ImportSplitAsync(new MemoryStream(meta), new MemoryStream(rootfs), expected: Sha256(meta, rootfs));

        Assert.Equal(Sha256(meta, rootfs), stored.Fingerprint);
        Assert.Equal(meta, await File.ReadAllBytesAsync(store.MetadataPath(stored.Fingerprint)));
        Assert.Equal(rootfs, await File.ReadAllBytesAsync(store.RootfsPath(stored.Fingerprint)));
        Assert.Equal(meta.Length + rootfs.Length, stored.Size);
        Assert.Equal(stored.Fingerprint, await ImageHasher.HashSplitAsync(stored.MetadataPath, stored.RootfsPath!));
        Assert.Equal(stored, store.Find(stored.Fingerprint)! with { AlreadyStored = false });
    }

    [Fact]
    public async Task A_split_hash_mismatch_leaves_neither_file()
    {
        var store = new BlobStore(_dir["data"]);
        var meta = TestData.Mixed(20_000, seed: 2);
        var rootfs = TestData.Mixed(200_000, seed: 3);

        await Assert.ThrowsAsync<HashMismatchException>(() => store.ImportSplitAsync(new MemoryStream(meta), new MemoryStream(rootfs), expected: Sha256(rootfs, meta)));

        Assert.Empty(Directory.EnumerateFileSystemEntries(store.ImagesDirectory));
        Assert.Empty(Directory.EnumerateFileSystemEntries(store.TempDirectory));
    }

    [Fact]
    public async Task A_failing_source_leaves_nothing_behind()
    {
        var store = new BlobStore(_dir["data"]);

        await Assert.ThrowsAsync<IOException>(() => store.ImportAsync(new FailingStream(3 * PipelinedCopy.PieceSize)));

        Assert.Empty(Directory.EnumerateFileSystemEntries(store.ImagesDirectory));
        Assert.Empty(Directory.EnumerateFileSystemEntries(store.TempDirectory));
    }

    [Theory]
    [InlineData(PipelinedCopy.FirstPieceSize - 1)]
    [InlineData(PipelinedCopy.FirstPieceSize)]
    [InlineData(PipelinedCopy.FirstPieceSize + 1)]
    [InlineData(PipelinedCopy.FirstPieceSize + PipelinedCopy.PieceSize + 1)]
    [InlineData(PipelinedCopy.FirstPieceSize + (PipelinedCopy.RingSize * PipelinedCopy.PieceSize) + 4097)]
    public async Task A_copy_around_the_small_first_buffer_keeps_every_byte_and_its_hash(int length)
    {
        var store = new BlobStore(_dir["data"]);
        var bytes = TestData.Mixed(length, seed: length);
        using var pending = store.CreatePending();

        var copied = await pending.AppendAsync(new TrickleStream(bytes, 40_000));
        var stored = store.Commit(pending, Sha256(bytes), "upload");

        Assert.Equal(bytes.Length, copied);
        Assert.Equal(bytes, await File.ReadAllBytesAsync(stored.MetadataPath));
    }

    [Fact]
    public async Task A_stream_of_small_reads_longer_than_the_buffer_ring_arrives_whole_with_its_progress()
    {
        var store = new BlobStore(_dir["data"]);
        var bytes = TestData.Mixed((PipelinedCopy.RingSize + 2) * PipelinedCopy.PieceSize + 12_345, seed: 6);
        var reported = new List<long>();
        using var pending = store.CreatePending();

        var copied = await pending.AppendAsync(new TrickleStream(bytes, 7000), new SynchronousProgress(reported.Add));
        var stored = store.Commit(pending, Sha256(bytes), "upload");

        Assert.Equal(bytes.Length, copied);
        Assert.Equal(bytes, await File.ReadAllBytesAsync(stored.MetadataPath));
        Assert.Equal(bytes.Length, reported[^1]);
        Assert.Equal(reported.Order(), reported);
    }

    [Fact]
    public async Task A_check_beside_the_copy_reads_every_byte_in_order_while_the_file_is_written_whole()
    {
        var store = new BlobStore(_dir["data"]);
        var bytes = TestData.Mixed((PipelinedCopy.RingSize + 3) * PipelinedCopy.PieceSize + 4321, seed: 8);
        using var pending = store.CreatePending();
        byte[]? checkedBytes = null;

        var copied = await pending.AppendAsync(new TrickleStream(bytes, 300_000), check: stream =>
        {
            using var seen = new MemoryStream();
            var buffer = new byte[77_777];
            int n;
            while ((n = stream.Read(buffer)) > 0)
            {
                seen.Write(buffer, 0, n);
            }

            checkedBytes = seen.ToArray();
        });
        var stored = store.Commit(pending, Sha256(bytes), "upload");

        Assert.Equal(bytes.Length, copied);
        Assert.Equal(bytes, checkedBytes);
        Assert.Equal(bytes, await File.ReadAllBytesAsync(stored.MetadataPath));
    }

    [Fact]
    public async Task A_check_that_fails_early_fails_the_copy_with_its_error_after_the_source_was_read_to_its_end()
    {
        var store = new BlobStore(_dir["data"]);
        var bytes = TestData.Mixed((PipelinedCopy.RingSize + 3) * PipelinedCopy.PieceSize, seed: 9);
        var source = new MemoryStream(bytes);
        using var pending = store.CreatePending();

        var error = await Assert.ThrowsAsync<InvalidDataException>(() => pending.AppendAsync(source, check: stream =>
        {
            stream.ReadExactly(new byte[1000]);
            throw new InvalidDataException("damaged at byte 1000");
        }));

        Assert.Equal("damaged at byte 1000", error.Message);
        Assert.Equal(bytes.Length, source.Position);
        Assert.Equal(bytes.Length, pending.Length);
    }

    [Fact]
    public async Task A_check_that_stops_reading_before_the_end_does_not_hold_up_the_copy()
    {
        var store = new BlobStore(_dir["data"]);
        var bytes = TestData.Mixed((PipelinedCopy.RingSize + 5) * PipelinedCopy.PieceSize + 1, seed: 10);
        using var pending = store.CreatePending();

        var copied = await pending.AppendAsync(new MemoryStream(bytes), check: stream => stream.ReadExactly(new byte[10]));
        var stored = store.Commit(pending, Sha256(bytes), "upload");

        Assert.Equal(bytes.Length, copied);
        Assert.Equal(bytes, await File.ReadAllBytesAsync(stored.MetadataPath));
    }

    [Fact]
    public async Task A_file_import_larger_than_the_cache_window_keeps_every_byte_after_its_pages_are_dropped()
    {
        var store = new BlobStore(_dir["data"]);
        var bytes = TestData.Mixed((48 << 20) + 4097, seed: 7);
        var source = _dir["image.tar.zst"];
        await File.WriteAllBytesAsync(source, bytes);

        var stored = await store.ImportFileAsync(source, Sha256(bytes));

        Assert.Equal(bytes.Length, stored.Size);
        Assert.Equal(bytes, await File.ReadAllBytesAsync(stored.MetadataPath));
        Assert.Empty(Directory.EnumerateFileSystemEntries(store.TempDirectory));
    }

    [Fact]
    public async Task Cancelling_an_import_mid_copy_leaves_no_temp_file()
    {
        var store = new BlobStore(_dir["data"]);
        using var cancel = new CancellationTokenSource();
        var source = new EndlessStream(afterBytes: 3L * PipelinedCopy.PieceSize, cancel.Cancel);

        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => store.ImportAsync(source, cancellationToken: cancel.Token));

        Assert.Empty(Directory.EnumerateFileSystemEntries(store.ImagesDirectory));
        Assert.Empty(Directory.EnumerateFileSystemEntries(store.TempDirectory));
    }

    [Fact]
    public async Task Files_hashed_while_they_were_written_are_committed_under_the_fingerprint_as_a_split_pair()
    {
        var store = new BlobStore(_dir["data"]);
        var meta = TestData.Mixed(40_000);
        var rootfs = TestData.Mixed(300_000);
        var metaPath = Path.Combine(store.TempDirectory, "meta.part");
        var rootfsPath = Path.Combine(store.TempDirectory, "rootfs.part");
        await File.WriteAllBytesAsync(metaPath, meta);
        await File.WriteAllBytesAsync(rootfsPath, rootfs);
        var fingerprint = Sha256(meta, rootfs);

        var stored = store.CommitVerified(metaPath, rootfsPath, fingerprint, fingerprint, "https://example.test/split");

        Assert.True(stored.IsSplit);
        Assert.Equal(meta.Length + rootfs.Length, stored.Size);
        Assert.Equal(meta, await File.ReadAllBytesAsync(store.MetadataPath(fingerprint)));
        Assert.Equal(rootfs, await File.ReadAllBytesAsync(store.RootfsPath(fingerprint)));
        Assert.Empty(Directory.EnumerateFileSystemEntries(store.TempDirectory));
    }

    [Fact]
    public async Task A_written_hash_that_is_not_the_fingerprint_commits_nothing()
    {
        var store = new BlobStore(_dir["data"]);
        var bytes = TestData.Mixed(50_000);
        var path = Path.Combine(store.TempDirectory, "unified.part");
        await File.WriteAllBytesAsync(path, bytes);
        var expected = Sha256([9, 9, 9]);

        var error = Assert.Throws<HashMismatchException>(() => store.CommitVerified(path, null, Sha256(bytes), expected, "https://example.test/u"));

        Assert.Equal(expected, error.Expected);
        Assert.Equal("https://example.test/u", error.SourceName);
        Assert.Empty(Directory.EnumerateFileSystemEntries(store.ImagesDirectory));
    }

    [Fact]
    public void Only_temp_files_of_the_store_can_be_committed_as_verified()
    {
        var store = new BlobStore(_dir["data"]);
        var outside = _dir["elsewhere.bin"];
        File.WriteAllBytes(outside, [1, 2, 3]);
        var fingerprint = Sha256([1, 2, 3]);

        Assert.Throws<ArgumentException>(() => store.CommitVerified(outside, null, fingerprint, fingerprint, "x"));
        Assert.Empty(Directory.EnumerateFileSystemEntries(store.ImagesDirectory));
    }

    [Fact]
    public async Task A_sweep_removes_crash_leftovers_and_images_nobody_knows()
    {
        var store = new BlobStore(_dir["data"]);
        var kept = await store.ImportAsync(new MemoryStream(TestData.Mixed(1000, seed: 4)));
        var forgotten = await store.ImportAsync(new MemoryStream(TestData.Mixed(1000, seed: 5)));
        var split = await store.ImportSplitAsync(new MemoryStream([1, 2]), new MemoryStream([3, 4]));

        // What a crash leaves: a half-written temp file, and a rootfs renamed before its metadata file was.
        await File.WriteAllBytesAsync(Path.Combine(store.TempDirectory, "20260101000000-x.part"), [1, 2, 3]);
        var orphan = Sha256([9]);
        await File.WriteAllBytesAsync(store.RootfsPath(orphan), [9]);
        await File.WriteAllBytesAsync(Path.Combine(store.ImagesDirectory, "not-a-fingerprint"), [0]);

        var result = store.Sweep(new HashSet<Fingerprint> { kept.Fingerprint, split.Fingerprint, orphan });

        Assert.Single(result.RemovedTempFiles);
        Assert.Equal(
            new[] { store.MetadataPath(forgotten.Fingerprint), store.RootfsPath(orphan), Path.Combine(store.ImagesDirectory, "not-a-fingerprint") }.Order(),
            result.RemovedImageFiles.Order());
        Assert.NotNull(store.Find(kept.Fingerprint));
        Assert.True(store.Find(split.Fingerprint)!.IsSplit);
        Assert.Empty(Directory.EnumerateFileSystemEntries(store.TempDirectory));
    }

    [Fact]
    public async Task A_full_disk_ends_in_a_typed_error_and_leaves_nothing_behind()
    {
        var mount = _dir["small"];
        Directory.CreateDirectory(mount);
        try
        {
            Shell.Run($"mount -t tmpfs -o size=2m tmpfs {Shell.Q(mount)}");
        }
        catch (InvalidOperationException)
        {
            // Mounting needs root; the pre-check below still runs.
            mount = null;
        }

        try
        {
            if (mount is not null)
            {
                var store = new BlobStore(mount, new BlobStoreOptions(ReserveBytes: 0));
                await Assert.ThrowsAsync<InsufficientStorageException>(() => store.ImportAsync(new MemoryStream(TestData.Mixed(5 * 1024 * 1024))));
                Assert.Empty(Directory.EnumerateFileSystemEntries(store.ImagesDirectory));
                Assert.Empty(Directory.EnumerateFileSystemEntries(store.TempDirectory));

                // A source that never ends: only the writer's failure can stop the reader.
                await Assert.ThrowsAsync<InsufficientStorageException>(() => store.ImportAsync(new EndlessStream(long.MaxValue, () => { })));
                Assert.Empty(Directory.EnumerateFileSystemEntries(store.ImagesDirectory));
                Assert.Empty(Directory.EnumerateFileSystemEntries(store.TempDirectory));
            }

            var roomy = new BlobStore(_dir["data"]);
            var error = Assert.Throws<InsufficientStorageException>(() => roomy.CreatePending(expectedSize: long.MaxValue / 2));
            Assert.Equal(long.MaxValue / 2, error.NeededBytes);
            Assert.Empty(Directory.EnumerateFileSystemEntries(roomy.TempDirectory));
        }
        finally
        {
            if (mount is not null)
            {
                Shell.Run($"umount {Shell.Q(mount)}");
            }
        }
    }

    private sealed class SynchronousProgress(Action<long> report) : IProgress<long>
    {
        public void Report(long value) => report(value);
    }

    /// <summary>Hands out at most a few KiB per read, like a network upload.</summary>
    private sealed class TrickleStream(byte[] bytes, int maxRead) : MemoryStream(bytes)
    {
        public override int Read(Span<byte> buffer) => base.Read(buffer[..Math.Min(buffer.Length, maxRead)]);

        public override ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default) =>
            base.ReadAsync(buffer[..Math.Min(buffer.Length, maxRead)], cancellationToken);
    }

    /// <summary>Bytes without end; calls <paramref name="reached"/> once when <paramref name="afterBytes"/> were read.</summary>
    private sealed class EndlessStream(long afterBytes, Action reached) : Stream
    {
        private long _read;

        public override int Read(byte[] buffer, int offset, int count)
        {
            if (_read < afterBytes && _read + count >= afterBytes)
            {
                reached();
            }

            _read += count;
            buffer.AsSpan(offset, count).Fill((byte)_read);
            return count;
        }

        public override bool CanRead => true;

        public override bool CanSeek => false;

        public override bool CanWrite => false;

        public override long Length => throw new NotSupportedException();

        public override long Position { get => throw new NotSupportedException(); set => throw new NotSupportedException(); }

        public override void Flush()
        {
        }

        public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();

        public override void SetLength(long value) => throw new NotSupportedException();

        public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();
    }

    private sealed class FailingStream(int failAfter) : Stream
    {
        private int _read;

        public override int Read(byte[] buffer, int offset, int count)
        {
            if (_read >= failAfter)
            {
                throw new IOException("connection reset");
            }

            var n = Math.Min(count, 65536);
            _read += n;
            return n;
        }

        public override bool CanRead => true;

        public override bool CanSeek => false;

        public override bool CanWrite => false;

        public override long Length => throw new NotSupportedException();

        public override long Position { get => throw new NotSupportedException(); set => throw new NotSupportedException(); }

        public override void Flush()
        {
        }

        public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();

        public override void SetLength(long value) => throw new NotSupportedException();

        public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();
    }
}
