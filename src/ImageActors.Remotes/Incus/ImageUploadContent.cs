using System.Buffers;
using System.Net;
using System.Security.Cryptography;
using System.Text;

namespace ImageActors.Remotes.Incus;

/// <summary>
/// The body of a raw <c>POST /1.0/images</c> (spec §2.8): one unified file, or <c>multipart/form-data</c>
/// with the parts <c>metadata</c> then <c>rootfs</c> (container) or <c>rootfs.img</c> (virtual machine), the
/// part name being what tells the receiving server the image type. The files stream from wherever they are
/// opened (files, another server's export) without a temporary copy, and are sent chunked: when an expected
/// fingerprint is given, the bytes are hashed as they pass and a mismatch aborts the request before its last
/// chunk, so the receiver never sees a complete body and stores nothing.
/// </summary>
public sealed class ImageUploadContent : HttpContent
{
    private const int Chunk = 256 * 1024;
    private readonly Func<CancellationToken, ValueTask<Stream>> _metadata;
    private readonly Func<CancellationToken, ValueTask<Stream>>? _rootfs;
    private readonly string _metadataName;
    private readonly string _rootfsName;
    private readonly string _rootfsPart;
    private readonly string _boundary = Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(30));

    private ImageUploadContent(
        Func<CancellationToken, ValueTask<Stream>> metadata,
        string metadataName,
        Func<CancellationToken, ValueTask<Stream>>? rootfs,
        string rootfsName,
        bool virtualMachine)
    {
        _metadata = metadata;
        _metadataName = metadataName;
        _rootfs = rootfs;
        _rootfsName = rootfsName;
        _rootfsPart = virtualMachine ? "rootfs.img" : "rootfs";
        Headers.ContentType = rootfs is null
            ? new System.Net.Http.Headers.MediaTypeHeaderValue("application/octet-stream")
            : System.Net.Http.Headers.MediaTypeHeaderValue.Parse("multipart/form-data; boundary=" + _boundary);
    }

    /// <summary>The fingerprint the files must hash to; a mismatch aborts the upload with <see cref="FingerprintMismatchException"/>.</summary>
    public string? ExpectedFingerprint { get; set; }

    /// <summary>Where the bytes come from, named in a mismatch error.</summary>
    public Uri? Source { get; set; }

    /// <summary>Total bytes of the files if known, for progress percentages.</summary>
    public long? TotalLength { get; init; }

    /// <summary>Receives the number of file bytes sent so far.</summary>
    public IProgress<long>? Progress { get; set; }

    /// <summary>Whether this is a split (multipart) upload.</summary>
    public bool IsSplit => _rootfs is not null;

    /// <summary>The mismatch that aborted the upload, if one did (HTTP handlers may wrap the exception).</summary>
    public FingerprintMismatchException? Mismatch { get; private set; }

    /// <summary>A unified image: the one file is the body.</summary>
    public static ImageUploadContent Unified(Func<CancellationToken, ValueTask<Stream>> open) =>
        new(open ?? throw new ArgumentNullException(nameof(open)), string.Empty, null, string.Empty, false);

    /// <summary>
    /// A split image: the metadata part, then the rootfs part (opened only once the metadata stream has ended,
    /// so both may be parts of one incoming stream).
    /// </summary>
    public static ImageUploadContent Split(
        Func<CancellationToken, ValueTask<Stream>> metadata,
        string metadataName,
        Func<CancellationToken, ValueTask<Stream>> rootfs,
        string rootfsName,
        bool virtualMachine) =>
        new(metadata ?? throw new ArgumentNullException(nameof(metadata)), metadataName, rootfs ?? throw new ArgumentNullException(nameof(rootfs)), rootfsName, virtualMachine);

    /// <summary>A split or unified upload of files on disk.</summary>
    public static ImageUploadContent FromFiles(string metadataPath, string? rootfsPath, bool virtualMachine)
    {
        static Func<CancellationToken, ValueTask<Stream>> Open(string path) =>
            _ => ValueTask.FromResult<Stream>(new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read | FileShare.Delete, 1, FileOptions.SequentialScan | FileOptions.Asynchronous));

        var total = new FileInfo(metadataPath).Length + (rootfsPath is null ? 0 : new FileInfo(rootfsPath).Length);
        return rootfsPath is null
            ? new ImageUploadContent(Open(metadataPath), string.Empty, null, string.Empty, false) { TotalLength = total }
            : new ImageUploadContent(Open(metadataPath), Path.GetFileName(metadataPath), Open(rootfsPath), Path.GetFileName(rootfsPath), virtualMachine) { TotalLength = total };
    }

    /// <inheritdoc />
    protected override Task SerializeToStreamAsync(Stream stream, TransportContext? context) =>
        SerializeToStreamAsync(stream, context, CancellationToken.None);

    /// <inheritdoc />
    protected override async Task SerializeToStreamAsync(Stream stream, TransportContext? context, CancellationToken cancellationToken)
    {
        using var hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        var buffer = ArrayPool<byte>.Shared.Rent(Chunk);
        long sent = 0;
        try
        {
            if (_rootfs is null)
            {
                sent = await CopyAsync(_metadata, stream, hash, buffer, sent, cancellationToken).ConfigureAwait(false);
                Verify(hash);
                return;
            }

            await stream.WriteAsync(PartHeader("metadata", _metadataName, leadingBreak: false), cancellationToken).ConfigureAwait(false);
            sent = await CopyAsync(_metadata, stream, hash, buffer, sent, cancellationToken).ConfigureAwait(false);
            await stream.WriteAsync(PartHeader(_rootfsPart, _rootfsName, leadingBreak: true), cancellationToken).ConfigureAwait(false);
            await CopyAsync(_rootfs, stream, hash, buffer, sent, cancellationToken).ConfigureAwait(false);
            Verify(hash);
            await stream.WriteAsync(Encoding.ASCII.GetBytes("\r\n--" + _boundary + "--\r\n"), cancellationToken).ConfigureAwait(false);
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(buffer);
        }
    }

    /// <inheritdoc />
    protected override bool TryComputeLength(out long length)
    {
        // Always chunked: the last chunk goes out only after the bytes were verified.
        length = 0;
        return false;
    }

    private async Task<long> CopyAsync(Func<CancellationToken, ValueTask<Stream>> open, Stream destination, IncrementalHash hash, byte[] buffer, long sent, CancellationToken cancellationToken)
    {
        var source = await open(cancellationToken).ConfigureAwait(false);
        await using (source.ConfigureAwait(false))
        {
            int read;
            while ((read = await source.ReadAsync(buffer.AsMemory(0, Chunk), cancellationToken).ConfigureAwait(false)) > 0)
            {
                hash.AppendData(buffer, 0, read);
                await destination.WriteAsync(buffer.AsMemory(0, read), cancellationToken).ConfigureAwait(false);
                sent += read;
                Progress?.Report(sent);
            }
        }

        return sent;
    }

    private void Verify(IncrementalHash hash)
    {
        if (ExpectedFingerprint is not { Length: > 0 } expected)
        {
            return;
        }

        var actual = Convert.ToHexStringLower(hash.GetHashAndReset());
        if (!string.Equals(actual, expected, StringComparison.OrdinalIgnoreCase))
        {
            Mismatch = new FingerprintMismatchException(Source ?? new Uri("about:upload"), expected, actual);
            throw Mismatch;
        }
    }

    private byte[] PartHeader(string name, string fileName, bool leadingBreak) => Encoding.UTF8.GetBytes(
        (leadingBreak ? "\r\n" : string.Empty) +
        "--" + _boundary + "\r\n" +
        "Content-Disposition: form-data; name=\"" + name + "\"; filename=\"" + fileName.Replace("\"", string.Empty, StringComparison.Ordinal) + "\"\r\n" +
        "Content-Type: application/octet-stream\r\n\r\n");
}
