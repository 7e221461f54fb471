using System.Collections.Immutable;
using System.Security.Cryptography;
using System.Text;
using ImageActors.Images.Domain;
using ImageActors.Streaming;

namespace ImageActors.Images.Tests;

/// <summary>Builders for image records used across the tests.</summary>
internal static class Images
{
    public static readonly DateTimeOffset Epoch = new(2026, 1, 1, 0, 0, 0, TimeSpan.Zero);

    /// <summary>A fingerprint whose hex form starts with <paramref name="hexPrefix"/>, the rest derived from <paramref name="seed"/>.</summary>
    public static Fingerprint Fp(string hexPrefix, string seed = "")
    {
        var tail = Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(hexPrefix + "/" + seed)));
        return Fingerprint.Parse(hexPrefix + tail[hexPrefix.Length..]);
    }

    public static ImageRecord Record(Fingerprint fp, string project = "default", bool cached = false, long size = 100,
        DateTimeOffset? uploaded = null, DateTimeOffset? lastUsed = null, DateTimeOffset? expires = null,
        params (string Key, string Value)[] properties) => new()
        {
            Fingerprint = fp,
            Project = ProjectName.Parse(project),
            Filename = "image.tar.xz",
            Size = size,
            Architecture = "x86_64",
            Type = ImageType.Container,
            Cached = cached,
            Properties = properties.ToImmutableSortedDictionary(p => p.Key, p => p.Value, StringComparer.Ordinal),
            CreatedAt = Epoch,
            UploadedAt = uploaded ?? Epoch,
            LastUsedAt = lastUsed ?? DateTimeOffset.MinValue,
            ExpiresAt = expires ?? DateTimeOffset.MinValue,
        };
}
