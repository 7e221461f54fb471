using System.Collections.Frozen;
using System.Text.Json;
using System.Text.Json.Serialization;
using System.Text.Json.Serialization.Metadata;
using Akka.Actor;
using Akka.Serialization;
using ImageActors.Images.Actors;

namespace ImageActors.Images.Events;

/// <summary>
/// Akka.NET's serializer for the image domain: the events and snapshots of <see cref="ImageEventSerializer"/> (their
/// frozen manifests) and every message that goes through a shard region, as System.Text.Json with source
/// generation. A manifest names a shape, never a CLR type.
/// </summary>
public sealed class ImagesAkkaSerializer : SerializerWithStringManifest
{
    /// <summary>The serializer id written beside every event and snapshot (frozen: the journal keeps it).</summary>
    public const int Id = 5_170_001;

    private static readonly (string Manifest, JsonTypeInfo Info)[] Messages =
    [
        ("image.store-upload", ProtocolJsonContext.Default.StoreUpload),
        ("image.download", ProtocolJsonContext.Default.Download),
        ("image.get", ProtocolJsonContext.Default.Get),
        ("image.mark-used", ProtocolJsonContext.Default.MarkUsed),
        ("image.record-use", ProtocolJsonContext.Default.RecordUse),
        ("image.update", ProtocolJsonContext.Default.Update),
        ("image.delete", ProtocolJsonContext.Default.Delete),
        ("image.evict", ProtocolJsonContext.Default.Evict),
        ("image.deleted", ProtocolJsonContext.Default.Deleted),
        ("image.eviction-skipped", ProtocolJsonContext.Default.EvictionSkipped),
        ("image.open-export", ProtocolJsonContext.Default.OpenExport),
        ("image.export-lease", ProtocolJsonContext.Default.ExportLease),
        ("image.close-export", ProtocolJsonContext.Default.CloseExport),
        ("image.attach-alias", ProtocolJsonContext.Default.AttachAlias),
        ("image.detach-alias", ProtocolJsonContext.Default.DetachAlias),
        ("image.record-cache-alias", ProtocolJsonContext.Default.RecordCacheAlias),
        ("image.adopt", ProtocolJsonContext.Default.Adopt),
        ("image.files-committed", ProtocolJsonContext.Default.FilesCommitted),
        ("image.upload-discarded", ProtocolJsonContext.Default.UploadDiscarded),
        ("image.progress", ProtocolJsonContext.Default.Progress),
        ("image.record", ProtocolJsonContext.Default.ImageRecord),
        ("alias.create", ProtocolJsonContext.Default.Create),
        ("alias.retarget", ProtocolJsonContext.Default.Retarget),
        ("alias.rename", ProtocolJsonContext.Default.Rename),
        ("alias.take-over", ProtocolJsonContext.Default.TakeOver),
        ("alias.delete", ProtocolJsonContext.Default.Delete2),
        ("alias.delete-if-targets", ProtocolJsonContext.Default.DeleteIfTargets),
        ("alias.get", ProtocolJsonContext.Default.Get2),
        ("alias.done", ProtocolJsonContext.Default.Done),
        ("alias.record", ProtocolJsonContext.Default.AliasRecord),
        ("files.claim", ProtocolJsonContext.Default.Claim),
        ("files.claimed", ProtocolJsonContext.Default.Claimed),
        ("files.release", ProtocolJsonContext.Default.Release),
        ("files.released", ProtocolJsonContext.Default.Released),
        ("files.get-status", ProtocolJsonContext.Default.GetStatus),
        ("files.status", ProtocolJsonContext.Default.FilesStatus),
        ("files.removed", ProtocolJsonContext.Default.FilesRemoved),
        ("eviction.run-now", ProtocolJsonContext.Default.RunNow),
        ("eviction.evicted", ProtocolJsonContext.Default.Evicted),
        ("eviction.stored", ProtocolJsonContext.Default.Stored),
        ("eviction.released", ProtocolJsonContext.Default.Released2),
        ("auto-update.refresh", ProtocolJsonContext.Default.Refresh),
        ("auto-update.refreshed", ProtocolJsonContext.Default.Refreshed),
    ];

    private const string IdleCheckManifest = "entity.idle-check";

    private static readonly FrozenDictionary<string, JsonTypeInfo> ByManifest =
        Messages.ToFrozenDictionary(e => e.Manifest, e => e.Info, StringComparer.Ordinal);

    private static readonly FrozenDictionary<Type, (string Manifest, JsonTypeInfo Info)> ByType =
        Messages.ToFrozenDictionary(e => e.Info.Type, e => e);

    /// <summary>Created by Akka.NET from the <c>akka.actor.serializers</c> configuration.</summary>
    public ImagesAkkaSerializer(ExtendedActorSystem system)
        : base(system)
    {
    }

    /// <inheritdoc />
    public override int Identifier => Id;

    /// <summary>Every message manifest (events and snapshots are <see cref="ImageEventSerializer.Manifests"/>).</summary>
    public static IReadOnlyList<(string Manifest, Type Type)> MessageManifests { get; } =
        [.. Messages.Select(e => (e.Manifest, e.Info.Type)), (IdleCheckManifest, typeof(IdleCheck))];

    /// <inheritdoc />
    public override byte[] ToBinary(object obj)
    {
        ArgumentNullException.ThrowIfNull(obj);
        if (obj is IdleCheck)
        {
            return [];
        }

        return ByType.TryGetValue(obj.GetType(), out var entry)
            ? JsonSerializer.SerializeToUtf8Bytes(obj, entry.Info)
            : ImageEventSerializer.Instance.Serialize(obj).Payload;
    }

    /// <inheritdoc />
    public override string Manifest(object o)
    {
        ArgumentNullException.ThrowIfNull(o);
        if (o is IdleCheck)
        {
            return IdleCheckManifest;
        }

        // Akka asks for the manifest and the bytes separately: the manifest is looked up, never serialized for.
        return ByType.TryGetValue(o.GetType(), out var entry) ? entry.Manifest : ImageEventSerializer.ManifestOf(o);
    }

    /// <inheritdoc />
    public override object FromBinary(byte[] bytes, string manifest)
    {
        if (manifest == IdleCheckManifest)
        {
            return IdleCheck.Instance;
        }

        return ByManifest.TryGetValue(manifest, out var info)
            ? JsonSerializer.Deserialize(bytes, info) ?? throw new JsonException($"Null payload for '{manifest}'.")
            : ImageEventSerializer.Instance.Deserialize(manifest, bytes);
    }
}

/// <summary>Source-generated JSON for the messages of the image, alias and file entities and the singletons.</summary>
[JsonSourceGenerationOptions(
    PropertyNamingPolicy = JsonKnownNamingPolicy.SnakeCaseLower,
    UseStringEnumConverter = true,
    DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull,
    Converters = [typeof(FingerprintJsonConverter)])]
[JsonSerializable(typeof(ImageProtocol.StoreUpload))]
[JsonSerializable(typeof(ImageProtocol.Download))]
[JsonSerializable(typeof(ImageProtocol.Get))]
[JsonSerializable(typeof(ImageProtocol.MarkUsed))]
[JsonSerializable(typeof(ImageProtocol.RecordUse))]
[JsonSerializable(typeof(ImageProtocol.Update))]
[JsonSerializable(typeof(ImageProtocol.Delete))]
[JsonSerializable(typeof(ImageProtocol.Evict))]
[JsonSerializable(typeof(ImageProtocol.Deleted))]
[JsonSerializable(typeof(ImageProtocol.EvictionSkipped))]
[JsonSerializable(typeof(ImageProtocol.OpenExport))]
[JsonSerializable(typeof(ImageProtocol.ExportLease))]
[JsonSerializable(typeof(ImageProtocol.CloseExport))]
[JsonSerializable(typeof(ImageProtocol.AttachAlias))]
[JsonSerializable(typeof(ImageProtocol.DetachAlias))]
[JsonSerializable(typeof(ImageProtocol.RecordCacheAlias))]
[JsonSerializable(typeof(ImageProtocol.Adopt))]
[JsonSerializable(typeof(ImageProtocol.FilesCommitted))]
[JsonSerializable(typeof(ImageProtocol.UploadDiscarded))]
[JsonSerializable(typeof(ImageProtocol.Progress))]
[JsonSerializable(typeof(Domain.ImageRecord))]
[JsonSerializable(typeof(AliasProtocol.Create))]
[JsonSerializable(typeof(AliasProtocol.Retarget))]
[JsonSerializable(typeof(AliasProtocol.Rename))]
[JsonSerializable(typeof(AliasProtocol.TakeOver))]
[JsonSerializable(typeof(AliasProtocol.Delete), TypeInfoPropertyName = "Delete2")]
[JsonSerializable(typeof(AliasProtocol.DeleteIfTargets))]
[JsonSerializable(typeof(AliasProtocol.Get), TypeInfoPropertyName = "Get2")]
[JsonSerializable(typeof(AliasProtocol.Done))]
[JsonSerializable(typeof(Domain.AliasRecord))]
[JsonSerializable(typeof(ImageFilesActor.Claim))]
[JsonSerializable(typeof(ImageFilesActor.Claimed))]
[JsonSerializable(typeof(ImageFilesActor.Release))]
[JsonSerializable(typeof(ImageFilesActor.Released))]
[JsonSerializable(typeof(ImageFilesActor.GetStatus))]
[JsonSerializable(typeof(ImageFilesActor.FilesStatus))]
[JsonSerializable(typeof(ImageFilesActor.FilesRemoved))]
[JsonSerializable(typeof(EvictionActor.RunNow))]
[JsonSerializable(typeof(EvictionActor.Stored))]
[JsonSerializable(typeof(EvictionActor.Released), TypeInfoPropertyName = "Released2")]
[JsonSerializable(typeof(EvictionActor.Evicted))]
[JsonSerializable(typeof(AutoUpdateActor.Refresh))]
[JsonSerializable(typeof(AutoUpdateActor.Refreshed))]
internal sealed partial class ProtocolJsonContext : JsonSerializerContext;
