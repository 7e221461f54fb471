using System.Text.Json.Serialization;
using ImageActors.Images.Events;

namespace ImageActors.Images.Tests.Serialization;

/// <summary>An event as first written.</summary>
public sealed record ItemAdded(string Name, int Count);

/// <summary>A later version of <see cref="ItemAdded"/> whose property was renamed: old journals would lose the name.</summary>
public sealed record ItemAddedRenamed(string Title, int Count);

/// <summary>A later version of <see cref="ItemAdded"/> with a new, optional property: compatible.</summary>
public sealed record ItemAddedExtended(string Name, int Count, string? Origin = null);

/// <summary>Another event.</summary>
public sealed record ItemRemoved(string Name, string Reason);

[JsonSerializable(typeof(ItemAdded))]
[JsonSerializable(typeof(ItemAddedRenamed))]
[JsonSerializable(typeof(ItemAddedExtended))]
[JsonSerializable(typeof(ItemRemoved))]
internal sealed partial class EvolvedEventsJson : JsonSerializerContext;

public sealed class ManifestGoldenFileTests : IDisposable
{
    /// <summary>Set to 1 to add new manifests to the golden file (existing entries are never rewritten).</summary>
    private const string FreezeVariable = "IMAGEACTORS_FREEZE_MANIFESTS";

    private const string Frozen = """
        {
          "item-added.v1": { "Name": "ubuntu/24.04", "Count": 3 },
          "item-removed.v1": { "Name": "alpine/3.20", "Reason": "expired" }
        }
        """;

    private readonly DirectoryInfo _directory = Directory.CreateTempSubdirectory("imageactors-golden-");

    private string FrozenFile()
    {
        var path = Path.Combine(_directory.FullName, "events.json");
        File.WriteAllText(path, Frozen);
        return path;
    }

    private static string GoldenFile(string name)
    {
        var directory = new DirectoryInfo(AppContext.BaseDirectory);
        while (directory is not null && !File.Exists(Path.Combine(directory.FullName, "ImageActors.sln")))
        {
            directory = directory.Parent;
        }

        Assert.NotNull(directory);
        return Path.Combine(directory.FullName, "tests", "ImageActors.Images.Tests", "Golden", name);
    }

    [Fact]
    public void Every_manifest_of_the_image_events_and_snapshots_reads_its_frozen_payload()
    {
        var codec = new ManifestCodec(
            [.. ImageEventSerializer.Manifests.Select(m => m.Manifest)],
            ImageEventSerializer.Instance.Serialize,
            (manifest, payload) => ImageEventSerializer.Instance.Deserialize(manifest, payload));

        var problems = ManifestGoldenFile.Verify(codec, EventSamples.All(), GoldenFile("image-events.json"), Environment.GetEnvironmentVariable(FreezeVariable) == "1");

        Assert.Empty(problems);
    }

    [Fact]
    public void Renaming_a_property_of_a_frozen_event_is_reported()
    {
        var renamed = ManifestCodec.Of(("item-added.v1", EvolvedEventsJson.Default.ItemAddedRenamed), ("item-removed.v1", EvolvedEventsJson.Default.ItemRemoved));

        var problems = ManifestGoldenFile.Verify(renamed, [new ItemAddedRenamed("x", 1), new ItemRemoved("y", "z")], FrozenFile(), freezeNewManifests: false);

        var problem = Assert.Single(problems);
        Assert.Contains("item-added.v1", problem, StringComparison.Ordinal);
        Assert.Contains("$.Name", problem, StringComparison.Ordinal);
    }

    [Fact]
    public void Adding_an_optional_property_to_a_frozen_event_is_allowed()
    {
        var extended = ManifestCodec.Of(("item-added.v1", EvolvedEventsJson.Default.ItemAddedExtended), ("item-removed.v1", EvolvedEventsJson.Default.ItemRemoved));

        var problems = ManifestGoldenFile.Verify(extended, [new ItemAddedExtended("x", 1), new ItemRemoved("y", "z")], FrozenFile(), freezeNewManifests: false);

        Assert.Empty(problems);
    }

    [Fact]
    public void Dropping_a_frozen_manifest_or_leaving_a_new_one_unfrozen_is_reported()
    {
        var changed = ManifestCodec.Of(("item-added.v1", EvolvedEventsJson.Default.ItemAdded), ("item-removed.v2", EvolvedEventsJson.Default.ItemRemoved));

        var problems = ManifestGoldenFile.Verify(changed, [new ItemAdded("x", 1), new ItemRemoved("y", "z")], FrozenFile(), freezeNewManifests: false);

        Assert.Equal(2, problems.Count);
        Assert.Contains(problems, p => p.Contains("'item-removed.v1'", StringComparison.Ordinal) && p.Contains("no longer registered", StringComparison.Ordinal));
        Assert.Contains(problems, p => p.Contains("'item-removed.v2'", StringComparison.Ordinal) && p.Contains("not frozen", StringComparison.Ordinal));
    }

    [Fact]
    public void Freezing_adds_new_manifests_and_never_rewrites_frozen_ones()
    {
        var path = Path.Combine(_directory.FullName, "partial.json");
        File.WriteAllText(path, """{ "item-added.v1": { "Name": "frozen long ago", "Count": 7 } }""");
        var codec = ManifestCodec.Of(("item-added.v1", EvolvedEventsJson.Default.ItemAdded), ("item-removed.v1", EvolvedEventsJson.Default.ItemRemoved));

        var problems = ManifestGoldenFile.Verify(codec, [new ItemAdded("new", 1), new ItemRemoved("y", "z")], path, freezeNewManifests: true);

        Assert.Empty(problems);
        var text = File.ReadAllText(path);
        Assert.Contains("frozen long ago", text, StringComparison.Ordinal);
        Assert.DoesNotContain("\"new\"", text, StringComparison.Ordinal);
        Assert.Contains("item-removed.v1", text, StringComparison.Ordinal);
    }

    public void Dispose() => _directory.Delete(recursive: true);
}
