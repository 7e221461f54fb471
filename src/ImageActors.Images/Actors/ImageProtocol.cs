using Akka.Event;
using ImageActors.Images.Caching;
using ImageActors.Images.Domain;
using ImageActors.Streaming;

namespace ImageActors.Images.Actors;

/// <summary>
/// An upload hashed into temp files and closed, named by path so that a message can carry it: a unified file, or a
/// split pair. Nothing holds it open; the image's actor commits it (or deletes it when the image exists already).
/// </summary>
/// <param name="MetadataPath">The unified or metadata file under the store's temp folder.</param>
/// <param name="RootfsPath">The rootfs of a split image, or null.</param>
/// <param name="Fingerprint">The SHA-256 of the bytes written (metadata then rootfs for a split image).</param>
/// <param name="Size">Bytes of both files.</param>
internal sealed record UploadedFiles(string MetadataPath, string? RootfsPath, Fingerprint Fingerprint, long Size)
{
    /// <summary>Deletes the temp files (an upload that is not needed, or a failed request).</summary>
    public void Delete()
    {
        File.Delete(MetadataPath);
        if (RootfsPath is not null)
        {
            File.Delete(RootfsPath);
        }
    }
}

/// <summary>
/// Names a download that the requesting node holds (the requester's remote client, progress and callback live
/// there); the worker on that node runs it. A claim check: the message stays plain data.
/// </summary>
/// <param name="Id">The download's key in the node's <see cref="FetchTable"/>.</param>
/// <param name="Description">What is fetched from where, for errors.</param>
internal sealed record FetchTicket(Guid Id, string Description);

/// <summary>Messages an <see cref="ImageActor"/> understands. All are plain data: they go through the shard region.</summary>
internal static class ImageProtocol
{
    /// <summary>
    /// A request whose work takes as long as it takes: its caller waits while the image tells it <see cref="Progress"/>,
    /// not for a fixed time.
    /// </summary>
    public interface IFollowsProgress
    {
        /// <summary>What the work is and where its bytes come from, for the error of a wait that saw no progress.</summary>
        string Describe(Fingerprint fingerprint);
    }

    /// <summary>Store a hashed upload; reply: the record (with <see cref="Progress"/> while another import of it runs).</summary>
    public sealed record StoreUpload(UploadedFiles Upload, ImageRecord Draft, bool FailIfExists) : IFollowsProgress, IEntityRequest
    {
        /// <inheritdoc />
        public string Describe(Fingerprint fingerprint) => $"The import of image {fingerprint}";
    }

    /// <summary>Download (single flight); reply: the record, with <see cref="Progress"/> while the download moves.</summary>
    public sealed record Download(FetchTicket Fetch) : IFollowsProgress, IEntityRequest
    {
        /// <inheritdoc />
        public string Describe(Fingerprint fingerprint) => $"The download of {Fetch.Description}";
    }

    /// <summary>To the waiters of an import or download: it moved since the last notice.</summary>
    public sealed record Progress : IProgressNotice, IDeadLetterSuppression;

    /// <summary>Reply: the record, or <see cref="ImageNotFoundException"/>.</summary>
    public sealed record Get : IEntityRequest;

    /// <summary>Set <c>last_used_at</c>; reply: the record.</summary>
    public sealed record MarkUsed(DateTimeOffset At) : IEntityRequest;

    /// <summary>A client used the image at <paramref name="At"/>; no reply. Uses are coalesced into at most one <c>ImageUsed</c> per interval.</summary>
    public sealed record RecordUse(DateTimeOffset At);

    /// <summary>Replace the writable set; reply: the record.</summary>
    public sealed record Update(ImagePut Put) : IEntityRequest;

    /// <summary>Delete; reply <see cref="Deleted"/> once the files are gone.</summary>
    public sealed record Delete(string Reason) : IEntityRequest;

    /// <summary>
    /// Delete unless in use (eviction); reply <see cref="Deleted"/> or <see cref="EvictionSkipped"/>. With
    /// <paramref name="SeenLastUse"/> (the last use the plan saw), an image used since then is skipped too: the plan
    /// judged it by a use that is no longer its last.
    /// </summary>
    public sealed record Evict(EvictionReason Reason, DateTimeOffset? SeenLastUse = null) : IEntityRequest;

    /// <summary>Reply to a delete.</summary>
    public sealed record Deleted(Fingerprint Fingerprint);

    /// <summary>Reply to an eviction of an image in use, used since, or not stored.</summary>
    public sealed record EvictionSkipped(string Why, DateTimeOffset? UsedAt = null)
    {
        /// <summary>The <see cref="Why"/> of an image that is not stored (gone, or being imported again).</summary>
        public const string NotStored = "not stored";
    }

    /// <summary>Pin the files for reading; reply <see cref="ExportLease"/>.</summary>
    public sealed record OpenExport : IEntityRequest;

    /// <summary>The record and its files, pinned until <see cref="CloseExport"/>.</summary>
    public sealed record ExportLease(ImageRecord Image, string MetadataPath, string? RootfsPath);

    /// <summary>Unpin.</summary>
    public sealed record CloseExport;

    /// <summary>An alias starts pointing here; reply: the record, or <see cref="ImageNotFoundException"/>.</summary>
    public sealed record AttachAlias(AliasName Name) : IEntityRequest;

    /// <summary>An alias stopped pointing here.</summary>
    public sealed record DetachAlias(AliasName Name);

    /// <summary>
    /// The cache is about to name this image by <paramref name="Alias"/>, the upstream alias it fetched it for: that
    /// alias is to follow the image, not keep it. Reply: the record, or <see cref="ImageNotFoundException"/>.
    /// </summary>
    public sealed record RecordCacheAlias(AliasName Alias) : IEntityRequest;

    /// <summary>Take over what an image being replaced had (auto-update); reply: the record.</summary>
    public sealed record Adopt(ImageRecord Old) : IEntityRequest;

    /// <summary>Worker result: files committed under their final names.</summary>
    public sealed record FilesCommitted(ImageRecord Record);

    /// <summary>Worker result: the temp files of an upload that was not needed are gone.</summary>
    public sealed record UploadDiscarded;
}

/// <summary>Timer message: an image writes the latest use it has held back.</summary>
internal sealed class WriteHeldUse
{
    private WriteHeldUse() { }

    public static WriteHeldUse Instance { get; } = new();
}

/// <summary>Timer message: an entity checks whether it may stop.</summary>
internal sealed class IdleCheck
{
    private IdleCheck() { }

    public static IdleCheck Instance { get; } = new();
}
