namespace ImageActors.Remotes.Download;

/// <summary>A verified temp file; the caller moves it to its final place or deletes it.</summary>
/// <param name="Path">The temp file.</param>
/// <param name="Size">Its size in bytes.</param>
/// <param name="Sha256">Its SHA-256 (lowercase hex).</param>
/// <param name="CombinedSha256">sha256(prefix file || this file) when a prefix file was given.</param>
/// <param name="FileName">The file name the server gave (Content-Disposition), or the last URL segment.</param>
/// <param name="Url">The URL that delivered the last byte.</param>
/// <param name="Attempts">Requests it took (1 when nothing failed).</param>
public sealed record DownloadedFile(
    string Path,
    long Size,
    string Sha256,
    string? CombinedSha256,
    string FileName,
    Uri Url,
    int Attempts);
