using System.Text.Json.Serialization;
using ImageActors.Remotes.Incus;

namespace ImageActors.Server.Api;

/// <summary>
/// Source-generated JSON for the envelope shapes the server sends that the remotes layer's context
/// does not list (maps of URL lists), with the same Incus options.
/// </summary>
[JsonSourceGenerationOptions(
    PropertyNamingPolicy = JsonKnownNamingPolicy.SnakeCaseLower,
    DefaultIgnoreCondition = JsonIgnoreCondition.Never,
    Converters = [typeof(IncusTimestampConverter)])]
[JsonSerializable(typeof(IncusResponse<IReadOnlyDictionary<string, IReadOnlyList<string>>>))]
[JsonSerializable(typeof(IncusResponse<IReadOnlyDictionary<string, IReadOnlyList<Operation>>>))]
[JsonSerializable(typeof(IncusResponse<IReadOnlyDictionary<string, string>>))]
public sealed partial class ServerJsonContext : JsonSerializerContext;
