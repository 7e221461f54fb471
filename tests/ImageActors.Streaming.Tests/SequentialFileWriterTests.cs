using ImageActors.Streaming.Storage;

namespace ImageActors.Streaming.Tests;

public sealed class SequentialFileWriterTests : IDisposable
{
    private readonly TempDirectory _dir = new();

    public void Dispose() => _dir.Dispose();

    // Direct I/O exists on the disk file systems (ext4, xfs, btrfs) and not on tmpfs; the test folder's type says which.
    private bool DirectExpected => Shell.Run($"stat -f -c %T {Shell.Q(_dir.Path)}").Trim() != "tmpfs";

    [Fact]
    public void Aligned_buffers_start_on_a_block_boundary_and_come_back_from_the_pool()
    {
        using (var first = AlignedBuffer.Rent(3 * SequentialFileWriter.Alignment))
        {
            Assert.Equal(0, AddressOf(first) % SequentialFileWriter.Alignment);
            Assert.Equal(3 * SequentialFileWriter.Alignment, first.Memory.Length);
        }

        using var again = AlignedBuffer.Rent(3 * SequentialFileWriter.Alignment);
        Assert.Equal(0, AddressOf(again) % SequentialFileWriter.Alignment);
        Assert.Equal(3 * SequentialFileWriter.Alignment, again.Span.Length);
    }

    [Fact]
    public void Whole_aligned_blocks_go_around_the_page_cache_and_an_unaligned_tail_is_written_through_it()
    {
        var bytes = TestData.Mixed((5 * SequentialFileWriter.Alignment) + 1234, seed: 3);
        var path = _dir["file"];
        using (var buffer = AlignedBuffer.Rent(2 * SequentialFileWriter.Alignment))
        using (var writer = SequentialFileWriter.Create(path))
        {
            Assert.Equal(DirectExpected, writer.IsDirect);
            var offset = 0;
            while (bytes.Length - offset >= buffer.Length)
            {
                bytes.AsSpan(offset, buffer.Length).CopyTo(buffer.Span);
                writer.Write(buffer.Span);
                offset += buffer.Length;
            }

            Assert.Equal(DirectExpected, writer.IsDirect);
            var tail = bytes.Length - offset;
            bytes.AsSpan(offset).CopyTo(buffer.Span);
            writer.Write(buffer.Span[..tail]);

            Assert.False(writer.IsDirect);
            Assert.Equal(bytes.Length, writer.Length);
            writer.Flush();
        }

        Assert.Equal(bytes, File.ReadAllBytes(path));
    }

    [Fact]
    public void Memory_off_a_block_boundary_is_written_through_the_page_cache_and_later_aligned_writes_stay_there()
    {
        var bytes = TestData.Mixed(4 * SequentialFileWriter.Alignment, seed: 4);
        var path = _dir["file"];
        var unaligned = new byte[SequentialFileWriter.Alignment + 1];
        bytes.AsSpan(0, SequentialFileWriter.Alignment).CopyTo(unaligned.AsSpan(1));
        using (var buffer = AlignedBuffer.Rent(3 * SequentialFileWriter.Alignment))
        using (var writer = SequentialFileWriter.Create(path))
        {
            writer.Write(unaligned.AsSpan(1));
            Assert.False(writer.IsDirect);
            bytes.AsSpan(SequentialFileWriter.Alignment).CopyTo(buffer.Span);
            writer.Write(buffer.Span);
            Assert.False(writer.IsDirect);
        }

        Assert.Equal(bytes, File.ReadAllBytes(path));
    }

    [Fact]
    public void Truncate_drops_what_was_written_and_writes_around_the_cache_again()
    {
        var path = _dir["file"];
        var bytes = TestData.Mixed(2 * SequentialFileWriter.Alignment, seed: 5);
        using (var buffer = AlignedBuffer.Rent(2 * SequentialFileWriter.Alignment))
        using (var writer = SequentialFileWriter.Create(path))
        {
            writer.Write([1, 2, 3]);
            Assert.False(writer.IsDirect);

            writer.Truncate();
            Assert.Equal(0, writer.Length);
            Assert.Equal(DirectExpected, writer.IsDirect);
            bytes.CopyTo(buffer.Span);
            writer.Write(buffer.Span);
        }

        Assert.Equal(bytes, File.ReadAllBytes(path));
    }

    [Fact]
    public async Task An_import_written_around_the_page_cache_and_one_written_through_it_store_the_same_bytes()
    {
        // Whole pieces, then a tail that is not a whole block.
        var bytes = TestData.Mixed((3 * PipelinedCopy.PieceSize) + 12_345, seed: 8);
        var direct = await new BlobStore(_dir["direct"]).ImportAsync(new MemoryStream(bytes));
        var cached = await new BlobStore(_dir["cached"], new BlobStoreOptions(DirectWrites: false)).ImportAsync(new MemoryStream(bytes));

        Assert.Equal(direct.Fingerprint, cached.Fingerprint);
        Assert.Equal(bytes, await File.ReadAllBytesAsync(direct.MetadataPath));
        Assert.Equal(bytes, await File.ReadAllBytesAsync(cached.MetadataPath));
    }

    private static unsafe long AddressOf(AlignedBuffer buffer)
    {
        fixed (byte* p = buffer.Span)
        {
            return (long)p;
        }
    }
}
