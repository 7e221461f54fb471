using ImageActors.Streaming;
using ImageActors.Streaming.Storage;

namespace ImageActors.Images.Actors;

/// <summary>An upload being hashed into temp files: a unified file, or a split pair. Disposing it deletes them.</summary>
internal sealed class PendingImage(PendingFile metadata, PendingFile? rootfs) : IDisposable
{
    public PendingFile Metadata { get; } = metadata;

    public PendingFile? Rootfs { get; } = rootfs;

    public Fingerprint Fingerprint => (Rootfs ?? Metadata).CurrentFingerprint();

    public long Size => Metadata.Length + (Rootfs?.Length ?? 0);

    /// <summary>Closes the complete files and hands them over by path, for the image's actor to commit.</summary>
    public UploadedFiles Seal()
    {
        var size = Size;
        var (metadataPath, metadataHash) = Metadata.Seal();
        if (Rootfs is null)
        {
            return new UploadedFiles(metadataPath, null, metadataHash, size);
        }

        var (rootfsPath, combined) = Rootfs.Seal();
        return new UploadedFiles(metadataPath, rootfsPath, combined, size);
    }

    public void Dispose()
    {
        Rootfs?.Dispose();
        Metadata.Dispose();
    }
}
