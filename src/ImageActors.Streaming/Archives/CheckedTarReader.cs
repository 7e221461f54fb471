using System.Formats.Tar;
using ImageActors.Streaming.Compression;

namespace ImageActors.Streaming.Archives;

/// <summary>
/// Reads tar entries like <see cref="TarReader"/>, but tells a damaged archive from a complete one: every header's
/// checksum is verified, the block that ends the archive must be zeros, and the rest of the stream is read to its
/// end so the codec checks its own integrity (gzip's CRC, xz's check, the end of a zstd frame). When a header is
/// bad the rest of the stream is read first, so a damaged compressed file is reported with the codec's error
/// rather than with the garbage it decoded to.
/// </summary>
public sealed class CheckedTarReader : IDisposable
{
    private const int Block = 512;
    private readonly TailStream _tail;
    private readonly TarReader _reader;
    private readonly long _maxDrainBytes;
    private bool _ended;
    private long _nextHeader;

    /// <summary>Reads the tar in <paramref name="tar"/> (already decompressed), which is left open.</summary>
    /// <param name="tar">The tar bytes.</param>
    /// <param name="maxDrainBytes">The most this reads past the end of the archive or past a bad header to find a codec error.</param>
    public CheckedTarReader(Stream tar, long maxDrainBytes = long.MaxValue)
    {
        ArgumentNullException.ThrowIfNull(tar);
        _tail = new TailStream(tar);
        _reader = new TarReader(_tail, leaveOpen: true);
        _maxDrainBytes = maxDrainBytes;
    }

    /// <summary>The next entry, or null at the end of a complete archive (whose data are read to the end of the stream).</summary>
    /// <exception cref="InvalidTarHeaderException">A header is damaged and the codec found nothing wrong.</exception>
    /// <exception cref="CorruptStreamException">The compressed stream is damaged.</exception>
    /// <exception cref="TruncatedStreamException">The compressed stream is cut short.</exception>
    public TarEntry? GetNextEntry()
    {
        if (_ended)
        {
            return null;
        }

        TarEntry? entry;
        try
        {
            entry = _reader.GetNextEntry(copyData: false);
        }
        catch (Exception e) when (e is InvalidDataException or FormatException or OverflowException or ArgumentException)
        {
            throw Damaged(HeaderOffset(), e.Message.TrimEnd('.'), e);
        }
        catch (EndOfStreamException e)
        {
            if (EndsAfterLastEntry())
            {
                return null;
            }

            throw Damaged(_tail.Count, "the archive ends inside a header or an entry's data", e);
        }

        if (entry is null)
        {
            _ended = true;
            if (EndsAfterLastEntry() || (_tail.Count >= Block && !_tail.LastBlock.ContainsAnyExcept((byte)0)))
            {
                Drain();
                return null;
            }

            throw Damaged(HeaderOffset(), "the block where a header or the end of the archive should be holds neither", null);
        }

        if (!ChecksumMatches(_tail.LastBlock))
        {
            throw Damaged(HeaderOffset(), "its checksum does not match", null);
        }

        _nextHeader = _tail.Count + ((entry.Length + Block - 1) / Block * Block);
        return entry;
    }

    /// <inheritdoc />
    public void Dispose() => _reader.Dispose();

    // An archive whose stream ends right after its last entry's data, without the two zero blocks, is read as tar(1)
    // reads it: complete.
    private bool EndsAfterLastEntry()
    {
        _ended = true;
        return _tail.AtEnd && _tail.Count == _nextHeader;
    }

    private long HeaderOffset() => Math.Max(0, (_tail.Count - 1) / Block * Block);

    // The codec's own error, found by reading on, names the damage better than the garbage it decoded to.
    private Exception Damaged(long offset, string reason, Exception? inner)
    {
        _ended = true;
        try
        {
            Drain();
        }
        catch (Exception e) when (e is CorruptStreamException or TruncatedStreamException)
        {
            return e;
        }

        return new InvalidTarHeaderException(offset, reason, inner);
    }

    private void Drain()
    {
        var buffer = new byte[1 << 16];
        long drained = 0;
        int n;
        while (drained < _maxDrainBytes && (n = _tail.Read(buffer)) > 0)
        {
            drained += n;
        }
    }

    // POSIX: the sum of the header's bytes with the checksum field taken as spaces; some old writers summed signed bytes.
    private static bool ChecksumMatches(ReadOnlySpan<byte> header)
    {
        long unsigned = 0, signed = 0;
        for (var i = 0; i < Block; i++)
        {
            var b = i is >= 148 and < 156 ? (byte)' ' : header[i];
            unsigned += b;
            signed += (sbyte)b;
        }

        var field = header.Slice(148, 8);
        long stored = 0;
        var digits = 0;
        foreach (var c in field)
        {
            if (c is >= (byte)'0' and <= (byte)'7')
            {
                stored = (stored * 8) + (c - '0');
                digits++;
            }
            else if (digits > 0 || (c != ' ' && c != 0))
            {
                break;
            }
        }

        return digits > 0 && (stored == unsigned || stored == signed);
    }

    /// <summary>Counts what is read through it and keeps the last 512 bytes: the header the tar reader just took.</summary>
    private sealed class TailStream(Stream inner) : ForwardReadStream
    {
        private readonly byte[] _last = new byte[Block];

        public long Count { get; private set; }

        public ReadOnlySpan<byte> LastBlock => _last;

        public bool AtEnd { get; private set; }

        public override int Read(Span<byte> buffer)
        {
            var n = inner.Read(buffer);
            if (n >= Block)
            {
                buffer.Slice(n - Block, Block).CopyTo(_last);
            }
            else if (n > 0)
            {
                _last.AsSpan(n).CopyTo(_last);
                buffer[..n].CopyTo(_last.AsSpan(Block - n));
            }

            Count += n;
            AtEnd |= n == 0 && !buffer.IsEmpty;
            return n;
        }
    }
}
