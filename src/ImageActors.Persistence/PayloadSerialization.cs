using Akka.Serialization;
using Akka.Util;

namespace ImageActors.Persistence;

/// <summary>
/// Payloads to and from rows exactly as Akka.Persistence.Sql stores them: the serializer Akka
/// binds to the payload's type, its id, and its manifest (a string manifest, else the type's
/// qualified name when the serializer wants one, else empty).
/// </summary>
internal static class PayloadSerialization
{
    public static (byte[] Bytes, string Manifest, int Identifier) Serialize(Serialization serialization, object payload)
    {
        var serializer = serialization.FindSerializerForType(payload.GetType());
        return Serialization.WithTransport(serialization.System, (serializer, payload), static state =>
        {
            var (s, p) = state;
            var manifest = s switch
            {
                SerializerWithStringManifest withManifest => withManifest.Manifest(p),
                { IncludeManifest: true } => p.GetType().TypeQualifiedName(),
                _ => string.Empty,
            };
            return (s.ToBinary(p), manifest, s.Identifier);
        });
    }

    public static object Deserialize(Serialization serialization, byte[] bytes, int? identifier, string manifest)
    {
        if (identifier is { } id)
        {
            return serialization.Deserialize(bytes, id, manifest);
        }

        // Rows of old plugins have no serializer id: the manifest is the type.
        var type = Type.GetType(manifest, throwOnError: true)!;
        return Serialization.WithTransport(serialization.System, (serialization.FindSerializerForType(type), bytes, type),
            static state => state.Item1.FromBinary(state.bytes, state.type));
    }
}
