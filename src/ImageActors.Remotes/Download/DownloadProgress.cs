using System.Globalization;

namespace ImageActors.Remotes.Download;

/// <summary>How far one file download has come.</summary>
/// <param name="Label">What is downloading (<c>metadata</c>, <c>rootfs</c>, or empty).</param>
/// <param name="BytesReceived">Bytes of the file on disk so far.</param>
/// <param name="TotalBytes">Size of the file when known.</param>
/// <param name="BytesPerSecond">Average rate of this download.</param>
public readonly record struct DownloadProgress(string Label, long BytesReceived, long? TotalBytes, double BytesPerSecond)
{
    /// <summary>
    /// Bytes of the file that arrived so far: those on disk and those still in the write buffer. It moves with every
    /// read, so that a slow download is seen moving long before a buffer is full.
    /// </summary>
    public long BytesArrived { get; init; } = BytesReceived;

    /// <summary>Percentage done (0–100) when the size is known.</summary>
    public int? Percent => TotalBytes is > 0 ? (int)Math.Min(100, BytesReceived * 100 / TotalBytes.Value) : null;

    /// <summary>
    /// The text Incus puts in an operation's <c>download_progress</c>: <c>45% (12.34MB/s)</c> when the
    /// size is known, <c>123.45MB (5.67MB/s)</c> otherwise, prefixed with <c>label: </c> when labelled.
    /// </summary>
    public string ToIncusText()
    {
        var rate = FormatByteSize((long)BytesPerSecond);
        var text = Percent is { } percent
            ? string.Create(CultureInfo.InvariantCulture, $"{percent}% ({rate}/s)")
            : string.Create(CultureInfo.InvariantCulture, $"{FormatByteSize(BytesReceived)} ({rate}/s)");
        return Label.Length == 0 ? text : Label + ": " + text;
    }

    /// <summary>Formats a byte count as Incus' <c>units.GetByteSizeString(n, 2)</c>: decimal units, two decimals.</summary>
    public static string FormatByteSize(long bytes)
    {
        if (bytes < 1000)
        {
            return string.Create(CultureInfo.InvariantCulture, $"{bytes}B");
        }

        double value = bytes;
        foreach (var unit in (ReadOnlySpan<string>)["kB", "MB", "GB", "TB", "PB"])
        {
            value /= 1000;
            if (value < 1000)
            {
                return string.Create(CultureInfo.InvariantCulture, $"{value:F2}{unit}");
            }
        }

        return string.Create(CultureInfo.InvariantCulture, $"{value / 1000:F2}EB");
    }
}
