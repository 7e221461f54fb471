using System.Text.Json.Serialization;

namespace ImageActors.Remotes.SimpleStreams;

/// <summary>
/// Source-generated JSON for SimpleStreams index and products files (snake_case, optional keys omitted). A null where
/// the model has no null (<c>"path": null</c>) is a JSON error naming the property, not a null for the catalog to trip on.
/// The models' properties with a default are settable, not init-only: the generated reader assigns every init-only
/// property, so a key the file leaves out would have replaced its default with null.
/// </summary>
[JsonSourceGenerationOptions(
    PropertyNamingPolicy = JsonKnownNamingPolicy.SnakeCaseLower,
    DefaultIgnoreCondition = JsonIgnoreCondition.Never,
    RespectNullableAnnotations = true)]
[JsonSerializable(typeof(StreamIndex))]
[JsonSerializable(typeof(ProductsFile))]
public sealed partial class SimpleStreamsJsonContext : JsonSerializerContext;
