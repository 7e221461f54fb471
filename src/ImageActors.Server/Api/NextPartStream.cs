using ImageActors.Images.Domain;
using Microsoft.AspNetCore.WebUtilities;

namespace ImageActors.Server.Api;

/// <summary>
/// The rootfs part of a split upload, opened on first read: a multipart body can only be read front
/// to back, so the part is located only once the metadata part has been consumed.
/// </summary>
internal sealed class NextPartStream(MultipartReader reader, EndOfBodyStream body, CancellationToken cancellationToken) : Stream
{
    private Stream? _part;

    /// <summary>The image type the part's name declares, once opened.</summary>
    public ImageType? Type { get; private set; }

    public override bool CanRead => true;

    public override bool CanSeek => false;

    public override bool CanWrite => false;

    public override long Length => throw new NotSupportedException();

    public override long Position { get => throw new NotSupportedException(); set => throw new NotSupportedException(); }

    /// <summary>
    /// Reads the next section; a body that ends before it (or inside its headers) is invalid input, named as such,
    /// where the reader only says "Unexpected end of Stream".
    /// </summary>
    public static async Task<MultipartSection?> ReadSectionAsync(MultipartReader reader, EndOfBodyStream body, string expected, CancellationToken cancellationToken)
    {
        try
        {
            return await reader.ReadNextSectionAsync(cancellationToken);
        }
        catch (IOException e) when (body.Ended)
        {
            throw CutShort(expected, e);
        }
    }

    /// <summary>The error of a body that ended inside <paramref name="part"/> (the client sent less than the whole image).</summary>
    public static InvalidDataException CutShort(string part, Exception inner) =>
        new($"Invalid multipart image: the body ended inside the \"{part}\" part, before the closing boundary; the upload was cut short, send the whole image again", inner);

    public override int Read(byte[] buffer, int offset, int count) => ReadAsync(buffer.AsMemory(offset, count)).AsTask().GetAwaiter().GetResult();

    public override Task<int> ReadAsync(byte[] buffer, int offset, int count, CancellationToken token) => ReadAsync(buffer.AsMemory(offset, count), token).AsTask();

    public override async ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken token = default)
    {
        _part ??= await OpenAsync();
        try
        {
            return await _part.ReadAsync(buffer, token);
        }
        catch (IOException e) when (body.Ended)
        {
            throw CutShort(Type == ImageType.VirtualMachine ? "rootfs.img" : "rootfs", e);
        }
    }

    public override void Flush()
    {
    }

    public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();

    public override void SetLength(long value) => throw new NotSupportedException();

    public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();

    private async Task<Stream> OpenAsync()
    {
        var section = await ReadSectionAsync(reader, body, "rootfs", cancellationToken);
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

/// <summary>The metadata part of a split upload: a body that ends inside it is invalid input, named as such.</summary>
internal sealed class MetadataPartStream(Stream part, EndOfBodyStream body) : Stream
{
    public override bool CanRead => true;

    public override bool CanSeek => false;

    public override bool CanWrite => false;

    public override long Length => throw new NotSupportedException();

    public override long Position { get => throw new NotSupportedException(); set => throw new NotSupportedException(); }

    public override int Read(byte[] buffer, int offset, int count) => ReadAsync(buffer.AsMemory(offset, count)).AsTask().GetAwaiter().GetResult();

    public override Task<int> ReadAsync(byte[] buffer, int offset, int count, CancellationToken token) => ReadAsync(buffer.AsMemory(offset, count), token).AsTask();

    public override async ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken token = default)
    {
        try
        {
            return await part.ReadAsync(buffer, token);
        }
        catch (IOException e) when (body.Ended)
        {
            throw NextPartStream.CutShort("metadata", e);
        }
    }

    public override void Flush()
    {
    }

    public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();

    public override void SetLength(long value) => throw new NotSupportedException();

    public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();
}

/// <summary>
/// The request body under the multipart reader, noting when it ended: the reader reports a body that ended inside a
/// part with a bare <see cref="IOException"/>, which this tells apart from a connection that failed.
/// </summary>
internal sealed class EndOfBodyStream(Stream inner) : Stream
{
    /// <summary>Whether a read found the end of the body.</summary>
    public bool Ended { get; private set; }

    public override bool CanRead => true;

    public override bool CanSeek => false;

    public override bool CanWrite => false;

    public override long Length => throw new NotSupportedException();

    public override long Position { get => throw new NotSupportedException(); set => throw new NotSupportedException(); }

    public override int Read(byte[] buffer, int offset, int count) => Note(inner.Read(buffer, offset, count), count);

    public override async Task<int> ReadAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken) =>
        Note(await inner.ReadAsync(buffer.AsMemory(offset, count), cancellationToken), count);

    public override async ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default) =>
        Note(await inner.ReadAsync(buffer, cancellationToken), buffer.Length);

    public override void Flush()
    {
    }

    public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();

    public override void SetLength(long value) => throw new NotSupportedException();

    public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();

    private int Note(int read, int asked)
    {
        Ended |= read == 0 && asked > 0;
        return read;
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
