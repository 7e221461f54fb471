using ImageActors.Images.Caching;
using ImageActors.Images.Domain;
using ImageActors.Streaming;
using ImageActors.Streaming.Storage;

namespace ImageActors.Images.Actors;

/// <summary>An upload hashed into temp files, not yet committed: a unified file, or a split pair.</summary>
internal sealed class PendingImage(PendingFile metadata, PendingFile? rootfs) : IDisposable
{
    public PendingFile Metadata { get; } = metadata;

    public PendingFile? Rootfs { get; } = rootfs;

    public Fingerprint Fingerprint => (Rootfs ?? Metadata).CurrentFingerprint();

    public long Size => Metadata.Length + (Rootfs?.Length ?? 0);

    public StoredImage Commit(BlobStore blobs) =>
        Rootfs is null ? blobs.Commit(Metadata, Fingerprint, Metadata.Path) : blobs.CommitSplit(Metadata, Rootfs, Fingerprint, Metadata.Path);

    public void Dispose()
    {
        Rootfs?.Dispose();
        Metadata.Dispose();
    }
}

/// <summary>Messages an <see cref="ImageActor"/> understands.</summary>
internal static class ImageProtocol
{
    /// <summary>Store a hashed upload; reply: the record.</summary>
    public sealed record StoreUpload(PendingImage Upload, ImageRecord Draft, bool FailIfExists);

    /// <summary>Download (single flight); reply: the record.</summary>
    public sealed record Download(ImageFetch Fetch);

    /// <summary>Reply: the record, or <see cref="ImageNotFoundException"/>.</summary>
    public sealed record Get;

    /// <summary>Set <c>last_used_at</c>; reply: the record.</summary>
    public sealed record MarkUsed(DateTimeOffset At);

    /// <summary>Replace the writable set; reply: the record.</summary>
    public sealed record Update(ImagePut Put);

    /// <summary>Delete; reply <see cref="Deleted"/> once the files are gone.</summary>
    public sealed record Delete(string Reason);

    /// <summary>Delete unless in use (eviction); reply <see cref="Deleted"/> or <see cref="EvictionSkipped"/>.</summary>
    public sealed record Evict(EvictionReason Reason);

    /// <summary>Reply to a delete.</summary>
    public sealed record Deleted(Fingerprint Fingerprint);

    /// <summary>Reply to an eviction of an image in use.</summary>
    public sealed record EvictionSkipped(string Why);

    /// <summary>Pin the files for reading; reply <see cref="ExportLease"/>.</summary>
    public sealed record OpenExport;

    /// <summary>The record and its files, pinned until <see cref="CloseExport"/>.</summary>
    public sealed record ExportLease(ImageRecord Image, string MetadataPath, string? RootfsPath);

    /// <summary>Unpin.</summary>
    public sealed record CloseExport;

    /// <summary>An alias starts pointing here; reply: the record, or <see cref="ImageNotFoundException"/>.</summary>
    public sealed record AttachAlias(AliasName Name);

    /// <summary>An alias stopped pointing here.</summary>
    public sealed record DetachAlias(AliasName Name);

    /// <summary>Take over what an image being replaced had (auto-update); reply: the record.</summary>
    public sealed record Adopt(ImageRecord Old);

    /// <summary>Worker result: files committed under their final names.</summary>
    public sealed record FilesCommitted(ImageRecord Record);
}

/// <summary>Timer message: an entity checks whether it may stop.</summary>
internal sealed class IdleCheck
{
    private IdleCheck() { }

    public static IdleCheck Instance { get; } = new();
}
