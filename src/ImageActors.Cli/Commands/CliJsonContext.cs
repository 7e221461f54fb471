using System.Text.Json.Serialization;

namespace ImageActors.Cli.Commands;

/// <summary>Source-generated JSON for the CLI's outputs.</summary>
[JsonSourceGenerationOptions(WriteIndented = true, PropertyNamingPolicy = JsonKnownNamingPolicy.SnakeCaseLower)]
[JsonSerializable(typeof(VersionFacts))]
internal sealed partial class CliJsonContext : JsonSerializerContext;
