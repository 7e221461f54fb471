using System.Collections.Frozen;
using System.Runtime.Serialization;
using System.Text.Json;
using System.Text.Json.Serialization.Metadata;

namespace ImageActors.Images.Events;

/// <summary>
/// Stable manifests for the image domain's events and snapshots. A manifest names the shape of
/// the payload, never a CLR type, so types can be renamed; a new shape gets a new manifest.
/// </summary>
public sealed class ImageEventSerializer
{
    private static readonly (string Manifest, JsonTypeInfo Info)[] Entries =
    [
        ("image-download-started.v1", ImagesJsonContext.Default.ImageDownloadStarted),
        ("image-download-abandoned.v1", ImagesJsonContext.Default.ImageDownloadAbandoned),
        ("image-stored.v1", ImagesJsonContext.Default.ImageStored),
        ("image-used.v1", ImagesJsonContext.Default.ImageUsed),
        ("image-updated.v1", ImagesJsonContext.Default.ImageUpdated),
        ("image-cache-state-changed.v1", ImagesJsonContext.Default.ImageCacheStateChanged),
        ("image-deleted.v1", ImagesJsonContext.Default.ImageDeleted),
        ("image-cache-alias-recorded.v1", ImagesJsonContext.Default.ImageCacheAliasRecorded),
        ("alias-created.v1", ImagesJsonContext.Default.AliasCreated),
        ("alias-retargeted.v1", ImagesJsonContext.Default.AliasRetargeted),
        ("alias-renamed.v1", ImagesJsonContext.Default.AliasRenamed),
        ("alias-deleted.v1", ImagesJsonContext.Default.AliasDeleted),
        ("image-state.snapshot.v1", ImagesJsonContext.Default.ImageState),
        ("alias-state.snapshot.v1", ImagesJsonContext.Default.AliasState),
        ("image-catalog.snapshot.v1", ImagesJsonContext.Default.CatalogSnapshot),
    ];

    private static readonly FrozenDictionary<string, JsonTypeInfo> ByManifest =
        Entries.ToFrozenDictionary(e => e.Manifest, e => e.Info, StringComparer.Ordinal);

    private static readonly FrozenDictionary<Type, (string Manifest, JsonTypeInfo Info)> ByType =
        Entries.ToFrozenDictionary(e => e.Info.Type, e => e);

    /// <summary>The shared instance (it holds no state).</summary>
    public static ImageEventSerializer Instance { get; } = new();

    /// <summary>Every manifest with the CLR type it reads into, for registries that combine serializers.</summary>
    public static IReadOnlyList<(string Manifest, Type Type)> Manifests { get; } = [.. Entries.Select(e => (e.Manifest, e.Info.Type))];

    /// <summary>Whether this serializer handles <paramref name="type"/>.</summary>
    public static bool Handles(Type type) => ByType.ContainsKey(type);

    /// <summary>The manifest of an event or snapshot, without serializing it.</summary>
    /// <exception cref="SerializationException">Not an event or snapshot of the image domain.</exception>
    public static string ManifestOf(object value)
    {
        ArgumentNullException.ThrowIfNull(value);
        return ByType.TryGetValue(value.GetType(), out var entry)
            ? entry.Manifest
            : throw new SerializationException($"No manifest for {value.GetType().Name} in the image domain.");
    }

    /// <summary>The manifest and bytes of an event or snapshot.</summary>
    /// <exception cref="SerializationException">Not an event or snapshot of the image domain (a journal rejects it).</exception>
    public (string Manifest, byte[] Payload) Serialize(object value)
    {
        ArgumentNullException.ThrowIfNull(value);
        if (!ByType.TryGetValue(value.GetType(), out var entry))
        {
            throw new SerializationException($"No manifest for {value.GetType().Name} in the image domain.");
        }

        return (entry.Manifest, JsonSerializer.SerializeToUtf8Bytes(value, entry.Info));
    }

    /// <summary>The event or snapshot written under <paramref name="manifest"/>.</summary>
    public object Deserialize(string manifest, ReadOnlySpan<byte> payload)
    {
        if (!ByManifest.TryGetValue(manifest, out var info))
        {
            throw new JsonException($"Unknown manifest '{manifest}'.");
        }

        return JsonSerializer.Deserialize(payload, info) ?? throw new JsonException($"Null payload for '{manifest}'.");
    }
}
