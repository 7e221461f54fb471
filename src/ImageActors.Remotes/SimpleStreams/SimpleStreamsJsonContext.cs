using System.Text.Json.Serialization;

namespace ImageActors.Remotes.SimpleStreams;

/// <summary>
/// Source-generated JSON for SimpleStreams index and products files (snake_case, optional keys omitted). The models'
/// properties with a default are settable, not init-only: the generated reader assigns every init-only property, so a
/// key the file leaves out would have replaced its default with null.
/// </summary>
[JsonSourceGenerationOptions(
    PropertyNamingPolicy = JsonKnownNamingPolicy.SnakeCaseLower,
    DefaultIgnoreCondition = JsonIgnoreCondition.Never)]
[JsonSerializable(typeof(StreamIndex))]
[JsonSerializable(typeof(ProductsFile))]
public sealed partial class SimpleStreamsJsonContext : JsonSerializerContext;
