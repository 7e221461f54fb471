using System.Text.Json;
using ImageActors.Remotes.SimpleStreams;
using Microsoft.AspNetCore.Builder;
using Microsoft.Extensions.FileProviders;

namespace ImageActors.TestServers;

/// <summary>A SimpleStreams tree on disk, as incus-simplestreams lays it out, served as static files.</summary>
public sealed class SimpleStreamsTree
{
    private readonly Dictionary<string, Product> _products = new(StringComparer.Ordinal);

    public SimpleStreamsTree(string root) => Root = root;

    public string Root { get; }

    /// <summary>Adds a split container image (metadata + squashfs) and writes its files; returns the fingerprint.</summary>
    public string AddSplit(string key, string os, string release, string arch, string serial, string aliases, byte[] metadata, byte[] rootfs, string? announcedFingerprint = null)
    {
        var metaPath = $"images/{key.Replace(':', '/')}/{serial}/incus.tar.xz";
        var rootPath = $"images/{key.Replace(':', '/')}/{serial}/rootfs.squashfs";
        Write(metaPath, metadata);
        Write(rootPath, rootfs);
        var fingerprint = announcedFingerprint ?? Bytes.Sha256(metadata, rootfs);
        var version = new ProductVersion
        {
            Items = new Dictionary<string, ProductVersionItem>
            {
                ["incus.tar.xz"] = new() { FileType = FileTypes.IncusMetadata, Path = metaPath, Sha256 = Bytes.Sha256(metadata), Size = metadata.Length, CombinedSquashfsSha256 = fingerprint },
                ["lxd.tar.xz"] = new() { FileType = FileTypes.LxdMetadata, Path = metaPath, Sha256 = Bytes.Sha256(metadata), Size = metadata.Length, CombinedSquashfsSha256 = fingerprint },
                ["root.squashfs"] = new() { FileType = FileTypes.Squashfs, Path = rootPath, Sha256 = Bytes.Sha256(rootfs), Size = rootfs.Length },
            },
        };
        var versions = _products.TryGetValue(key, out var existing) ? new Dictionary<string, ProductVersion>(existing.Versions) : [];
        versions[serial] = version;
        _products[key] = new Product { Aliases = aliases, Architecture = arch, OperatingSystem = os, Release = release, ReleaseTitle = release, Variant = "default", Versions = versions };
        return fingerprint;
    }

    /// <summary>Writes index.json and images.json.</summary>
    public void Publish()
    {
        var index = new StreamIndex
        {
            Index = new Dictionary<string, StreamIndexEntry>
            {
                ["images"] = new() { Path = "streams/v1/images.json", Products = _products.Keys.ToList() },
            },
        };
        Write("streams/v1/index.json", JsonSerializer.SerializeToUtf8Bytes(index, SimpleStreamsJsonContext.Default.StreamIndex));
        Write("streams/v1/images.json", JsonSerializer.SerializeToUtf8Bytes(new ProductsFile { Products = _products }, SimpleStreamsJsonContext.Default.ProductsFile));
    }

    public void Write(string relative, byte[] bytes)
    {
        var path = Path.Combine(Root, relative);
        Directory.CreateDirectory(Path.GetDirectoryName(path)!);
        File.WriteAllBytes(path, bytes);
    }

    public void Map(WebApplication app) => app.UseStaticFiles(new StaticFileOptions
    {
        FileProvider = new PhysicalFileProvider(Root),
        ServeUnknownFileTypes = true,
    });
}
