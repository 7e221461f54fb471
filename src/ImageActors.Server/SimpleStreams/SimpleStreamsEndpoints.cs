using System.Globalization;
using ImageActors.Images.Domain;
using ImageActors.Remotes.SimpleStreams;
using ImageActors.Server.Api;
using ImageActors.Server.Images;
using ImageActors.Server.Metrics;
using ImageActors.Streaming;
using ImageActors.Streaming.Formats;
using Microsoft.Net.Http.Headers;

namespace ImageActors.Server.SimpleStreams;

/// <summary>
/// SimpleStreams generated from the read model (spec §3, §11): <c>streams/v1/index.json</c>, the
/// products file <c>streams/v1/images.json</c> with both the <c>incus.*</c> and <c>lxd.*</c>
/// ftypes, and the files themselves under <c>images/&lt;fp&gt;/</c>, served from the blob store.
/// Public images only: SimpleStreams has no authentication.
/// </summary>
public static class SimpleStreamsEndpoints
{
    /// <summary>Path of the products file.</summary>
    public const string ProductsPath = "streams/v1/images.json";

    /// <summary>Maps the routes.</summary>
    public static void Map(IEndpointRouteBuilder routes)
    {
        routes.MapGet("/streams/v1/index.json", Index);
        routes.MapGet("/" + ProductsPath, ProductsAsync);
        routes.MapMethods("/images/{fingerprint}/{file}", [HttpMethods.Get, HttpMethods.Head], FileAsync);
    }

    /// <summary>The product key of an image: <c>os:release:variant:arch</c> plus the fingerprint's first 12 digits, so that images sharing the rest never merge.</summary>
    public static string ProductKey(ImageRecord image) =>
        string.Join(':', Property(image, "os", "unknown"), Property(image, "release", "unknown"), Property(image, "variant", "default"), image.Architecture, image.Fingerprint.ToShortString(12));

    /// <summary>Builds the products file for <paramref name="images"/>.</summary>
    public static async Task<ProductsFile> BuildProductsAsync(IEnumerable<ImageRecord> images, IImageBackend backend, FileDigests digests, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(backend);
        ArgumentNullException.ThrowIfNull(digests);
        var products = new SortedDictionary<string, Product>(StringComparer.Ordinal);
        foreach (var image in images)
        {
            ImageExport files;
            try
            {
                files = await backend.OpenExportAsync(image.Project, image.Fingerprint, cancellationToken);
            }
            catch (ImageNotFoundException)
            {
                // Deleted between listing and opening.
                continue;
            }

            await using (files)
            {
                products[ProductKey(image)] = await ProductOfAsync(image, files, digests);
            }
        }

        return new ProductsFile
        {
            ContentId = "images",
            Datatype = "image-downloads",
            Format = "products:1.0",
            Updated = DateTimeOffset.UtcNow.ToString("r", CultureInfo.InvariantCulture),
            Products = products,
        };
    }

    private static IResult Index(IImageBackend backend)
    {
        var keys = PublicImages(backend).Select(ProductKey).Order(StringComparer.Ordinal).ToList();
        var index = new StreamIndex
        {
            Format = "index:1.0",
            Updated = DateTimeOffset.UtcNow.ToString("r", CultureInfo.InvariantCulture),
            Index = new Dictionary<string, StreamIndexEntry>
            {
                ["images"] = new()
                {
                    Datatype = "image-downloads",
                    Path = ProductsPath,
                    Format = "products:1.0",
                    Products = keys,
                },
            },
        };
        return ApiResults.Plain(index, SimpleStreamsJsonContext.Default.StreamIndex);
    }

    private static async Task<IResult> ProductsAsync(HttpContext context, IImageBackend backend, FileDigests digests)
    {
        var products = await BuildProductsAsync(PublicImages(backend), backend, digests, context.RequestAborted);
        return ApiResults.Plain(products, SimpleStreamsJsonContext.Default.ProductsFile);
    }

    private static async Task FileAsync(HttpContext context, IImageBackend backend, ServerMetrics metrics, string fingerprint, string file)
    {
        if (!Fingerprint.TryParse(fingerprint, out var fp) || backend.Find(ProjectName.Default, fp) is not { Public: true } image)
        {
            await ApiResults.NotFound().ExecuteAsync(context);
            return;
        }

        await using var export = await backend.OpenExportAsync(ProjectName.Default, fp, context.RequestAborted);
        var path = file == MetadataFileName(image, export) ? export.MetadataPath
            : export.RootfsPath is not null && file == RootfsFileName(image, export) ? export.RootfsPath
            : null;
        if (path is null)
        {
            await ApiResults.NotFound().ExecuteAsync(context);
            return;
        }

        using var inFlight = metrics.ExportStarted();
        await Results.File(path, "application/octet-stream", entityTag: new EntityTagHeaderValue("\"" + fp + "-" + file + "\""), enableRangeProcessing: true)
            .ExecuteAsync(context);
        if (context.Response.ContentLength is { } sent && HttpMethods.IsGet(context.Request.Method))
        {
            metrics.BytesServed(sent);
        }
    }

    private static IEnumerable<ImageRecord> PublicImages(IImageBackend backend) =>
        backend.List(ProjectName.Default, null).Where(i => i.Public);

    private static async Task<Product> ProductOfAsync(ImageRecord image, ImageExport files, FileDigests digests)
    {
        var fp = image.Fingerprint.ToString();
        var folder = "images/" + fp + "/";
        var items = new SortedDictionary<string, ProductVersionItem>(StringComparer.Ordinal);
        if (files.RootfsPath is null)
        {
            var size = new FileInfo(files.MetadataPath).Length;
            var unified = new ProductVersionItem
            {
                FileType = FileTypes.IncusCombined,
                Path = folder + MetadataFileName(image, files),
                Sha256 = fp,
                Size = size,
                CombinedType = image.Type.ToApiName(),
            };
            items[FileTypes.IncusCombined] = unified;
            items[FileTypes.LxdCombined] = unified with { FileType = FileTypes.LxdCombined };
        }
        else
        {
            var meta = await digests.OfAsync(image.Fingerprint, "metadata", files.MetadataPath);
            var root = await digests.OfAsync(image.Fingerprint, "rootfs", files.RootfsPath);
            var rootFormat = FormatSniffer.DetectFile(files.RootfsPath);
            var rootType = rootFormat switch
            {
                ImageFileFormat.Qcow2 => FileTypes.DiskKvmImg,
                ImageFileFormat.SquashFs => FileTypes.Squashfs,
                _ => FileTypes.RootTarXz,
            };
            var metadata = new ProductVersionItem
            {
                FileType = FileTypes.IncusMetadata,
                Path = folder + MetadataFileName(image, files),
                Sha256 = meta.Sha256,
                Size = meta.Size,
                CombinedSquashfsSha256 = rootType == FileTypes.Squashfs ? fp : null,
                CombinedDiskKvmImgSha256 = rootType == FileTypes.DiskKvmImg ? fp : null,
                CombinedRootXzSha256 = rootType == FileTypes.RootTarXz ? fp : null,
                CombinedSha256 = rootType == FileTypes.RootTarXz ? fp : null,
            };
            items[FileTypes.IncusMetadata] = metadata;
            items[FileTypes.LxdMetadata] = metadata with { FileType = FileTypes.LxdMetadata };
            items[rootType] = new ProductVersionItem
            {
                FileType = rootType,
                Path = folder + RootfsFileName(image, files),
                Sha256 = root.Sha256,
                Size = root.Size,
            };
        }

        var requirements = image.Properties
            .Where(p => p.Key.StartsWith("requirements.", StringComparison.Ordinal))
            .ToDictionary(p => p.Key["requirements.".Length..], p => p.Value, StringComparer.Ordinal);
        return new Product
        {
            Aliases = image.Aliases.Length == 0 ? null : string.Join(',', image.Aliases.Select(a => a.Name.Value)),
            Architecture = image.Architecture,
            OperatingSystem = Property(image, "os", "unknown"),
            Release = Property(image, "release", "unknown"),
            ReleaseTitle = Property(image, "release", "unknown"),
            Variant = Property(image, "variant", "default"),
            SupportEol = image.HasExpiry ? image.ExpiresAt.UtcDateTime.ToString("yyyy-MM-dd", CultureInfo.InvariantCulture) : null,
            Requirements = requirements.Count == 0 ? null : requirements,
            LxdRequirements = requirements.Count == 0 ? null : requirements,
            Versions = new Dictionary<string, ProductVersion>
            {
                [VersionKey(image)] = new ProductVersion { Items = items, Label = image.Properties.GetValueOrDefault("label") },
            },
        };
    }

    // YYYYMMDD_hhmm: the first eight characters parse as a date (Incus and LXD both need that) and keys sort by time.
    private static string VersionKey(ImageRecord image)
    {
        var at = image.CreatedAt == default || image.CreatedAt == DateTimeOffset.MinValue ? image.UploadedAt : image.CreatedAt;
        return at.UtcDateTime.ToString("yyyyMMdd_HHmm", CultureInfo.InvariantCulture);
    }

    private static string MetadataFileName(ImageRecord image, ImageExport files) =>
        (files.RootfsPath is null ? string.Empty : "meta-") + image.Fingerprint + ImageExports.ExtensionOf(files.MetadataPath);

    private static string RootfsFileName(ImageRecord image, ImageExport files) =>
        image.Fingerprint + ImageExports.ExtensionOf(files.RootfsPath!);

    private static string Property(ImageRecord image, string key, string fallback) =>
        image.Properties.TryGetValue(key, out var value) && !string.IsNullOrWhiteSpace(value) ? value : fallback;
}
