using System.Text.Json.Serialization;
using ImageActors.Images.Domain;
using ImageActors.Images.ReadModel;

namespace ImageActors.Images.Events;

/// <summary>Source-generated JSON for every persisted event and snapshot of the image domain.</summary>
[JsonSourceGenerationOptions(
    PropertyNamingPolicy = JsonKnownNamingPolicy.SnakeCaseLower,
    UseStringEnumConverter = true,
    DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull,
    Converters = [typeof(FingerprintJsonConverter)])]
[JsonSerializable(typeof(ImageDownloadStarted))]
[JsonSerializable(typeof(ImageDownloadAbandoned))]
[JsonSerializable(typeof(ImageStored))]
[JsonSerializable(typeof(ImageUsed))]
[JsonSerializable(typeof(ImageUpdated))]
[JsonSerializable(typeof(ImageCacheStateChanged))]
[JsonSerializable(typeof(ImageDeleted))]
[JsonSerializable(typeof(ImageCacheAliasRecorded))]
[JsonSerializable(typeof(AliasCreated))]
[JsonSerializable(typeof(AliasRetargeted))]
[JsonSerializable(typeof(AliasRenamed))]
[JsonSerializable(typeof(AliasDeleted))]
[JsonSerializable(typeof(ImageState))]
[JsonSerializable(typeof(AliasState))]
[JsonSerializable(typeof(CatalogSnapshot))]
[JsonSerializable(typeof(ImageRecord))]
[JsonSerializable(typeof(AliasRecord))]
public sealed partial class ImagesJsonContext : JsonSerializerContext;
