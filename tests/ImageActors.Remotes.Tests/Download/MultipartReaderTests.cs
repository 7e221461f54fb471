using System.Net.Http.Headers;
using ImageActors.Remotes.Download;

namespace ImageActors.Remotes.Tests.Download;

public sealed class MultipartReaderTests
{
    [Theory]
    [InlineData(0)]
    [InlineData(1)]
    [InlineData(100_000)]
    [InlineData(3_000_000)]
    public async Task Parts_of_any_size_come_back_byte_for_byte(int size)
    {
        var first = Bytes.Random(size, 1);
        // Bytes that look like the start of a boundary must stay data.
        var second = "\r\n--bound\r\n--boundar"u8.ToArray().Concat(Bytes.Random(size, 2)).ToArray();
        using var content = new MultipartFormDataContent("boundary");
        content.Add(new ByteArrayContent(first), "metadata", "meta.tar.xz");
        content.Add(new ByteArrayContent(second), "rootfs", "root.squashfs");
        var body = new MemoryStream(await content.ReadAsByteArrayAsync());
        using var reader = new MultipartReader(new TrickleStream(body, 7777), MultipartReader.BoundaryOf(content.Headers.ContentType)!, bufferSize: 40_000);

        var a = await reader.ReadNextSectionAsync();
        Assert.Equal("metadata", a!.Name);
        Assert.Equal("meta.tar.xz", a.FileName);
        Assert.Equal(first, await ReadAll(a.Body));
        var b = await reader.ReadNextSectionAsync();
        Assert.Equal("rootfs", b!.Name);
        Assert.Equal(second, await ReadAll(b.Body));
        Assert.Null(await reader.ReadNextSectionAsync());
    }

    [Theory]
    [InlineData("multipart/form-data; boundary=\"\"", "The Content-Type names an empty multipart boundary.")]
    [InlineData("multipart/form-data; boundary=0123456789012345678901234567890123456789012345678901234567890123456789x", "The multipart boundary in the Content-Type is 71 characters long; at most 70 are allowed.")]
    public void A_boundary_the_sender_left_empty_or_made_too_long_is_invalid_multipart_data(string contentType, string message)
    {
        var boundary = MultipartReader.BoundaryOf(MediaTypeHeaderValue.Parse(contentType))!;

        var error = Assert.Throws<InvalidDataException>(() => new MultipartReader(new MemoryStream("--\r\n"u8.ToArray()), boundary));

        Assert.Equal(message, error.Message);
    }

    [Fact]
    public async Task Unread_part_is_skipped_to_reach_the_next()
    {
        using var content = new MultipartFormDataContent("xyz");
        content.Add(new ByteArrayContent(Bytes.Random(200_000, 3)), "metadata", "m");
        content.Add(new ByteArrayContent([1, 2, 3]), "rootfs", "r");
        using var reader = new MultipartReader(new MemoryStream(await content.ReadAsByteArrayAsync()), "xyz");

        await reader.ReadNextSectionAsync();
        var second = await reader.ReadNextSectionAsync();

        Assert.Equal(new byte[] { 1, 2, 3 }, await ReadAll(second!.Body));
    }

    [Fact]
    public async Task Truncated_body_is_an_error_not_a_short_part()
    {
        using var content = new MultipartFormDataContent("xyz");
        content.Add(new ByteArrayContent(Bytes.Random(50_000, 3)), "metadata", "m");
        var bytes = await content.ReadAsByteArrayAsync();
        using var reader = new MultipartReader(new MemoryStream(bytes[..30_000]), "xyz");

        var part = await reader.ReadNextSectionAsync();

        await Assert.ThrowsAsync<IOException>(() => ReadAll(part!.Body));
    }

    [Fact]
    public void Boundary_is_read_from_a_quoted_content_type() =>
        Assert.Equal("a b", MultipartReader.BoundaryOf(MediaTypeHeaderValue.Parse("multipart/form-data; boundary=\"a b\"")));

    private static async Task<byte[]> ReadAll(Stream stream)
    {
        using var memory = new MemoryStream();
        await stream.CopyToAsync(memory);
        return memory.ToArray();
    }

    /// <summary>Returns at most a few bytes per read, so boundaries straddle reads.</summary>
    private sealed class TrickleStream(Stream inner, int max) : Stream
    {
        public override bool CanRead => true;

        public override bool CanSeek => false;

        public override bool CanWrite => false;

        public override long Length => throw new NotSupportedException();

        public override long Position { get => throw new NotSupportedException(); set => throw new NotSupportedException(); }

        public override int Read(byte[] buffer, int offset, int count) => inner.Read(buffer, offset, Math.Min(count, max));

        public override ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default) =>
            inner.ReadAsync(buffer[..Math.Min(buffer.Length, max)], cancellationToken);

        public override void Flush()
        {
        }

        public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();

        public override void SetLength(long value) => throw new NotSupportedException();

        public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();
    }
}
