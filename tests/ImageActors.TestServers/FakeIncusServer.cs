using System.Text;
using System.Text.Json;
using System.Text.Json.Serialization.Metadata;
using ImageActors.Remotes.Incus;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;

namespace ImageActors.TestServers;

/// <summary>An image the fake server holds: one file, or metadata + rootfs.</summary>
public sealed record FakeImage(string Fingerprint, byte[] Metadata, byte[]? Rootfs, string Type, bool Public, string? Secret)
{
    public static FakeImage Unified(byte[] file, bool isPublic = true, string? secret = null) =>
        new(Bytes.Sha256(file), file, null, ImageTypes.Container, isPublic, secret);

    public static FakeImage Split(byte[] metadata, byte[] rootfs, string type = ImageTypes.Container) =>
        new(Bytes.Sha256(metadata, rootfs), metadata, rootfs, type, true, null);

    public long Size => Metadata.Length + (Rootfs?.Length ?? 0);
}

/// <summary>
/// The public image API of an Incus server with exact envelopes: <c>GET /1.0</c>, image list,
/// alias lookup (names with <c>/</c> arrive as <c>%2F</c>), image by fingerprint prefix, unified and
/// split export, <c>?secret=</c> for private images, 404 error envelopes.
/// </summary>
public sealed class FakeIncusServer
{
    public List<FakeImage> Images { get; } = [];

    public Dictionary<string, string> Aliases { get; } = new(StringComparer.Ordinal);

    /// <summary>Name of the second multipart part for split images (to play a broken server).</summary>
    public string? RootPartNameOverride { get; set; }

    /// <summary>When set, the first unified export is cut after this many bytes (once <see cref="BeforeCut"/> completes).</summary>
    public long? CutFirstExportAfter { get; set; }

    /// <summary>Awaited before the cut, so the client holds bytes on disk when the connection breaks.</summary>
    public Func<Task>? BeforeCut { get; set; }

    /// <summary>Bytes a unified export writes at a time.</summary>
    public int ExportChunkSize { get; set; } = 64 * 1024;

    /// <summary>Awaited before each chunk of a unified export, with its offset: a test paces (or stalls) the upstream here.</summary>
    public Func<long, CancellationToken, Task>? BeforeExportChunk { get; set; }

    /// <summary>Awaited before an alias is answered: a test holds lookups here to see which requests reach the server meanwhile.</summary>
    public Func<Task>? BeforeAliasAnswer { get; set; }

    /// <summary>Thumbprint of the client certificate this server trusts.</summary>
    public string? TrustedThumbprint { get; set; }

    public static readonly DateTimeOffset Created = new(2025, 3, 23, 20, 0, 0, TimeSpan.Zero);

    public static readonly DateTimeOffset Uploaded = DateTimeOffset.Parse("2025-03-24T14:18:15.1150367Z", System.Globalization.CultureInfo.InvariantCulture);

    public void Map(WebApplication app)
    {
        app.MapGet("/1.0", (HttpContext context) =>
        {
            var trusted = TrustedThumbprint is not null && context.Connection.ClientCertificate?.Thumbprint == TrustedThumbprint;
            var info = new ServerInfo { Public = true, Auth = trusted ? "trusted" : "untrusted", ApiExtensions = null };
            return Json(IncusResponse.Sync(info), IncusJsonContext.Default.IncusResponseServerInfo, 200);
        });
        app.MapGet("/1.0/images", (HttpContext context) =>
        {
            var visible = Images.Where(i => i.Public).ToList();
            if (context.Request.Query["recursion"] == "1")
            {
                IReadOnlyList<Image> list = visible.Select(ToApi).ToList();
                return Json(IncusResponse.Sync(list), IncusJsonContext.Default.IncusResponseIReadOnlyListImage, 200);
            }

            IReadOnlyList<string> urls = visible.Select(i => "/1.0/images/" + i.Fingerprint).ToList();
            return Json(IncusResponse.Sync(urls), IncusJsonContext.Default.IncusResponseIReadOnlyListString, 200);
        });
        app.MapGet("/1.0/images/aliases", () => NotFound(403, "Forbidden"));
        app.MapGet("/1.0/images/aliases/{*name}", async (string name) =>
        {
            if (BeforeAliasAnswer is { } gate)
            {
                await gate();
            }

            // Kestrel keeps %2F encoded in route values; LXD accepts both spellings.
            var decoded = Uri.UnescapeDataString(name);
            if (!Aliases.TryGetValue(decoded, out var target) || Find(target, null) is not { } image)
            {
                return NotFound(404, "Not Found");
            }

            var entry = new ImageAliasesEntry { Name = decoded, Target = image.Fingerprint, Type = image.Type };
            return Json(IncusResponse.Sync(entry), IncusJsonContext.Default.IncusResponseImageAliasesEntry, 200);
        });
        app.MapGet("/1.0/images/{fingerprint}", (string fingerprint, HttpContext context) =>
            Find(fingerprint, context.Request.Query["secret"]) is { } image
                ? Json(IncusResponse.Sync(ToApi(image)), IncusJsonContext.Default.IncusResponseImage, 200)
                : NotFound(404, $"Image \"{fingerprint}\" not found"));
        app.MapGet("/1.0/images/{fingerprint}/export", async (string fingerprint, HttpContext context) =>
        {
            if (Find(fingerprint, context.Request.Query["secret"]) is not { } image)
            {
                await NotFound(404, $"Image \"{fingerprint}\" not found").ExecuteAsync(context);
                return;
            }

            context.Response.Headers["X-Incus-Type"] = "incus";
            if (image.Rootfs is null)
            {
                context.Response.Headers.ContentDisposition = $"inline;filename={image.Fingerprint}.tar.xz";
                var cut = CutFirstExportAfter;
                CutFirstExportAfter = null;
                await RangeFile.ServeAsync(context, image.Metadata, cutAfter: cut, beforeCut: BeforeCut, chunkSize: ExportChunkSize, beforeChunk: BeforeExportChunk);
                return;
            }

            const string boundary = "b0f7a1e2c3d4";
            context.Response.ContentType = $"multipart/form-data; boundary={boundary}";
            var rootName = RootPartNameOverride ?? (image.Type == ImageTypes.VirtualMachine ? "rootfs.img" : "rootfs");
            var rootExt = image.Type == ImageTypes.VirtualMachine ? ".qcow2" : ".squashfs";
            await Write($"--{boundary}\r\nContent-Disposition: form-data; name=\"metadata\"; filename=\"meta-{image.Fingerprint}.tar.xz\"\r\nContent-Type: application/octet-stream\r\n\r\n");
            await context.Response.Body.WriteAsync(image.Metadata);
            await Write($"\r\n--{boundary}\r\nContent-Disposition: form-data; name=\"{rootName}\"; filename=\"{image.Fingerprint}{rootExt}\"\r\nContent-Type: application/octet-stream\r\n\r\n");
            await context.Response.Body.WriteAsync(image.Rootfs);
            await Write($"\r\n--{boundary}--\r\n");

            Task Write(string text) => context.Response.Body.WriteAsync(Encoding.ASCII.GetBytes(text)).AsTask();
        });
    }

    public Image ToApi(FakeImage image) => new()
    {
        Fingerprint = image.Fingerprint,
        Filename = image.Rootfs is null ? image.Fingerprint + ".tar.xz" : image.Fingerprint + ".squashfs",
        Size = image.Size,
        Architecture = "x86_64",
        Type = image.Type,
        Public = image.Public,
        Aliases = Aliases.Where(a => a.Value == image.Fingerprint).Select(a => new ImageAlias { Name = a.Key }).ToList(),
        Properties = new Dictionary<string, string> { ["os"] = "Debian", ["release"] = "bookworm", ["description"] = "Debian bookworm amd64" },
        CreatedAt = Created,
        UploadedAt = Uploaded,
    };

    private FakeImage? Find(string prefix, string? secret)
    {
        var matches = Images.Where(i => i.Fingerprint.StartsWith(prefix, StringComparison.Ordinal)).ToList();
        if (matches.Count != 1)
        {
            return null;
        }

        var image = matches[0];
        // A private image is a 404 to untrusted callers without the right secret.
        return image.Public || (image.Secret is not null && image.Secret == secret) ? image : null;
    }

    private static IResult NotFound(int status, string message) =>
        Json(IncusResponse.Error(status, message), IncusJsonContext.Default.IncusResponseObject, status);

    private static IResult Json<T>(T value, JsonTypeInfo<T> typeInfo, int status) =>
        new JsonReply(JsonSerializer.SerializeToUtf8Bytes(value, typeInfo), status);

    private sealed class JsonReply(byte[] body, int status) : IResult
    {
        public async Task ExecuteAsync(HttpContext httpContext)
        {
            httpContext.Response.StatusCode = status;
            httpContext.Response.ContentType = "application/json";
            httpContext.Response.Headers.XContentTypeOptions = "nosniff";
            httpContext.Response.ContentLength = body.Length;
            await httpContext.Response.Body.WriteAsync(body);
        }
    }
}
