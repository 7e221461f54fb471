using System.Text.Json;
using System.Text.Json.Serialization;

namespace ImageActors.Remotes.Incus;

/// <summary>
/// Source-generated JSON for the Incus REST API: snake_case names, every key written (as Go does
/// without <c>omitempty</c>), timestamps as RFC 3339 with nanoseconds.
/// </summary>
[JsonSourceGenerationOptions(
    PropertyNamingPolicy = JsonKnownNamingPolicy.SnakeCaseLower,
    DefaultIgnoreCondition = JsonIgnoreCondition.Never,
    Converters = [typeof(IncusTimestampConverter)])]
[JsonSerializable(typeof(IncusResponse<JsonElement>))]
[JsonSerializable(typeof(IncusResponse<object>))]
[JsonSerializable(typeof(IncusResponse<ServerInfo>))]
[JsonSerializable(typeof(IncusResponse<Image>))]
[JsonSerializable(typeof(IncusResponse<IReadOnlyList<Image>>))]
[JsonSerializable(typeof(IncusResponse<IReadOnlyList<string>>))]
[JsonSerializable(typeof(IncusResponse<ImageAliasesEntry>))]
[JsonSerializable(typeof(IncusResponse<IReadOnlyList<ImageAliasesEntry>>))]
[JsonSerializable(typeof(IncusResponse<Operation>))]
[JsonSerializable(typeof(IncusResponse<IReadOnlyList<Operation>>))]
[JsonSerializable(typeof(IncusResponse<IReadOnlyDictionary<string, IReadOnlyList<Operation>>>))]
[JsonSerializable(typeof(JsonElement))]
[JsonSerializable(typeof(ServerInfo))]
[JsonSerializable(typeof(Image))]
[JsonSerializable(typeof(IReadOnlyList<Image>))]
[JsonSerializable(typeof(IReadOnlyList<string>))]
[JsonSerializable(typeof(ImageAliasesEntry))]
[JsonSerializable(typeof(ImageAliasesEntryPut))]
[JsonSerializable(typeof(ImageAliasesEntryPost))]
[JsonSerializable(typeof(IReadOnlyList<ImageAliasesEntry>))]
[JsonSerializable(typeof(ImagePut))]
[JsonSerializable(typeof(ImagesPost))]
[JsonSerializable(typeof(ImageExportPost))]
[JsonSerializable(typeof(Operation))]
[JsonSerializable(typeof(IncusEvent))]
[JsonSerializable(typeof(EventLifecycle))]
public sealed partial class IncusJsonContext : JsonSerializerContext;
