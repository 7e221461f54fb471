using System.Text.Json.Serialization;
using ImageActors.Persistence.Sql.Serialization;

namespace ImageActors.Persistence.Sql.Tests;

/// <summary>A later version of <see cref="ItemAdded"/> whose property was renamed: old journals would lose the name.</summary>
public sealed record ItemAddedRenamed(string Title, int Count);

/// <summary>A later version of <see cref="ItemAdded"/> with a new, optional property: compatible.</summary>
public sealed record ItemAddedExtended(string Name, int Count, string? Origin = null);

[JsonSerializable(typeof(ItemAddedRenamed))]
[JsonSerializable(typeof(ItemAddedExtended))]
internal sealed partial class EvolvedEventsJson : JsonSerializerContext;

public sealed class ManifestGoldenFileTests
{
    /// <summary>Set to 1 to add new manifests to the golden files (existing entries are never rewritten).</summary>
    private const string FreezeVariable = "IMAGEACTORS_FREEZE_MANIFESTS";

    private static string GoldenFile(string name)
    {
        var directory = new DirectoryInfo(AppContext.BaseDirectory);
        while (directory is not null && !File.Exists(Path.Combine(directory.FullName, "ImageActors.sln")))
        {
            directory = directory.Parent;
        }

        Assert.NotNull(directory);
        return Path.Combine(directory.FullName, "tests", "ImageActors.Persistence.Sql.Tests", "Golden", name);
    }

    [Fact]
    public void Every_manifest_of_the_test_events_reads_its_frozen_payload()
    {
        var problems = ManifestGoldenFile.Verify(
            TestEvents.Registry(), TestEvents.Samples(), GoldenFile("test-events.json"), Environment.GetEnvironmentVariable(FreezeVariable) == "1");

        Assert.Empty(problems);
    }

    [Fact]
    public void Renaming_a_property_of_a_frozen_event_is_reported()
    {
        var renamed = new EventManifestRegistry()
            .Register("item-added.v1", EvolvedEventsJson.Default.ItemAddedRenamed)
            .Register("item-removed.v1", TestEventsJson.Default.ItemRemoved)
            .Register("shelf-snapshot.v1", TestEventsJson.Default.ShelfSnapshot);

        var problems = ManifestGoldenFile.Verify(
            renamed, [new ItemAddedRenamed("x", 1), new ItemRemoved("y", "z"), new ShelfSnapshot("o", 1)], GoldenFile("test-events.json"), freezeNewManifests: false);

        var problem = Assert.Single(problems);
        Assert.Contains("item-added.v1", problem, StringComparison.Ordinal);
        Assert.Contains("$.Name", problem, StringComparison.Ordinal);
    }

    [Fact]
    public void Adding_an_optional_property_to_a_frozen_event_is_allowed()
    {
        var extended = new EventManifestRegistry()
            .Register("item-added.v1", EvolvedEventsJson.Default.ItemAddedExtended)
            .Register("item-removed.v1", TestEventsJson.Default.ItemRemoved)
            .Register("shelf-snapshot.v1", TestEventsJson.Default.ShelfSnapshot);

        var problems = ManifestGoldenFile.Verify(
            extended, [new ItemAddedExtended("x", 1), new ItemRemoved("y", "z"), new ShelfSnapshot("o", 1)], GoldenFile("test-events.json"), freezeNewManifests: false);

        Assert.Empty(problems);
    }

    [Fact]
    public void Dropping_a_frozen_manifest_or_leaving_a_new_one_unfrozen_is_reported()
    {
        var changed = new EventManifestRegistry()
            .Register("item-added.v1", TestEventsJson.Default.ItemAdded)
            .Register("item-removed.v2", TestEventsJson.Default.ItemRemoved)
            .Register("shelf-snapshot.v1", TestEventsJson.Default.ShelfSnapshot);

        var problems = ManifestGoldenFile.Verify(changed, TestEvents.Samples(), GoldenFile("test-events.json"), freezeNewManifests: false);

        Assert.Equal(2, problems.Count);
        Assert.Contains(problems, p => p.Contains("'item-removed.v1'", StringComparison.Ordinal) && p.Contains("no longer registered", StringComparison.Ordinal));
        Assert.Contains(problems, p => p.Contains("'item-removed.v2'", StringComparison.Ordinal) && p.Contains("not frozen", StringComparison.Ordinal));
    }

    [Fact]
    public void Freezing_adds_new_manifests_and_never_rewrites_frozen_ones()
    {
        var directory = Directory.CreateTempSubdirectory("imageactors-golden-");
        try
        {
            var path = Path.Combine(directory.FullName, "events.json");
            File.WriteAllText(path, """{ "item-added.v1": { "Name": "frozen long ago", "Count": 7 } }""");

            var problems = ManifestGoldenFile.Verify(TestEvents.Registry(), TestEvents.Samples(), path, freezeNewManifests: true);

            Assert.Empty(problems);
            var text = File.ReadAllText(path);
            Assert.Contains("frozen long ago", text, StringComparison.Ordinal);
            Assert.Contains("item-removed.v1", text, StringComparison.Ordinal);
            Assert.Contains("shelf-snapshot.v1", text, StringComparison.Ordinal);
        }
        finally
        {
            directory.Delete(recursive: true);
        }
    }
}
