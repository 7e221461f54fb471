using ImageActors.Images.Domain;
using Microsoft.AspNetCore.WebUtilities;

namespace ImageActors.Server.Api;

/// <summary>
/// The rootfs part of a split upload, opened on first read: a multipart body can only be read front
/// to back, so the part is located only once the metadata part has been consumed.
/// </summary>
internal sealed class NextPartStream(MultipartReader reader, CancellationToken cancellationToken) : Stream
{
    private Stream? _part;

    /// <summary>The image type the part's name declares, once opened.</summary>
    public ImageType? Type { get; private set; }

    public override bool CanRead => true;

    public override bool CanSeek => false;

    public override bool CanWrite => false;

    public override long Length => throw new NotSupportedException();

    public override long Position { get => throw new NotSupportedException(); set => throw new NotSupportedException(); }

    public override int Read(byte[] buffer, int offset, int count) => ReadAsync(buffer.AsMemory(offset, count)).AsTask().GetAwaiter().GetResult();

    public override Task<int> ReadAsync(byte[] buffer, int offset, int count, CancellationToken token) => ReadAsync(buffer.AsMemory(offset, count), token).AsTask();

    public override async ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken token = default)
    {
        _part ??= await OpenAsync();
        return await _part.ReadAsync(buffer, token);
    }

    public override void Flush()
    {
    }

    public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();

    public override void SetLength(long value) => throw new NotSupportedException();

    public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();

    private async Task<Stream> OpenAsync()
    {
        var section = await reader.ReadNextSectionAsync(cancellationToken);
        Type = section is null ? null : ImageUploads.PartName(section) switch
        {
            "rootfs" => ImageType.Container,
            "rootfs.img" => ImageType.VirtualMachine,
            _ => null,
        };
        if (section is null || Type is null)
        {
            throw new InvalidDataException("Invalid multipart image: the second part must be named \"rootfs\" or \"rootfs.img\"");
        }

        return section.Body;
    }
}

/// <summary>
/// Counts the bytes read through it (upload metrics). Its reads of the request body are not cancelled with the import:
/// Kestrel's body reader stays "in progress" after a cancelled read, so it could not drain the rest of the body and
/// would reset the connection, and the client would see a broken pipe instead of the import's error (a full disk). A
/// read ends when bytes arrive, the client goes away or Kestrel's body-rate limit cuts it.
/// </summary>
internal sealed class CountingStream(Stream inner) : Stream
{
    public long BytesRead { get; private set; }

    public override bool CanRead => true;

    public override bool CanSeek => false;

    public override bool CanWrite => false;

    public override long Length => inner.Length;

    public override long Position { get => BytesRead; set => throw new NotSupportedException(); }

    public override int Read(byte[] buffer, int offset, int count)
    {
        var read = inner.Read(buffer, offset, count);
        BytesRead += read;
        return read;
    }

    public override Task<int> ReadAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken) =>
        ReadAsync(buffer.AsMemory(offset, count), cancellationToken).AsTask();

    public override async ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default)
    {
        _ = cancellationToken;
        var read = await inner.ReadAsync(buffer, CancellationToken.None);
        BytesRead += read;
        return read;
    }

    public override void Flush()
    {
    }

    public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();

    public override void SetLength(long value) => throw new NotSupportedException();

    public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();
}
