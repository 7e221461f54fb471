using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;

namespace ImageActors.Persistence.Sql.Serialization;

/// <summary>
/// Freezes the manifests of an <see cref="EventManifestRegistry"/>: a golden JSON file holds, per
/// manifest, the payload of a sample as it was first written. A test of each registry calls
/// <see cref="Verify"/>; it reports every frozen manifest that is no longer registered, and every
/// frozen payload that no longer reads back with all of its fields (a renamed or removed property),
/// so that a refactoring cannot silently make existing journals unreadable. New fields are allowed.
/// </summary>
public static class ManifestGoldenFile
{
    private static readonly JsonWriterOptions Indented = new() { Indented = true };

    /// <summary>
    /// Checks <paramref name="registry"/> against the golden file at <paramref name="path"/>.
    /// </summary>
    /// <param name="registry">The registry under test.</param>
    /// <param name="samples">One sample value per registered manifest.</param>
    /// <param name="path">The golden file (in the source tree).</param>
    /// <param name="freezeNewManifests">
    /// When true, manifests missing from the file are added to it (existing entries are never
    /// rewritten); when false, they are reported, so that CI cannot pass with an unfrozen manifest.
    /// </param>
    /// <returns>The problems found; empty when the registry is compatible with every frozen payload.</returns>
    public static IReadOnlyList<string> Verify(EventManifestRegistry registry, IEnumerable<object> samples, string path, bool freezeNewManifests)
    {
        ArgumentNullException.ThrowIfNull(registry);
        ArgumentNullException.ThrowIfNull(samples);
        var problems = new List<string>();
        var golden = File.Exists(path)
            ? JsonNode.Parse(File.ReadAllText(path)) as JsonObject ?? throw new InvalidDataException($"{path} is not a JSON object.")
            : [];

        var sampled = new Dictionary<string, byte[]>(StringComparer.Ordinal);
        foreach (var sample in samples)
        {
            var (manifest, payload) = registry.Serialize(sample);
            sampled[manifest] = payload;
        }

        foreach (var manifest in registry.Manifests.Order(StringComparer.Ordinal))
        {
            if (!sampled.ContainsKey(manifest))
            {
                problems.Add($"Manifest '{manifest}' has no sample; add one so that it can be frozen.");
            }
        }

        foreach (var (manifest, frozen) in golden)
        {
            if (!registry.Manifests.Contains(manifest))
            {
                problems.Add($"Manifest '{manifest}' is frozen in {Path.GetFileName(path)} but no longer registered: journals holding it could not be read.");
                continue;
            }

            try
            {
                var frozenBytes = Encoding.UTF8.GetBytes(frozen?.ToJsonString() ?? "null");
                var value = registry.Deserialize(manifest, frozenBytes);
                var (_, again) = registry.Serialize(value);
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
