using System.Text.Json.Serialization;

namespace ImageActors.Remotes.SimpleStreams;

/// <summary>Source-generated JSON for SimpleStreams index and products files (snake_case, optional keys omitted).</summary>
[JsonSourceGenerationOptions(
    PropertyNamingPolicy = JsonKnownNamingPolicy.SnakeCaseLower,
    DefaultIgnoreCondition = JsonIgnoreCondition.Never)]
[JsonSerializable(typeof(StreamIndex))]
[JsonSerializable(typeof(ProductsFile))]
public sealed partial class SimpleStreamsJsonContext : JsonSerializerContext;
