using System.Collections.Concurrent;
using System.Globalization;
using ImageActors.Streaming;
using ImageActors.Streaming.Hashing;

namespace ImageActors.Server.SimpleStreams;

/// <summary>
/// SHA-256 and size of each file of a split image, which SimpleStreams lists per file while the
/// image record only holds the combined fingerprint. Computed once per file and kept next to the
/// server's other state (<c>&lt;data&gt;/simplestreams/&lt;fp&gt;.&lt;part&gt;.sha256</c>), since an
/// image's bytes never change.
/// </summary>
public sealed class FileDigests(string dataDirectory)
{
    private readonly string _directory = Path.Combine(dataDirectory, "simplestreams");
    private readonly ConcurrentDictionary<string, Lazy<Task<FileDigest>>> _known = new(StringComparer.Ordinal);

    /// <summary>The digest of <paramref name="path"/>, which belongs to image <paramref name="image"/> as <paramref name="part"/>.</summary>
    public Task<FileDigest> OfAsync(Fingerprint image, string part, string path)
    {
        var key = image + "." + part;
        return _known.GetOrAdd(key, k => new Lazy<Task<FileDigest>>(() => ComputeAsync(k, path))).Value;
    }

    private async Task<FileDigest> ComputeAsync(string key, string path)
    {
        var sidecar = Path.Combine(_directory, key + ".sha256");
        var size = new FileInfo(path).Length;
        if (File.Exists(sidecar))
        {
            var text = (await File.ReadAllTextAsync(sidecar)).Split(' ', StringSplitOptions.RemoveEmptyEntries);
            if (text.Length == 2 && long.TryParse(text[1], NumberStyles.None, CultureInfo.InvariantCulture, out var known) && known == size)
            {
                return new FileDigest(text[0], size);
            }
        }

        var sha = (await ImageHasher.HashFileAsync(path)).ToString();
        Directory.CreateDirectory(_directory);
        var temp = sidecar + ".tmp";
        await File.WriteAllTextAsync(temp, sha + " " + size.ToString(CultureInfo.InvariantCulture));
        File.Move(temp, sidecar, overwrite: true);
        return new FileDigest(sha, size);
    }
}

/// <summary>A file's SHA-256 (hex) and size.</summary>
/// <param name="Sha256">SHA-256, lowercase hex.</param>
/// <param name="Size">Size in bytes.</param>
public sealed record FileDigest(string Sha256, long Size);
