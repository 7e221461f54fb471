using System.Diagnostics.CodeAnalysis;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;

namespace ImageActors.Streaming;

/// <summary>
/// The identity of an image: the SHA-256 of its file (unified) or of its metadata file followed
/// by its rootfs file (split). Written as 64 lowercase hex digits; users may name an image by
/// a unique prefix of them.
/// </summary>
public readonly struct Fingerprint : IEquatable<Fingerprint>, IComparable<Fingerprint>, ISpanFormattable
{
    /// <summary>Length of a fingerprint in bytes.</summary>
    public const int ByteLength = 32;

    /// <summary>Length of a fingerprint in hex digits.</summary>
    public const int HexLength = 64;

    private readonly Bytes32 _bytes;

    /// <summary>Creates a fingerprint from exactly 32 hash bytes.</summary>
    public Fingerprint(ReadOnlySpan<byte> hash)
    {
        if (hash.Length != ByteLength)
        {
            throw new ArgumentException($"A fingerprint is {ByteLength} bytes, got {hash.Length}.", nameof(hash));
        }

        hash.CopyTo(_bytes);
    }

    /// <summary>The 32 hash bytes.</summary>
    public ReadOnlySpan<byte> Bytes => MemoryMarshal.CreateReadOnlySpan(ref Unsafe.AsRef(in _bytes[0]), ByteLength);

    /// <summary>Parses 64 hex digits (either case).</summary>
    /// <exception cref="FormatException">The text is not a full fingerprint.</exception>
    public static Fingerprint Parse(string text)
    {
        ArgumentNullException.ThrowIfNull(text);
        return TryParse(text, out var fp)
            ? fp
            : throw new FormatException($"'{text}' is not a fingerprint: expected {HexLength} hex digits.");
    }

    /// <summary>Tries to parse 64 hex digits (either case).</summary>
    public static bool TryParse([NotNullWhen(true)] string? text, out Fingerprint fingerprint) =>
        TryParse(text.AsSpan(), out fingerprint);

    /// <summary>Tries to parse 64 hex digits (either case).</summary>
    public static bool TryParse(ReadOnlySpan<char> text, out Fingerprint fingerprint)
    {
        fingerprint = default;
        if (text.Length != HexLength)
        {
            return false;
        }

        Span<byte> bytes = stackalloc byte[ByteLength];
        if (Convert.FromHexString(text, bytes, out _, out var written) != System.Buffers.OperationStatus.Done || written != ByteLength)
        {
            return false;
        }

        fingerprint = new Fingerprint(bytes);
        return true;
    }

    /// <summary>
    /// Whether <paramref name="prefix"/> could name a fingerprint: 1 to 64 hex digits.
    /// </summary>
    public static bool IsValidPrefix(ReadOnlySpan<char> prefix)
    {
        if (prefix.IsEmpty || prefix.Length > HexLength)
        {
            return false;
        }

        foreach (var c in prefix)
        {
            if (!char.IsAsciiHexDigit(c))
            {
                return false;
            }
        }

        return true;
    }

    /// <summary>Whether this fingerprint's hex form starts with <paramref name="prefix"/> (case-insensitive).</summary>
    public bool StartsWith(ReadOnlySpan<char> prefix)
    {
        if (!IsValidPrefix(prefix))
        {
            return false;
        }

        Span<char> hex = stackalloc char[HexLength];
        Format(hex);
        return hex.StartsWith(prefix, StringComparison.OrdinalIgnoreCase);
    }

    /// <summary>The 64 lowercase hex digits.</summary>
    public override string ToString() => string.Create(HexLength, this, static (span, fp) => fp.Format(span));

    /// <summary>The first <paramref name="digits"/> hex digits (12 is what listings show).</summary>
    public string ToShortString(int digits = 12) => ToString()[..Math.Clamp(digits, 1, HexLength)];

    /// <inheritdoc />
    public string ToString(string? format, IFormatProvider? formatProvider) => ToString();

    /// <inheritdoc />
    public bool TryFormat(Span<char> destination, out int charsWritten, ReadOnlySpan<char> format, IFormatProvider? provider)
    {
        if (destination.Length < HexLength)
        {
            charsWritten = 0;
            return false;
        }

        Format(destination);
        charsWritten = HexLength;
        return true;
    }

    private void Format(Span<char> destination) => Convert.TryToHexStringLower(Bytes, destination, out _);

    /// <inheritdoc />
    public bool Equals(Fingerprint other) => Bytes.SequenceEqual(other.Bytes);

    /// <inheritdoc />
    public override bool Equals(object? obj) => obj is Fingerprint other && Equals(other);

    /// <inheritdoc />
    public override int GetHashCode() => MemoryMarshal.Read<int>(Bytes);

    /// <inheritdoc />
    public int CompareTo(Fingerprint other) => Bytes.SequenceCompareTo(other.Bytes);

    public static bool operator ==(Fingerprint left, Fingerprint right) => left.Equals(right);

    public static bool operator !=(Fingerprint left, Fingerprint right) => !left.Equals(right);

    public static bool operator <(Fingerprint left, Fingerprint right) => left.CompareTo(right) < 0;

    public static bool operator >(Fingerprint left, Fingerprint right) => left.CompareTo(right) > 0;

    public static bool operator <=(Fingerprint left, Fingerprint right) => left.CompareTo(right) <= 0;

    public static bool operator >=(Fingerprint left, Fingerprint right) => left.CompareTo(right) >= 0;

    [InlineArray(ByteLength)]
    private struct Bytes32
    {
        private byte _element0;
    }
}
