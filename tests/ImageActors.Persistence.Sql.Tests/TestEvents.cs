using System.Text.Json.Serialization;
using ImageActors.Persistence.Sql.Serialization;

namespace ImageActors.Persistence.Sql.Tests;

/// <summary>An event of the contract suite.</summary>
public sealed record ItemAdded(string Name, int Count);

/// <summary>Another event of the contract suite.</summary>
public sealed record ItemRemoved(string Name, string Reason);

/// <summary>A snapshot of the contract suite.</summary>
public sealed record ShelfSnapshot(string Owner, int Items);

/// <summary>A type with no manifest: the journal must reject it.</summary>
public sealed record Unregistered(string Whatever);

[JsonSerializable(typeof(ItemAdded))]
[JsonSerializable(typeof(ItemRemoved))]
[JsonSerializable(typeof(ShelfSnapshot))]
internal sealed partial class TestEventsJson : JsonSerializerContext;

internal static class TestEvents
{
    public static EventManifestRegistry Registry() => new EventManifestRegistry()
        .Register("item-added.v1", TestEventsJson.Default.ItemAdded)
        .Register("item-removed.v1", TestEventsJson.Default.ItemRemoved)
        .Register("shelf-snapshot.v1", TestEventsJson.Default.ShelfSnapshot);

    public static IEnumerable<object> Samples() =>
    [
        new ItemAdded("ubuntu/24.04", 3),
        new ItemRemoved("alpine/3.20", "expired"),
        new ShelfSnapshot("node-1", 42),
    ];
}
