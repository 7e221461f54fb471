using System.Buffers;
using System.Security.Cryptography;
using System.Text.Json;
using ImageActors.Images.Caching;
using ImageActors.Images.Domain;
using ImageActors.Remotes.Incus;

namespace ImageActors.Server.Api;

/// <summary>Maps the domain's image and alias records onto the Incus wire objects.</summary>
public static class ImageWire
{
    /// <summary>The image object (spec §2.3), as Incus answers it.</summary>
    public static Image From(ImageRecord image) => From(image, null, ClientFamily.Incus);

    /// <summary>The image object (spec §2.3), as the server of <paramref name="family"/> answers it.</summary>
    public static Image From(ImageRecord image, ClientFamily family) => From(image, null, family);

    /// <summary>
    /// The image object (spec §2.3), with why this server keeps it when <paramref name="retention"/> is given, as the
    /// server of <paramref name="family"/> answers it: the REST protocol of <c>update_source</c> is <c>incus</c> to
    /// Incus' clients and <c>lxd</c> to LXD's.
    /// </summary>
    public static Image From(ImageRecord image, ImageRetention? retention, ClientFamily family)
    {
        ArgumentNullException.ThrowIfNull(image);
        return new Image
        {
            AutoUpdate = image.AutoUpdate,
            Properties = image.Properties,
            Public = image.Public,
            ExpiresAt = image.ExpiresAt,
            Profiles = image.Profiles,
            Aliases = [.. image.Aliases.Select(a => new ImageAlias { Name = a.Name.Value, Description = a.Description })],
            Architecture = image.Architecture,
            Cached = image.Cached,
            Filename = image.Filename,
            Fingerprint = image.Fingerprint.ToString(),
            Size = image.Size,
            UpdateSource = image.UpdateSource is { } source
                ? new ImageSource
                {
                    Alias = source.Alias,
                    Certificate = source.Certificate,
                    Protocol = source.Protocol switch
                    {
                        SourceProtocol.SimpleStreams => "simplestreams",
                        SourceProtocol.Direct => "direct",
                        SourceProtocol.Oci => "oci",
                        _ => family.RestProtocol(),
                    },
                    // The address as the remote was added (incus image info shows it so), without the slash a Uri adds.
                    Server = source.Server.ToString().TrimEnd('/'),
                    ImageType = source.ImageType.ToApiName(),
                }
                : null,
            Type = image.Type.ToApiName(),
            CreatedAt = image.CreatedAt,
            LastUsedAt = image.LastUsedAt,
            UploadedAt = image.UploadedAt,
            Project = image.Project.Value,
            Retention = retention is null
                ? null
                : new ImageRetentionInfo
                {
                    Cached = retention.Cached,
                    LastUsedAt = retention.LastUsedAt,
                    RemovableAfter = retention.RemovableAfter,
                    RemovableBecause = retention.RemovableBecause,
                    PinnedBy = retention.PinnedBy,
                    FollowsImage = retention.FollowsImage,
                    SizeBounded = retention.SizeBounded,
                },
        };
    }

    /// <summary>The alias entry (<c>target</c> is required by clients).</summary>
    public static ImageAliasesEntry From(AliasRecord alias)
    {
        ArgumentNullException.ThrowIfNull(alias);
        return new ImageAliasesEntry
        {
            Name = alias.Name.Value,
            Description = alias.Description,
            Target = alias.Target.ToString(),
            Type = alias.Type.ToApiName(),
        };
    }

    /// <summary>Incus' image ETag: SHA-256 over the JSON array <c>[public, auto_update, properties]</c> (keys sorted, as Go writes maps).</summary>
    public static string ETag(ImageRecord image)
    {
        ArgumentNullException.ThrowIfNull(image);
        var buffer = new ArrayBufferWriter<byte>(256);
        using (var writer = new Utf8JsonWriter(buffer))
        {
            writer.WriteStartArray();
            writer.WriteBooleanValue(image.Public);
            writer.WriteBooleanValue(image.AutoUpdate);
            writer.WriteStartObject();
            foreach (var (key, value) in image.Properties)
            {
                writer.WriteString(key, value);
            }

            writer.WriteEndObject();
            writer.WriteEndArray();
        }

        return Convert.ToHexStringLower(SHA256.HashData(buffer.WrittenSpan));
    }

    /// <summary>An alias ETag: SHA-256 over <c>[name, description, target]</c>.</summary>
    public static string ETag(AliasRecord alias)
    {
        ArgumentNullException.ThrowIfNull(alias);
        var buffer = new ArrayBufferWriter<byte>(256);
        using (var writer = new Utf8JsonWriter(buffer))
        {
            writer.WriteStartArray();
            writer.WriteStringValue(alias.Name.Value);
            writer.WriteStringValue(alias.Description);
            writer.WriteStringValue(alias.Target.ToString());
            writer.WriteEndArray();
        }

        return Convert.ToHexStringLower(SHA256.HashData(buffer.WrittenSpan));
    }
}
