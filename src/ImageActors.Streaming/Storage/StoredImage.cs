namespace ImageActors.Streaming.Storage;

/// <summary>An image's files in the blob store.</summary>
/// <param name="Fingerprint">The image's fingerprint.</param>
/// <param name="MetadataPath"><c>images/&lt;fp&gt;</c>: the unified tarball, or the metadata tarball of a split image.</param>
/// <param name="RootfsPath"><c>images/&lt;fp&gt;.rootfs</c> for a split image, else null.</param>
/// <param name="Size">Bytes of the unified file, or metadata plus rootfs.</param>
/// <param name="AlreadyStored">The files were there already (same bytes, since the name is their hash).</param>
public sealed record StoredImage(Fingerprint Fingerprint, string MetadataPath, string? RootfsPath, long Size, bool AlreadyStored = false)
{
    /// <summary>Whether the image is split (metadata + rootfs files).</summary>
    public bool IsSplit => RootfsPath is not null;
}

/// <summary>What a sweep removed.</summary>
/// <param name="RemovedTempFiles">Leftovers of writes that never committed.</param>
/// <param name="RemovedImageFiles">Files under <c>images/</c> of no known image, or half of a split pair.</param>
public sealed record SweepResult(IReadOnlyList<string> RemovedTempFiles, IReadOnlyList<string> RemovedImageFiles);
