using System.Globalization;
using System.Net.Http.Headers;

namespace ImageActors.Remotes.Download;

/// <summary>What is known of a kept partial file: its bytes and the source's validators when they were fetched.</summary>
/// <param name="Length">Bytes held.</param>
/// <param name="Total">The file's length as the source announced it, if it did.</param>
/// <param name="ETag">The source's strong <c>ETag</c>, if it sent one.</param>
/// <param name="LastModified">The source's <c>Last-Modified</c>, if it sent one.</param>
internal sealed record PartialFile(long Length, long? Total, EntityTagHeaderValue? ETag, DateTimeOffset? LastModified);

/// <summary>
/// The bytes of failed downloads, kept in <c>partial/</c> under the temp folder as <c>&lt;sha256&gt;.part</c> with a
/// <c>.meta</c> file of the source's validators, so that the next download of the same file resumes them. The blob
/// store's sweep of its temp folder does not enter sub-folders; these files are swept here after their time to live.
/// </summary>
internal sealed class PartialDownloads
{
    private readonly string _directory;
    private readonly string _sha256;
    private readonly TimeSpan _ttl;
    private readonly TimeProvider _time;

    private PartialDownloads(string directory, string sha256, TimeSpan ttl, TimeProvider time)
    {
        _directory = directory;
        _sha256 = sha256;
        _ttl = ttl;
        _time = time;
    }

    /// <summary>The kept partial file of the download.</summary>
    public string PartPath => Path.Combine(_directory, _sha256 + ".part");

    private string MetaPath => Path.Combine(_directory, _sha256 + ".meta");

    /// <summary>The store for a download, or null when partial files are not kept (no full SHA-256 to key them, or no time to live).</summary>
    public static PartialDownloads? For(DownloadRequest request, TimeSpan ttl, TimeProvider time)
    {
        if (ttl <= TimeSpan.Zero || request.ExpectedSha256 is not { Length: 64 } sha || !sha.All(char.IsAsciiHexDigit))
        {
            return null;
        }

        return new PartialDownloads(Path.Combine(request.TempDirectory, "partial"), sha.ToLowerInvariant(), ttl, time);
    }

    /// <summary>Removes partial files older than the time to live.</summary>
    public void Sweep()
    {
        if (!Directory.Exists(_directory))
        {
            return;
        }

        var oldest = _time.GetUtcNow().UtcDateTime - _ttl;
        foreach (var file in Directory.EnumerateFiles(_directory))
        {
            if (File.GetLastWriteTimeUtc(file) < oldest)
            {
                ImageDownloader.TryDelete(file);
            }
        }
    }

    /// <summary>Moves the kept file of this download to <paramref name="path"/>; null when there is none (or another download took it).</summary>
    public PartialFile? TryClaim(string path)
    {
        PartialFile? kept;
        try
        {
            kept = Parse(File.ReadAllLines(MetaPath));
            File.Move(PartPath, path);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return null;
        }

        ImageDownloader.TryDelete(MetaPath);
        if (kept is null || new FileInfo(path).Length < kept.Length)
        {
            ImageDownloader.TryDelete(path);
            return null;
        }

        return kept;
    }

    /// <summary>Keeps the file at <paramref name="path"/> (its first <see cref="PartialFile.Length"/> bytes) for the next download.</summary>
    public bool Keep(string path, PartialFile file)
    {
        try
        {
            Directory.CreateDirectory(_directory);
            File.Move(path, PartPath, overwrite: true);
            File.WriteAllLines(MetaPath,
            [
                "length=" + file.Length.ToString(CultureInfo.InvariantCulture),
                "total=" + file.Total?.ToString(CultureInfo.InvariantCulture),
                "etag=" + file.ETag,
                "last-modified=" + file.LastModified?.ToString("R", CultureInfo.InvariantCulture),
            ]);
            return true;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            ImageDownloader.TryDelete(PartPath);
            ImageDownloader.TryDelete(MetaPath);
            return false;
        }
    }

    private static PartialFile? Parse(string[] lines)
    {
        var fields = lines.Select(l => l.Split('=', 2)).Where(p => p.Length == 2).ToDictionary(p => p[0], p => p[1], StringComparer.Ordinal);
        if (!fields.TryGetValue("length", out var lengthText) || !long.TryParse(lengthText, CultureInfo.InvariantCulture, out var length) || length <= 0)
        {
            return null;
        }

        long? total = fields.TryGetValue("total", out var t) && long.TryParse(t, CultureInfo.InvariantCulture, out var parsedTotal) ? parsedTotal : null;
        var etag = fields.TryGetValue("etag", out var e) && EntityTagHeaderValue.TryParse(e, out var parsedTag) ? parsedTag : null;
        DateTimeOffset? modified = fields.TryGetValue("last-modified", out var m)
            && DateTimeOffset.TryParseExact(m, "R", CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal, out var parsedDate) ? parsedDate : null;
        return new PartialFile(length, total, etag, modified);
    }
}
