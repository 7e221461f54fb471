using System.Globalization;
using ImageActors.Images.Domain;
using ImageActors.Images.Remote;
using ImageActors.Remotes;
using ImageActors.Remotes.SimpleStreams;
using ImageActors.Server.Api;
using ImageActors.Server.Images;
using ImageActors.Server.Metrics;
using ImageActors.Streaming;
using ImageActors.Streaming.Formats;
using Microsoft.Net.Http.Headers;
using ImageNotFoundException = ImageActors.Images.Domain.ImageNotFoundException;

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
        routes.MapGet("/streams/v1/index.json", IndexAsync);
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

    private static async Task<IResult> IndexAsync(HttpContext context, IImageBackend backend)
    {
        var upstream = await backend.ListUpstreamImagesAsync(context.RequestAborted);
        var local = VisibleImages(backend, upstream is not null).ToList();
        var keys = local.Select(ProductKey).Concat(UpstreamOnly(local, upstream).Select(u => ProductKey(u.Image))).Distinct(StringComparer.Ordinal).Order(StringComparer.Ordinal).ToList();
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
        var upstream = await backend.ListUpstreamImagesAsync(context.RequestAborted);
        var local = VisibleImages(backend, upstream is not null).ToList();
        var products = await BuildProductsAsync(local, backend, digests, context.RequestAborted);
        if (upstream is not null)
        {
            // The appliance lists what its upstreams have under its own images; the files point here and are
            // fetched from the upstream on first request.
            var merged = new SortedDictionary<string, Product>(products.Products.ToDictionary(), StringComparer.Ordinal);
            foreach (var image in UpstreamOnly(local, upstream))
            {
                if (UpstreamProduct(image.Image) is { } product)
                {
                    merged.TryAdd(ProductKey(image.Image), product);
                }
            }

            products = products with { Products = merged };
        }

        return ApiResults.Plain(products, SimpleStreamsJsonContext.Default.ProductsFile);
    }

    private static async Task FileAsync(HttpContext context, IImageBackend backend, ServerMetrics metrics, string fingerprint, string file)
    {
        if (!Fingerprint.TryParse(fingerprint, out var fp))
        {
            await ApiResults.NotFound().ExecuteAsync(context);
            return;
        }

        if (HttpMethods.IsHead(context.Request.Method) && backend.Find(ProjectName.Default, fp) is null)
        {
            // Pulling the image through would download all of it to answer a request for headers.
            await AnnouncedHeadAsync(context, backend, fp, file);
            return;
        }

        await using var held = await PullThroughAsync(backend, fp, context.RequestAborted);
        if (Visible(backend, fp, held) is not { } image)
        {
            await ApiResults.NotFound().ExecuteAsync(context);
            return;
        }

        await using var export = held?.Export ?? await backend.OpenExportAsync(ProjectName.Default, fp, context.RequestAborted);
        var path = FileOf(image, export, file);
        if (path is null)
        {
            await ApiResults.NotFound().ExecuteAsync(context);
            return;
        }

        if (HttpMethods.IsGet(context.Request.Method))
        {
            backend.RecordUse(ProjectName.Default, fp);
        }

        using var inFlight = metrics.ExportStarted();
        await Results.File(path, "application/octet-stream", entityTag: new EntityTagHeaderValue("\"" + fp + "-" + file + "\""), enableRangeProcessing: true)
            .ExecuteAsync(context);
        if (context.Response.ContentLength is { } sent && HttpMethods.IsGet(context.Request.Method))
        {
            metrics.BytesServed(sent);
        }
    }

    // A HEAD for a file of an image the appliance lacks, answered from what its upstream announced: the length when
    // the upstream gave it, none when it did not.
    private static async Task AnnouncedHeadAsync(HttpContext context, IImageBackend backend, Fingerprint fp, string file)
    {
        var upstream = await backend.ListUpstreamImagesAsync(context.RequestAborted);
        if (upstream?.FirstOrDefault(u => u.Image.Fingerprint == fp) is not { } listed || !TryAnnouncedFile(listed.Image, file, out var size))
        {
            await ApiResults.NotFound().ExecuteAsync(context);
            return;
        }

        context.Response.StatusCode = StatusCodes.Status200OK;
        context.Response.ContentType = "application/octet-stream";
        context.Response.Headers.AcceptRanges = "bytes";
        context.Response.Headers.ETag = "\"" + fp + "-" + file + "\"";
        context.Response.ContentLength = size;
    }

    // Whether a GET would serve this file once the image is here (FileOf's rules over the files the upstream
    // announced), and its announced size.
    private static bool TryAnnouncedFile(RemoteImage image, string file, out long? size)
    {
        var fp = image.Fingerprint.ToString();
        var unified = image.Files.FirstOrDefault(f => f.Role == RemoteFileRole.Unified);
        var meta = image.Files.FirstOrDefault(f => f.Role == RemoteFileRole.Metadata);
        var root = image.Files.FirstOrDefault(f => f.Role == RemoteFileRole.Rootfs);
        RemoteImageFile? announced;
        if (unified is not null)
        {
            announced = file.StartsWith(fp, StringComparison.Ordinal) ? unified : null;
        }
        else if (meta is not null && root is not null)
        {
            announced = file.StartsWith("meta-" + fp, StringComparison.Ordinal) ? meta : file.StartsWith(fp, StringComparison.Ordinal) ? root : null;
        }
        else
        {
            // An Incus export the listing could not announce (split, or its probe failed): a name starting with the
            // fingerprint is served either way (the unified file or the rootfs), but the record's size is that file's
            // only if it is unified. Whether a "meta-" file exists is not known without the download, so it is not claimed.
            size = null;
            return image.Files.Any(f => f.Role == RemoteFileRole.Export) && file.StartsWith(fp, StringComparison.Ordinal);
        }

        size = announced?.Size;
        return announced is not null;
    }

    // On an appliance, the image held for a file request: from the store, or pulled through from the upstreams first
    // (once, however many requests ask); null when there are no upstreams or none has it.
    private static async Task<HeldImage?> PullThroughAsync(IImageBackend backend, Fingerprint fp, CancellationToken cancellationToken)
    {
        try
        {
            return await backend.PullThroughAsync(ProjectName.Default, fp.ToString(), cancellationToken);
        }
        catch (ImageNotFoundException)
        {
            return null;
        }
    }

    // The image a file request may see: a public one; on an appliance also a cached one.
    private static ImageRecord? Visible(IImageBackend backend, Fingerprint fp, HeldImage? held) =>
        held is not null
            ? held.Image.Public || held.Image.Cached ? held.Image : null
            : backend.Find(ProjectName.Default, fp) is { Public: true } image ? image : null;

    // Our own products name the files exactly; the products merged from upstreams name them by role with the
    // upstream's extension (the stored file's format is known only once it is here).
    private static string? FileOf(ImageRecord image, ImageExport export, string file)
    {
        var fp = image.Fingerprint.ToString();
        if (export.RootfsPath is null)
        {
            return file == MetadataFileName(image, export) || file.StartsWith(fp, StringComparison.Ordinal) ? export.MetadataPath : null;
        }

        if (file == MetadataFileName(image, export) || file.StartsWith("meta-" + fp, StringComparison.Ordinal))
        {
            return export.MetadataPath;
        }

        return file == RootfsFileName(image, export) || file.StartsWith(fp, StringComparison.Ordinal) ? export.RootfsPath : null;
    }

    private static IEnumerable<ImageRecord> VisibleImages(IImageBackend backend, bool appliance) =>
        backend.List(ProjectName.Default, null).Where(i => i.Public || (appliance && i.Cached));

    private static IEnumerable<UpstreamImage> UpstreamOnly(IReadOnlyList<ImageRecord> local, IReadOnlyList<UpstreamImage>? upstream)
    {
        if (upstream is null)
        {
            return [];
        }

        // An item needs each file's size and SHA-256. Of an Incus/LXD REST upstream's images, the listing announced
        // the unified ones as their one file (SHA-256 = fingerprint), after a probe of the export's headers
        // (GET .../export with Range: bytes=0-0; LXD 5.0.2 answers 206 with Content-Range giving the length for a
        // unified image, and 200 multipart/form-data, ignoring the range, for a split one). Split images, and those
        // whose probe failed until the catalog is fetched again, still have an export file and stay out: the sizes
        // and hashes of metadata and rootfs are known only from a download. They are still served over REST and
        // export, and a file request pulls them through.
        var have = local.Select(i => i.Fingerprint).ToHashSet();
        return upstream.Where(u => !have.Contains(u.Image.Fingerprint) && u.Image.Files.All(f => f.Role != RemoteFileRole.Export));
    }

    private static string ProductKey(RemoteImage image)
    {
        var properties = image.Info.Properties;
        return string.Join(':', Value(properties, "os", "unknown"), Value(properties, "release", "unknown"), Value(properties, "variant", "default"), image.Info.Architecture, image.Fingerprint.ToShortString(12));
    }

    // An upstream image described by the files its upstream announced, at paths under this server.
    private static Product? UpstreamProduct(RemoteImage image)
    {
        var fp = image.Fingerprint.ToString();
        var folder = "images/" + fp + "/";
        var items = new SortedDictionary<string, ProductVersionItem>(StringComparer.Ordinal);
        var unified = image.Files.FirstOrDefault(f => f.Role == RemoteFileRole.Unified);
        var meta = image.Files.FirstOrDefault(f => f.Role == RemoteFileRole.Metadata);
        var root = image.Files.FirstOrDefault(f => f.Role == RemoteFileRole.Rootfs);
        if (unified is { Size: { } size })
        {
            var item = new ProductVersionItem
            {
                FileType = FileTypes.IncusCombined,
                Path = folder + fp + ExtensionOfName(unified.FileName),
                Sha256 = fp,
                Size = size,
                CombinedType = image.Type,
            };
            items[FileTypes.IncusCombined] = item;
            items[FileTypes.LxdCombined] = item with { FileType = FileTypes.LxdCombined };
        }
        else if (meta is { Size: { } metaSize, Sha256: { } metaSha } && root is { Size: { } rootSize, Sha256: { } rootSha })
        {
            var rootExtension = ExtensionOfName(root.FileName);
            var rootType = rootExtension switch
            {
                ".squashfs" => FileTypes.Squashfs,
                ".qcow2" or ".img" => FileTypes.DiskKvmImg,
                _ => FileTypes.RootTarXz,
            };
            var metadata = new ProductVersionItem
            {
                FileType = FileTypes.IncusMetadata,
                Path = folder + "meta-" + fp + ExtensionOfName(meta.FileName),
                Sha256 = metaSha,
                Size = metaSize,
                CombinedSquashfsSha256 = rootType == FileTypes.Squashfs ? fp : null,
                CombinedDiskKvmImgSha256 = rootType == FileTypes.DiskKvmImg ? fp : null,
                CombinedRootXzSha256 = rootType == FileTypes.RootTarXz ? fp : null,
                CombinedSha256 = rootType == FileTypes.RootTarXz ? fp : null,
            };
            items[FileTypes.IncusMetadata] = metadata;
            items[FileTypes.LxdMetadata] = metadata with { FileType = FileTypes.LxdMetadata };
            items[rootType] = new ProductVersionItem { FileType = rootType, Path = folder + fp + rootExtension, Sha256 = rootSha, Size = rootSize };
        }
        else
        {
            // Sizes and hashes of every file are needed to describe it; an upstream that does not announce them is not listed.
            return null;
        }

        var info = image.Info;
        var created = info.CreatedAt > DateTimeOffset.UnixEpoch ? info.CreatedAt : info.UploadedAt;
        return new Product
        {
            Aliases = ProductAliases(info.Aliases.Select(a => a.Name).ToList()),
            Architecture = info.Architecture,
            OperatingSystem = Value(info.Properties, "os", "unknown"),
            Release = Value(info.Properties, "release", "unknown"),
            ReleaseTitle = ReleaseTitle(info.Properties),
            Variant = Value(info.Properties, "variant", "default"),
            Versions = new Dictionary<string, ProductVersion>
            {
                [created.UtcDateTime.ToString("yyyyMMdd_HHmm", CultureInfo.InvariantCulture)] = new ProductVersion { Items = items, Label = info.Properties.GetValueOrDefault("label") },
            },
        };
    }

    // A SimpleStreams client adds "<alias>/<arch>" to every product alias itself; the ones the upstream's client
    // side added are dropped so that they are not doubled.
    private static string? ProductAliases(List<string> names)
    {
        var own = names.Where(n => !names.Any(b => n.Length > b.Length + 1 && n.StartsWith(b + "/", StringComparison.Ordinal) && n.IndexOf('/', b.Length + 1) < 0)).ToList();
        return own.Count == 0 ? null : string.Join(',', own);
    }

    // ".tar.xz" of "incus.tar.xz", ".squashfs" of "rootfs.squashfs".
    private static string ExtensionOfName(string? name)
    {
        if (string.IsNullOrEmpty(name))
        {
            return string.Empty;
        }

        var dot = name.IndexOf('.', StringComparison.Ordinal);
        return dot < 0 ? string.Empty : name[dot..];
    }

    /// <summary>
    /// The product's <c>release_title</c>: clients build an image's description from os, release_title and the raw
    /// architecture, so the title is the one the image's own description holds between the os and the architecture
    /// (<c>Ubuntu 22.04 LTS amd64 (release)</c> gives <c>22.04 LTS</c>); else a <c>release_title</c> property, the
    /// <c>version</c>, or the release.
    /// </summary>
    internal static string ReleaseTitle(IReadOnlyDictionary<string, string> properties)
    {
        if (properties.TryGetValue("release_title", out var title) && !string.IsNullOrWhiteSpace(title))
        {
            return title;
        }

        if (properties.TryGetValue("description", out var description) && properties.TryGetValue("os", out var os) && properties.TryGetValue("architecture", out var architecture) &&
            os.Length > 0 && architecture.Length > 0 && description.StartsWith(os + " ", StringComparison.OrdinalIgnoreCase))
        {
            var rest = description[(os.Length + 1)..];
            var end = rest.IndexOf(" " + architecture, StringComparison.Ordinal);
            if (end > 0 && (end + architecture.Length + 1 == rest.Length || rest[end + architecture.Length + 1] == ' '))
            {
                return rest[..end];
            }
        }

        return Value(properties, "version", Value(properties, "release", "unknown"));
    }

    private static string Value(IReadOnlyDictionary<string, string> properties, string key, string fallback) =>
        properties.TryGetValue(key, out var value) && !string.IsNullOrWhiteSpace(value) ? value : fallback;

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
            ReleaseTitle = ReleaseTitle(image.Properties),
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
