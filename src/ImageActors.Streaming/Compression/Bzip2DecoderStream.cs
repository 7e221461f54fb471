using ICSharpCode.SharpZipLib.BZip2;

namespace ImageActors.Streaming.Compression;

/// <summary>
/// Decodes bzip2 through SharpZipLib, including files of several concatenated streams (as pbzip2 writes them),
/// which SharpZipLib alone stops after the first of.
/// </summary>
public sealed class Bzip2DecoderStream : ForwardReadStream
{
    private readonly PeekableStream _inner;
    private readonly bool _leaveOpen;
    private readonly Stream _source;
    private BZip2InputStream? _current;
    private bool _finished;

    /// <summary>Starts decoding <paramref name="inner"/>.</summary>
    public Bzip2DecoderStream(Stream inner, bool leaveOpen = false)
    {
        ArgumentNullException.ThrowIfNull(inner);
        _source = inner;
        _leaveOpen = leaveOpen;

        // SharpZipLib reads its input a byte at a time; the buffer keeps that cheap and lets us peek at what follows a stream.
        _inner = inner as PeekableStream ?? new PeekableStream(inner, leaveOpen: true);
        _current = Open();
    }

    // SharpZipLib indexes its tables with values read from the stream unchecked; damaged values fall outside them, or
    // on a table a damaged block never set up (a NullReferenceException).
    private const string OutOfRange = "a table index read from the data is out of range";

    private BZip2InputStream Open()
    {
        try
        {
            return new BZip2InputStream(_inner) { IsStreamOwner = false };
        }
        catch (EndOfStreamException)
        {
            throw new TruncatedStreamException("bzip2");
        }
        catch (BZip2Exception e)
        {
            // The constructor reads the stream header and the first block's: damage there is found here.
            throw new CorruptStreamException("bzip2", e.Message);
        }
        catch (Exception e) when (e is IndexOutOfRangeException or NullReferenceException)
        {
            throw new CorruptStreamException("bzip2", OutOfRange);
        }
    }

    /// <inheritdoc />
    public override int Read(Span<byte> buffer)
    {
        if (_finished || buffer.IsEmpty)
        {
            return 0;
        }

        while (true)
        {
            int n;
            try
            {
                n = _current!.Read(buffer);
            }
            catch (EndOfStreamException)
            {
                throw new TruncatedStreamException("bzip2");
            }
            catch (BZip2Exception e)
            {
                throw new CorruptStreamException("bzip2", e.Message);
            }
            catch (Exception e) when (e is IndexOutOfRangeException or NullReferenceException)
            {
                throw new CorruptStreamException("bzip2", OutOfRange);
            }

            if (n > 0)
            {
                return n;
            }

            // This stream ended; another one may follow ("BZh"), anything else is trailing garbage bzip2(1) ignores too.
            _current.Dispose();
            if (!_inner.Peek(3).SequenceEqual("BZh"u8))
            {
                _finished = true;
                return 0;
            }

            _current = Open();
        }
    }

    /// <inheritdoc />
    protected override void Dispose(bool disposing)
    {
        if (disposing)
        {
            _current?.Dispose();
            _current = null;
            if (!_leaveOpen)
            {
                _source.Dispose();
            }
        }

        base.Dispose(disposing);
    }
}
