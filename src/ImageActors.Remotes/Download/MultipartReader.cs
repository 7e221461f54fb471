using System.Buffers;
using System.Text;

namespace ImageActors.Remotes.Download;

/// <summary>
/// Reads a <c>multipart/form-data</c> body part by part without buffering a part: each part's body
/// is a stream that ends at the next boundary. Used for split Incus exports (parts <c>metadata</c>
/// then <c>rootfs</c> / <c>rootfs.img</c>) that can be gigabytes long.
/// </summary>
public sealed class MultipartReader : IDisposable
{
    private const int MaxHeaderBytes = 16 * 1024;
    private readonly Stream _stream;
    private readonly byte[] _delimiter;
    private readonly byte[] _buffer;
    private int _start;
    private int _end;
    private bool _eof;
    private bool _started;
    private bool _finished;
    private PartStream? _current;

    /// <summary>The longest boundary RFC 2046 allows (Go's multipart writer, which Incus uses, holds to it too).</summary>
    public const int MaxBoundaryLength = 70;

    /// <summary>Creates a reader over <paramref name="stream"/> for the given boundary.</summary>
    /// <exception cref="InvalidDataException">The boundary (from the sender's Content-Type) is empty or longer than <see cref="MaxBoundaryLength"/>.</exception>
    public MultipartReader(Stream stream, string boundary, int bufferSize = 1 << 20)
    {
        ArgumentNullException.ThrowIfNull(stream);
        ArgumentNullException.ThrowIfNull(boundary);
        if (boundary.Length is 0 or > MaxBoundaryLength)
        {
            throw new InvalidDataException(boundary.Length == 0
                ? "The Content-Type names an empty multipart boundary."
                : $"The multipart boundary in the Content-Type is {boundary.Length} characters long; at most {MaxBoundaryLength} are allowed.");
        }

        _stream = stream;
        _delimiter = Encoding.ASCII.GetBytes("\r\n--" + boundary);
        _buffer = ArrayPool<byte>.Shared.Rent(Math.Max(bufferSize, MaxHeaderBytes * 2));
    }

    /// <summary>Reads the boundary parameter of a <c>multipart/*</c> content type, or <c>null</c>.</summary>
    public static string? BoundaryOf(System.Net.Http.Headers.MediaTypeHeaderValue? contentType)
    {
        if (contentType?.MediaType is not { } media || !media.StartsWith("multipart/", StringComparison.OrdinalIgnoreCase))
        {
            return null;
        }

        var boundary = contentType.Parameters.FirstOrDefault(p => p.Name.Equals("boundary", StringComparison.OrdinalIgnoreCase))?.Value;
        return boundary?.Trim('"');
    }

    /// <summary>Advances to the next part (skipping what is left of the current one); <c>null</c> after the last.</summary>
    /// <exception cref="InvalidDataException">The body is not well-formed multipart.</exception>
    public async ValueTask<MultipartSection?> ReadNextSectionAsync(CancellationToken cancellationToken = default)
    {
        if (_finished)
        {
            return null;
        }

        if (_current is not null)
        {
            await _current.CopyToAsync(Stream.Null, cancellationToken).ConfigureAwait(false);
            _current = null;
        }
        else if (!_started)
        {
            await SkipPreambleAsync(cancellationToken).ConfigureAwait(false);
        }

        _started = true;

        // After a delimiter: "--" ends the body, otherwise optional padding then CRLF, then headers.
        await EnsureAsync(2, cancellationToken).ConfigureAwait(false);
        if (_buffer[_start] == '-' && _buffer[_start + 1] == '-')
        {
            _finished = true;
            return null;
        }

        var lineEnd = await IndexOfAsync("\r\n"u8.ToArray(), cancellationToken).ConfigureAwait(false);
        _start = lineEnd + 2;
        var headersEnd = await IndexOfAsync("\r\n\r\n"u8.ToArray(), cancellationToken).ConfigureAwait(false);
        var headers = ParseHeaders(Encoding.ASCII.GetString(_buffer, _start, headersEnd - _start));
        _start = headersEnd + 4;
        _current = new PartStream(this);
        return new MultipartSection(headers, _current);
    }

    /// <inheritdoc />
    public void Dispose() => ArrayPool<byte>.Shared.Return(_buffer);

    private async ValueTask SkipPreambleAsync(CancellationToken cancellationToken)
    {
        // The first boundary has no leading CRLF; look for "--boundary" at the start or after a CRLF.
        await EnsureAsync(_delimiter.Length - 2, cancellationToken).ConfigureAwait(false);
        if (_buffer.AsSpan(_start, _delimiter.Length - 2).SequenceEqual(_delimiter.AsSpan(2)))
        {
            _start += _delimiter.Length - 2;
            return;
        }

        var index = await IndexOfAsync(_delimiter, cancellationToken).ConfigureAwait(false);
        _start = index + _delimiter.Length;
    }

    private static Dictionary<string, string> ParseHeaders(string text)
    {
        var headers = new Dictionary<string, string>(StringComparer.OrdinalIgnoreCase);
        foreach (var line in text.Split("\r\n", StringSplitOptions.RemoveEmptyEntries))
        {
            var colon = line.IndexOf(':', StringComparison.Ordinal);
            if (colon <= 0)
            {
                throw new InvalidDataException($"Malformed multipart header line '{line}'.");
            }

            headers[line[..colon].Trim()] = line[(colon + 1)..].Trim();
        }

        return headers;
    }

    /// <summary>Finds <paramref name="pattern"/> from <see cref="_start"/>, reading more as needed; returns its buffer index.</summary>
    private async ValueTask<int> IndexOfAsync(byte[] pattern, CancellationToken cancellationToken)
    {
        while (true)
        {
            var index = _buffer.AsSpan(_start, _end - _start).IndexOf(pattern);
            if (index >= 0)
            {
                return _start + index;
            }

            if (_end - _start > MaxHeaderBytes)
            {
                throw new InvalidDataException("Multipart headers or preamble too long.");
            }

            if (!await FillAsync(cancellationToken).ConfigureAwait(false))
            {
                throw new InvalidDataException("Multipart body ended early.");
            }
        }
    }

    private async ValueTask EnsureAsync(int count, CancellationToken cancellationToken)
    {
        while (_end - _start < count)
        {
            if (!await FillAsync(cancellationToken).ConfigureAwait(false))
            {
                throw new InvalidDataException("Multipart body ended early.");
            }
        }
    }

    /// <summary>Moves unread bytes to the front and reads more; false at end of stream.</summary>
    private async ValueTask<bool> FillAsync(CancellationToken cancellationToken)
    {
        if (_eof)
        {
            return false;
        }

        if (_start > 0)
        {
            _buffer.AsSpan(_start, _end - _start).CopyTo(_buffer);
            _end -= _start;
            _start = 0;
        }

        var n = await _stream.ReadAsync(_buffer.AsMemory(_end), cancellationToken).ConfigureAwait(false);
        if (n == 0)
        {
            _eof = true;
            return false;
        }

        _end += n;
        return true;
    }

    /// <summary>Reads the current part's body: up to the delimiter, keeping a tail that might start one.</summary>
    private async ValueTask<int> ReadPartAsync(Memory<byte> destination, PartStream part, CancellationToken cancellationToken)
    {
        while (true)
        {
            if (part.Ended)
            {
                return 0;
            }

            var available = _buffer.AsSpan(_start, _end - _start);
            var index = available.IndexOf(_delimiter);
            if (index >= 0)
            {
                var n = Math.Min(index, destination.Length);
                available[..n].CopyTo(destination.Span);
                _start += n;
                if (n == index)
                {
                    _start += _delimiter.Length;
                    part.Ended = true;
                }

                if (n > 0 || part.Ended)
                {
                    return n;
                }
            }
            else
            {
                var safe = available.Length - (_delimiter.Length - 1);
                if (safe > 0)
                {
                    var n = Math.Min(safe, destination.Length);
                    available[..n].CopyTo(destination.Span);
                    _start += n;
                    return n;
                }
            }

            if (!await FillAsync(cancellationToken).ConfigureAwait(false))
            {
                throw new IOException("Multipart body ended inside a part.");
            }
        }
    }

    private sealed class PartStream(MultipartReader reader) : Stream
    {
        public bool Ended { get; set; }

        public override bool CanRead => true;

        public override bool CanSeek => false;

        public override bool CanWrite => false;

        public override long Length => throw new NotSupportedException();

        public override long Position { get => throw new NotSupportedException(); set => throw new NotSupportedException(); }

        public override ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default) =>
            reader.ReadPartAsync(buffer, this, cancellationToken);

        public override Task<int> ReadAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken) =>
            ReadAsync(buffer.AsMemory(offset, count), cancellationToken).AsTask();

        public override int Read(byte[] buffer, int offset, int count) =>
            ReadAsync(buffer.AsMemory(offset, count)).AsTask().GetAwaiter().GetResult();

        public override void Flush()
        {
        }

        public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();

        public override void SetLength(long value) => throw new NotSupportedException();

        public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();
    }
}

/// <summary>One part of a multipart body.</summary>
/// <param name="Headers">The part's headers.</param>
/// <param name="Body">The part's bytes, streamed.</param>
public sealed record MultipartSection(IReadOnlyDictionary<string, string> Headers, Stream Body)
{
    /// <summary>The <c>name</c> of the part's Content-Disposition.</summary>
    public string? Name => DispositionParameter("name");

    /// <summary>The <c>filename</c> of the part's Content-Disposition.</summary>
    public string? FileName => DispositionParameter("filename");

    private string? DispositionParameter(string key)
    {
        if (!Headers.TryGetValue("Content-Disposition", out var value)
            || !System.Net.Http.Headers.ContentDispositionHeaderValue.TryParse(value, out var disposition))
        {
            return null;
        }

        var found = key == "name" ? disposition.Name : disposition.FileNameStar ?? disposition.FileName;
        return found?.Trim('"');
    }
}
