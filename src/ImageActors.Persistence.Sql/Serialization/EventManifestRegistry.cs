using System.Text.Json;
using System.Text.Json.Serialization.Metadata;
using ImageActors.Actors.Persistence;

namespace ImageActors.Persistence.Sql.Serialization;

/// <summary>
/// The JSON serializer of events and snapshots: every type is registered under a stable manifest
/// (<c>"image-stored.v1"</c>), never its CLR name, with source-generated <see cref="JsonTypeInfo{T}"/>,
/// so renaming or moving a class cannot break an existing journal. Register every type at start-up,
/// before the registry is shared; afterwards it is only read.
/// </summary>
public sealed class EventManifestRegistry : IEventSerializer
{
    private readonly Dictionary<Type, Entry> _byType = [];
    private readonly Dictionary<string, Entry> _byManifest = new(StringComparer.Ordinal);

    /// <summary>The registered manifests.</summary>
    public IReadOnlyCollection<string> Manifests => _byManifest.Keys;

    /// <summary>Registers <typeparamref name="T"/> under <paramref name="manifest"/>.</summary>
    /// <exception cref="ArgumentException">The manifest is malformed, or the manifest or the type is already registered.</exception>
    public EventManifestRegistry Register<T>(string manifest, JsonTypeInfo<T> typeInfo)
        where T : notnull
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(manifest);
        ArgumentNullException.ThrowIfNull(typeInfo);
        if (manifest.Any(char.IsWhiteSpace))
        {
            throw new ArgumentException($"Manifest '{manifest}' must not contain white space.", nameof(manifest));
        }

        if (_byManifest.ContainsKey(manifest))
        {
            throw new ArgumentException($"Manifest '{manifest}' is already registered.", nameof(manifest));
        }

        if (_byType.TryGetValue(typeof(T), out var existing))
        {
            throw new ArgumentException($"{typeof(T).Name} is already registered as '{existing.Manifest}'.", nameof(typeInfo));
        }

        var entry = new Entry<T>(manifest, typeInfo);
        _byManifest.Add(manifest, entry);
        _byType.Add(typeof(T), entry);
        return this;
    }

    /// <summary>The manifest <paramref name="type"/> is registered under, if any.</summary>
    public bool TryGetManifest(Type type, out string manifest)
    {
        if (_byType.TryGetValue(type, out var entry))
        {
            manifest = entry.Manifest;
            return true;
        }

        manifest = "";
        return false;
    }

    /// <inheritdoc />
    public (string Manifest, byte[] Payload) Serialize(object value)
    {
        ArgumentNullException.ThrowIfNull(value);
        if (!_byType.TryGetValue(value.GetType(), out var entry))
        {
            throw new EventRejectedException($"{value.GetType().FullName} has no registered manifest; register it with EventManifestRegistry.Register.");
        }

        try
        {
            return (entry.Manifest, entry.Serialize(value));
        }
        catch (Exception e) when (e is JsonException or NotSupportedException or InvalidOperationException)
        {
            throw new EventRejectedException($"{value.GetType().FullName} ('{entry.Manifest}') could not be serialized: {e.Message}", e);
        }
    }

    /// <inheritdoc />
    public object Deserialize(string manifest, ReadOnlySpan<byte> payload)
    {
        if (!_byManifest.TryGetValue(manifest, out var entry))
        {
            throw new InvalidOperationException($"Manifest '{manifest}' is not registered; the journal holds events this build cannot read.");
        }

        return entry.Deserialize(payload) ?? throw new InvalidOperationException($"Payload of manifest '{manifest}' is JSON null.");
    }

    private abstract class Entry(string manifest)
    {
        public string Manifest { get; } = manifest;

        public abstract byte[] Serialize(object value);

        public abstract object? Deserialize(ReadOnlySpan<byte> payload);
    }

    private sealed class Entry<T>(string manifest, JsonTypeInfo<T> typeInfo) : Entry(manifest)
        where T : notnull
    {
        public override byte[] Serialize(object value) => JsonSerializer.SerializeToUtf8Bytes((T)value, typeInfo);

        public override object? Deserialize(ReadOnlySpan<byte> payload) => JsonSerializer.Deserialize(payload, typeInfo);
    }
}
