using System.Collections.Immutable;
using ImageActors.Images.Domain;
using ImageActors.Remotes;
using ImageActors.Remotes.Download;
using ImageActors.Streaming;
using ImageActors.Streaming.Images;
using ImageActors.Streaming.Storage;
using DomainImageType = ImageActors.Images.Domain.ImageType;
using StreamingImageType = ImageActors.Streaming.Images.ImageType;

namespace ImageActors.Images.Remote;

/// <summary>What a downloaded image's record says besides what its files say.</summary>
/// <param name="Public">Visible to untrusted clients.</param>
/// <param name="AutoUpdate">Refreshed from its source.</param>
/// <param name="Cached">Stored on behalf of a use (so it may expire).</param>
/// <param name="Profiles">Profiles; null keeps <c>["default"]</c>.</param>
/// <param name="UpdateSource">Where auto-update looks, or null.</param>
internal sealed record RecordTemplate(bool Public, bool AutoUpdate, bool Cached, IReadOnlyList<string>? Profiles, UpdateSource? UpdateSource);

/// <summary>
/// Builds the <see cref="ImageFetch"/> that the image's actor runs once for all callers: download every file
/// into the blob store's temp folder (verified per file and as a whole by the remotes layer), read the metadata,
/// and commit under the fingerprint (which the blob store checks once more).
/// </summary>
internal static class RemoteImageFetch
{
    public static ImageFetch Create(IImageRemote remote, RemoteImage image, RecordTemplate template, TimeProvider clock, IProgress<ImageProgress>? progress)
    {
        var meter = new ProgressMeter();
        return new((blobs, token) => FetchAsync(remote, image, template, clock, new TransferProgress(progress, meter), blobs, token), $"{remote.Server} ({image.Fingerprint})")
        {
            Progress = meter,
        };
    }

    private static async Task<(StoredImage Files, ImageRecord Record)> FetchAsync(IImageRemote remote, RemoteImage image, RecordTemplate template, TimeProvider clock, TransferProgress report, BlobStore blobs, CancellationToken cancellationToken)
    {
        var downloaded = await remote.DownloadAsync(image, blobs.TempDirectory, report, cancellationToken).ConfigureAwait(false);
        try
        {
            var contents = Inspect(downloaded);
            var description = $"{downloaded.Metadata.Url}";

            // The downloader hashed every byte as it wrote it (and the metadata-then-rootfs hash of a split image),
            // so the blob store checks that hash against the fingerprint instead of reading the files again.
            var written = downloaded.Rootfs is { } rootfsFile ? rootfsFile.CombinedSha256 : downloaded.Metadata.Sha256;
            var stored = blobs.CommitVerified(
                downloaded.Metadata.Path,
                downloaded.Rootfs?.Path,
                Fingerprint.Parse(written ?? throw new InvalidOperationException($"{description}: the downloader reported no metadata-then-rootfs hash")),
                image.Fingerprint,
                description);
            return (stored, Record(image, downloaded, contents, template, clock));
        }
        finally
        {
            // Committed files were renamed away; what is left is a failure's leftovers.
            downloaded.DeleteFiles();
        }
    }

    private static ImageContents Inspect(DownloadedImage downloaded)
    {
        try
        {
            return ImageInspector.Inspect(downloaded.Metadata.Path, downloaded.Rootfs?.Path);
        }
        catch (Exception e) when (e is Streaming.Images.InvalidImageException or Streaming.Formats.UnsupportedImageFormatException)
        {
            throw new Domain.InvalidImageException(e.Message, e);
        }
    }

    private static ImageRecord Record(RemoteImage image, DownloadedImage downloaded, ImageContents contents, RecordTemplate template, TimeProvider clock)
    {
        var metadata = contents.Metadata;
        var now = clock.GetUtcNow();

        // The source's properties win over metadata.yaml's, as the daemon copies the source's image object.
        var properties = metadata.Properties.ToImmutableSortedDictionary(StringComparer.Ordinal).SetItems(image.Info.Properties);
        var type = contents.Type == StreamingImageType.VirtualMachine || image.Type == "virtual-machine" ? DomainImageType.VirtualMachine : DomainImageType.Container;
        return new ImageRecord
        {
            Fingerprint = image.Fingerprint,
            Filename = image.Info.Filename.Length > 0 ? image.Info.Filename : downloaded.Metadata.FileName,
            Architecture = metadata.Architecture.Name,
            Type = type,
            Public = template.Public,
            Cached = template.Cached,
            AutoUpdate = template.AutoUpdate,
            Properties = properties,
            Profiles = template.Profiles is null ? ["default"] : [.. template.Profiles],
            CreatedAt = metadata.CreationDate,
            ExpiresAt = metadata.ExpiryDate ?? DateTimeOffset.MinValue,
            LastUsedAt = template.Cached ? now : DateTimeOffset.MinValue,
            UploadedAt = now,
            UpdateSource = template.UpdateSource,
        };
    }
}

/// <summary>Passes download progress on as the store's transfer progress (on the downloading thread) and moves the fetch's meter.</summary>
internal sealed class TransferProgress(IProgress<ImageProgress>? target, ProgressMeter meter) : IProgress<DownloadProgress>
{
    public void Report(DownloadProgress value)
    {
        meter.Report(value.BytesArrived);
        target?.Report(new ImageProgress("transfer", value.BytesReceived, value.TotalBytes) { File = value.Label });
    }
}
