using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using System.Text.Json.Serialization.Metadata;

namespace ImageActors.Images.Tests.Serialization;

/// <summary>A serializer whose payloads are JSON, by manifest: what <see cref="ManifestGoldenFile"/> checks.</summary>
/// <param name="Manifests">Every manifest the serializer reads.</param>
/// <param name="Serialize">The manifest and bytes of a value.</param>
/// <param name="Deserialize">The value written under a manifest.</param>
internal sealed record ManifestCodec(IReadOnlyCollection<string> Manifests, Func<object, (string Manifest, byte[] Payload)> Serialize, Func<string, byte[], object> Deserialize)
{
    /// <summary>A codec of source-generated JSON types, each under its manifest.</summary>
    public static ManifestCodec Of(params (string Manifest, JsonTypeInfo Info)[] entries)
    {
        var byType = entries.ToDictionary(e => e.Info.Type, e => e);
        var byManifest = entries.ToDictionary(e => e.Manifest, e => e.Info, StringComparer.Ordinal);
        return new ManifestCodec(
            byManifest.Keys,
            value => byType.TryGetValue(value.GetType(), out var e)
                ? (e.Manifest, JsonSerializer.SerializeToUtf8Bytes(value, e.Info))
                : throw new NotSupportedException($"{value.GetType().Name} has no manifest."),
            (manifest, payload) => byManifest.TryGetValue(manifest, out var info)
                ? JsonSerializer.Deserialize(payload, info) ?? throw new JsonException($"Null payload for '{manifest}'.")
                : throw new JsonException($"Unknown manifest '{manifest}'."));
    }
}

/// <summary>
/// Freezes the manifests of a serializer of events and snapshots: a golden JSON file holds, per
/// manifest, the payload of a sample as it was first written. A test of each serializer calls
/// <see cref="Verify"/>; it reports every frozen manifest that is no longer registered, and every
/// frozen payload that no longer reads back with all of its fields (a renamed or removed property),
/// so that a refactoring cannot silently make existing journals unreadable. New fields are allowed.
/// </summary>
internal static class ManifestGoldenFile
{
    private static readonly JsonWriterOptions Indented = new() { Indented = true };

    /// <summary>
    /// Checks <paramref name="codec"/> against the golden file at <paramref name="path"/>.
    /// </summary>
    /// <param name="codec">The serializer under test.</param>
    /// <param name="samples">One sample value per registered manifest.</param>
    /// <param name="path">The golden file (in the source tree).</param>
    /// <param name="freezeNewManifests">
    /// When true, manifests missing from the file are added to it (existing entries are never
    /// rewritten); when false, they are reported, so that CI cannot pass with an unfrozen manifest.
    /// </param>
    /// <returns>The problems found; empty when the serializer is compatible with every frozen payload.</returns>
    public static IReadOnlyList<string> Verify(ManifestCodec codec, IEnumerable<object> samples, string path, bool freezeNewManifests)
    {
        ArgumentNullException.ThrowIfNull(codec);
        ArgumentNullException.ThrowIfNull(samples);
        var problems = new List<string>();
        var golden = File.Exists(path)
            ? JsonNode.Parse(File.ReadAllText(path)) as JsonObject ?? throw new InvalidDataException($"{path} is not a JSON object.")
            : [];

        var sampled = new Dictionary<string, byte[]>(StringComparer.Ordinal);
        foreach (var sample in samples)
        {
            var (manifest, payload) = codec.Serialize(sample);
            sampled[manifest] = payload;
        }

        foreach (var manifest in codec.Manifests.Order(StringComparer.Ordinal))
        {
            if (!sampled.ContainsKey(manifest))
            {
                problems.Add($"Manifest '{manifest}' has no sample; add one so that it can be frozen.");
            }
        }

        foreach (var (manifest, frozen) in golden)
        {
            if (!codec.Manifests.Contains(manifest))
            {
                problems.Add($"Manifest '{manifest}' is frozen in {Path.GetFileName(path)} but no longer registered: journals holding it could not be read.");
                continue;
            }

            try
            {
                var frozenBytes = Encoding.UTF8.GetBytes(frozen?.ToJsonString() ?? "null");
                var value = codec.Deserialize(manifest, frozenBytes);
                var (_, again) = codec.Serialize(value);
                var current = JsonNode.Parse(again);
                if (!IsContainedIn(frozen, current, "$", out var where))
                {
                    problems.Add($"Manifest '{manifest}': the frozen payload does not survive a read and write (at {where}); a property was renamed, removed or changed type.");
                }
            }
            catch (Exception e) when (e is JsonException or InvalidOperationException or NotSupportedException)
            {
                problems.Add($"Manifest '{manifest}': the frozen payload cannot be read any more: {e.Message}");
            }
        }

        var added = false;
        foreach (var (manifest, payload) in sampled.OrderBy(p => p.Key, StringComparer.Ordinal))
        {
            if (golden.ContainsKey(manifest))
            {
                continue;
            }

            if (freezeNewManifests)
            {
                golden[manifest] = JsonNode.Parse(payload);
                added = true;
            }
            else
            {
                problems.Add($"Manifest '{manifest}' is not frozen in {Path.GetFileName(path)}; run the test once with freezing enabled and commit the file.");
            }
        }

        if (added)
        {
            using var stream = File.Create(path);
            using var writer = new Utf8JsonWriter(stream, Indented);
            golden.WriteTo(writer);
        }

        return problems;
    }

    private static bool IsContainedIn(JsonNode? frozen, JsonNode? current, string path, out string where)
    {
        where = path;
        switch (frozen)
        {
            case JsonObject frozenObject:
                if (current is not JsonObject currentObject)
                {
                    return false;
                }

                foreach (var (name, value) in frozenObject)
                {
                    if (!currentObject.TryGetPropertyValue(name, out var currentValue))
                    {
                        where = $"{path}.{name}";
                        return false;
                    }

                    if (!IsContainedIn(value, currentValue, $"{path}.{name}", out where))
                    {
                        return false;
                    }
                }

                return true;
            case JsonArray frozenArray:
                if (current is not JsonArray currentArray || currentArray.Count != frozenArray.Count)
                {
                    return false;
                }

                for (var i = 0; i < frozenArray.Count; i++)
                {
                    if (!IsContainedIn(frozenArray[i], currentArray[i], $"{path}[{i}]", out where))
                    {
                        return false;
                    }
                }

                return true;
            default:
                return JsonNode.DeepEquals(frozen, current);
        }
    }
}
