using System.Collections.Concurrent;
using System.Collections.Immutable;
using System.Security.Cryptography;
using ImageActors.Images.Domain;
using ImageActors.Images.Events;
using ImageActors.Images.Filtering;
using ImageActors.Images.ReadModel;
using ImageActors.Server.Images;
using ImageActors.Streaming;

namespace ImageActors.Server.Tests.Support;

/// <summary>
/// A backend for server tests built on the real read model (<see cref="ImageCatalog"/> fed with the
/// domain's events) and plain files, standing in for the embedded image store: it hashes uploads
/// as they stream, keeps files under <c>&lt;dir&gt;/images</c>, and takes the architecture from the
/// <c>architecture</c> property instead of parsing metadata.yaml.
/// </summary>
public sealed class CatalogBackend : IImageBackend
{
    private readonly ImageCatalog _catalog = new();
    private readonly string _images;
    private readonly ConcurrentDictionary<Fingerprint, (string Metadata, string? Rootfs)> _files = new();
    private readonly Lock _writes = new();

    public CatalogBackend(string directory)
    {
        _images = Path.Combine(directory, "images");
        Directory.CreateDirectory(_images);
    }

    public int Imports { get; private set; }

    public ImageRecord? Find(ProjectName project, Fingerprint fingerprint) => _catalog.Find(project, fingerprint);

    public ImageRecord GetByPrefix(ProjectName project, string prefix) => _catalog.GetByPrefix(project, prefix);

    public IReadOnlyList<ImageRecord> List(ProjectName project, ImageFilter? filter) => _catalog.List(project, filter);

    public object? ListVersion => _catalog.Version;

    public AliasRecord? FindAlias(ProjectName project, AliasName name) => _catalog.FindAlias(project, name);

    public IReadOnlyList<AliasRecord> ListAliases(ProjectName project) => _catalog.ListAliases(project);

    public ValueTask<ImageExport> OpenExportAsync(ProjectName project, Fingerprint fingerprint, CancellationToken cancellationToken)
    {
        var image = _catalog.Find(project, fingerprint) ?? throw new ImageNotFoundException(fingerprint.ToString());
        var files = _files.TryGetValue(fingerprint, out var f) ? f : throw new ImageNotFoundException(fingerprint.ToString());
        return ValueTask.FromResult(new ImageExport(image, files.Metadata, files.Rootfs));
    }

    public async Task<ImageRecord> ImportAsync(ImageUpload upload, CancellationToken cancellationToken)
    {
        using var hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        var metaTemp = Path.Combine(_images, "tmp-" + Guid.NewGuid());
        var size = await CopyHashingAsync(upload.Metadata, metaTemp, hash, cancellationToken);
        string? rootTemp = null;
        if (upload.Rootfs is not null)
        {
            rootTemp = Path.Combine(_images, "tmp-" + Guid.NewGuid());
            size += await CopyHashingAsync(upload.Rootfs, rootTemp, hash, cancellationToken);
        }

        var fingerprint = new Fingerprint(hash.GetHashAndReset());
        if (upload.Expected is { } expected && expected != fingerprint)
        {
            File.Delete(metaTemp);
            if (rootTemp is not null)
            {
                File.Delete(rootTemp);
            }

            throw new InvalidImageException($"fingerprints don't match, got {fingerprint} expected {expected}");
        }

        var properties = upload.Properties.ToImmutableSortedDictionary(StringComparer.Ordinal);
        return Add(upload.Project, fingerprint, metaTemp, rootTemp, size, upload.Filename, upload.Public, properties, upload.SplitType?.Invoke() ?? ImageType.Container, upload.Aliases);
    }

    /// <summary>Adds an image from files already on disk (copied into the backend).</summary>
    public ImageRecord Seed(string file, string? rootfs = null, bool isPublic = true, IReadOnlyList<string>? aliases = null, IReadOnlyDictionary<string, string>? properties = null, ImageType type = ImageType.Container)
    {
        using var hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        hash.AppendData(File.ReadAllBytes(file));
        if (rootfs is not null)
        {
            hash.AppendData(File.ReadAllBytes(rootfs));
        }

        var fingerprint = new Fingerprint(hash.GetHashAndReset());
        var metaTemp = Path.Combine(_images, "tmp-" + Guid.NewGuid());
        File.Copy(file, metaTemp);
        string? rootTemp = null;
        if (rootfs is not null)
        {
            rootTemp = Path.Combine(_images, "tmp-" + Guid.NewGuid());
            File.Copy(rootfs, rootTemp);
        }

        var size = new FileInfo(file).Length + (rootfs is null ? 0 : new FileInfo(rootfs).Length);
        var props = (properties ?? new Dictionary<string, string> { ["os"] = "Testos", ["release"] = "1", ["architecture"] = "x86_64", ["description"] = "Testos 1" })
            .ToImmutableSortedDictionary(StringComparer.Ordinal);
        return Add(ProjectName.Default, fingerprint, metaTemp, rootTemp, size, Path.GetFileName(rootfs ?? file), isPublic, props, type, [.. (aliases ?? []).Select(AliasName.Parse)]);
    }

    public Task<ImageRecord> UpdateAsync(ProjectName project, Fingerprint fingerprint, ImageChanges changes, CancellationToken cancellationToken)
    {
        lock (_writes)
        {
            _ = _catalog.Find(project, fingerprint) ?? throw new ImageNotFoundException(fingerprint.ToString());
            _catalog.ApplyEvents([new ImageUpdated(project, fingerprint, changes.Public, changes.AutoUpdate, changes.Properties.ToImmutableSortedDictionary(StringComparer.Ordinal), changes.ExpiresAt, [.. changes.Profiles])]);
            return Task.FromResult(_catalog.Find(project, fingerprint)!);
        }
    }

    public Task DeleteAsync(ProjectName project, Fingerprint fingerprint, CancellationToken cancellationToken)
    {
        lock (_writes)
        {
            var image = _catalog.Find(project, fingerprint) ?? throw new ImageNotFoundException(fingerprint.ToString());
            _catalog.ApplyEvents([.. image.Aliases.Select(a => (object)new AliasDeleted(project, a.Name)), new ImageDeleted(project, fingerprint, DateTimeOffset.UtcNow, "deleted")]);
            if (_files.TryRemove(fingerprint, out var files))
            {
                File.Delete(files.Metadata);
                if (files.Rootfs is not null)
                {
                    File.Delete(files.Rootfs);
                }
            }
        }

        return Task.CompletedTask;
    }

    public Task<AliasRecord> CreateAliasAsync(ProjectName project, AliasName name, Fingerprint target, string description, CancellationToken cancellationToken)
    {
        lock (_writes)
        {
            if (_catalog.FindAlias(project, name) is not null)
            {
                throw new AliasExistsException(name.Value);
            }

            var image = _catalog.Find(project, target) ?? throw new ImageNotFoundException(target.ToString());
            _catalog.ApplyEvents([new AliasCreated(project, name, target, description, image.Type)]);
            return Task.FromResult(_catalog.FindAlias(project, name)!);
        }
    }

    public Task<AliasRecord> UpdateAliasAsync(ProjectName project, AliasName name, Fingerprint target, string description, CancellationToken cancellationToken)
    {
        lock (_writes)
        {
            _ = _catalog.FindAlias(project, name) ?? throw new AliasNotFoundException(name.Value);
            var image = _catalog.Find(project, target) ?? throw new ImageNotFoundException(target.ToString());
            _catalog.ApplyEvents([new AliasRetargeted(project, name, target, description, image.Type)]);
            return Task.FromResult(_catalog.FindAlias(project, name)!);
        }
    }

    public Task<AliasRecord> RenameAliasAsync(ProjectName project, AliasName name, AliasName newName, CancellationToken cancellationToken)
    {
        lock (_writes)
        {
            var alias = _catalog.FindAlias(project, name) ?? throw new AliasNotFoundException(name.Value);
            if (_catalog.FindAlias(project, newName) is not null)
            {
                throw new AliasExistsException(newName.Value);
            }

            // As the entities record it: the new name is created by its own event, then the old one is renamed away.
            _catalog.ApplyEvents([
                new AliasCreated(project, newName, alias.Target, alias.Description, alias.Type),
                new AliasRenamed(project, name, newName, alias.Target, alias.Description, alias.Type),
            ]);
            return Task.FromResult(_catalog.FindAlias(project, newName)!);
        }
    }

    public Task DeleteAliasAsync(ProjectName project, AliasName name, CancellationToken cancellationToken)
    {
        lock (_writes)
        {
            _ = _catalog.FindAlias(project, name) ?? throw new AliasNotFoundException(name.Value);
            _catalog.ApplyEvents([new AliasDeleted(project, name)]);
        }

        return Task.CompletedTask;
    }

    private ImageRecord Add(
        ProjectName project,
        Fingerprint fingerprint,
        string metaTemp,
        string? rootTemp,
        long size,
        string filename,
        bool isPublic,
        ImmutableSortedDictionary<string, string> properties,
        ImageType type,
        IReadOnlyList<AliasName> aliases)
    {
        lock (_writes)
        {
            if (_catalog.Find(project, fingerprint) is not null)
            {
                File.Delete(metaTemp);
                if (rootTemp is not null)
                {
                    File.Delete(rootTemp);
                }

                throw new ImageExistsException(fingerprint.ToString());
            }

            var meta = Path.Combine(_images, fingerprint.ToString());
            File.Move(metaTemp, meta, overwrite: true);
            string? root = null;
            if (rootTemp is not null)
            {
                root = meta + ".rootfs";
                File.Move(rootTemp, root, overwrite: true);
            }

            _files[fingerprint] = (meta, root);
            var now = DateTimeOffset.UtcNow;
            var record = new ImageRecord
            {
                Fingerprint = fingerprint,
                Project = project,
                Filename = filename,
                Size = size,
                Architecture = properties.GetValueOrDefault("architecture", "x86_64"),
                Type = type,
                Public = isPublic,
                Properties = properties,
                CreatedAt = now,
                UploadedAt = now,
                ExpiresAt = DateTimeOffset.MinValue,
                LastUsedAt = DateTimeOffset.MinValue,
                Split = root is not null,
            };
            _catalog.ApplyEvents([new ImageStored(record), .. aliases.Select(a => (object)new AliasCreated(project, a, fingerprint, string.Empty, type))]);
            Imports++;
            return _catalog.Find(project, fingerprint)!;
        }
    }

    private static async Task<long> CopyHashingAsync(Stream source, string path, IncrementalHash hash, CancellationToken cancellationToken)
    {
        var buffer = new byte[128 * 1024];
        long total = 0;
        await using var target = File.Create(path);
        int read;
        while ((read = await source.ReadAsync(buffer, cancellationToken)) > 0)
        {
            hash.AppendData(buffer, 0, read);
            await target.WriteAsync(buffer.AsMemory(0, read), cancellationToken);
            total += read;
        }

        return total;
    }
}
