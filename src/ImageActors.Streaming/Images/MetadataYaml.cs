using System.Text;
using YamlDotNet.Core;
using YamlDotNet.Serialization;
using YamlDotNet.Serialization.NamingConventions;

namespace ImageActors.Streaming.Images;

/// <summary>Reads <c>metadata.yaml</c> by Incus' rules: at most 1 MiB, <c>architecture</c> known, <c>creation_date</c> non-zero.</summary>
public static class MetadataYaml
{
    /// <summary>The most of metadata.yaml the daemon reads.</summary>
    public const int MaxLength = 1 << 20;

    /// <summary>The error Incus gives when a metadata tarball has no metadata.yaml.</summary>
    public const string MissingMessage = "Metadata tarball is missing metadata.yaml";

    private static readonly IDeserializer Deserializer = new DeserializerBuilder()
        .WithNamingConvention(UnderscoredNamingConvention.Instance)
        .IgnoreUnmatchedProperties()
        .Build();

    /// <summary>Reads and checks metadata.yaml from <paramref name="stream"/> (at most <see cref="MaxLength"/> bytes).</summary>
    /// <exception cref="InvalidImageException">The YAML does not parse, or a rule of spec §1.4 fails.</exception>
    public static ImageMetadata Read(Stream stream)
    {
        ArgumentNullException.ThrowIfNull(stream);
        var buffer = new byte[MaxLength];
        var length = 0;
        while (length < buffer.Length)
        {
            var n = stream.Read(buffer, length, buffer.Length - length);
            if (n == 0)
            {
                break;
            }

            length += n;
        }

        return Parse(Encoding.UTF8.GetString(buffer, 0, length));
    }

    /// <summary>Parses and checks metadata.yaml text.</summary>
    /// <exception cref="InvalidImageException">The YAML does not parse, or a rule of spec §1.4 fails.</exception>
    public static ImageMetadata Parse(string yaml)
    {
        Document? doc;
        try
        {
            doc = Deserializer.Deserialize<Document?>(yaml);
        }
        catch (YamlException e)
        {
            throw new InvalidImageException($"Could not parse metadata.yaml: {e.Message}", e);
        }

        doc ??= new Document();
        if (!Architecture.TryParse(doc.Architecture, out var architecture))
        {
            throw new InvalidImageException($"Architecture isn't supported: {doc.Architecture}");
        }

        if (doc.CreationDate == 0)
        {
            throw new InvalidImageException("Missing creation date");
        }

        var templates = new Dictionary<string, ImageTemplate>(StringComparer.Ordinal);
        foreach (var (path, t) in doc.Templates ?? [])
        {
            templates[path] = new ImageTemplate(
                t?.When ?? [],
                t?.Template ?? "",
                t?.CreateOnly ?? false,
                t?.Properties ?? new Dictionary<string, string>(),
                t?.Uid,
                t?.Gid,
                t?.Mode);
        }

        return new ImageMetadata(
            architecture,
            doc.Architecture!,
            DateTimeOffset.FromUnixTimeSeconds(doc.CreationDate),
            doc.ExpiryDate is null or 0 ? null : DateTimeOffset.FromUnixTimeSeconds(doc.ExpiryDate.Value),
            doc.Properties ?? new Dictionary<string, string>(),
            templates);
    }

    // Public setters are what YamlDotNet binds to; the shape is metadata.yaml's.
    internal sealed class Document
    {
        public string? Architecture { get; set; }

        public long CreationDate { get; set; }

        public long? ExpiryDate { get; set; }

        public Dictionary<string, string>? Properties { get; set; }

        public Dictionary<string, TemplateDocument?>? Templates { get; set; }
    }

    internal sealed class TemplateDocument
    {
        public List<string>? When { get; set; }

        public bool CreateOnly { get; set; }

        public string? Template { get; set; }

        public Dictionary<string, string>? Properties { get; set; }

        public string? Uid { get; set; }

        public string? Gid { get; set; }

        public string? Mode { get; set; }
    }
}
