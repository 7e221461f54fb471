using System.Text.Json.Serialization;

namespace ImageActors.Remotes.SimpleStreams;

/// <summary><c>streams/v1/index.json</c>: which products files a SimpleStreams server publishes.</summary>
public sealed record StreamIndex
{
    /// <summary>Always <c>index:1.0</c>.</summary>
    public string Format { get; set; } = "index:1.0";

    /// <summary>When the index was written (RFC 2822 text, free-form).</summary>
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public string? Updated { get; init; }

    /// <summary>Entries by content id (usually just <c>images</c>).</summary>
    public IReadOnlyDictionary<string, StreamIndexEntry> Index { get; set; } = new Dictionary<string, StreamIndexEntry>();
}

/// <summary>One entry of <see cref="StreamIndex.Index"/>.</summary>
public sealed record StreamIndexEntry
{
    /// <summary>Only <c>image-downloads</c> entries are loaded.</summary>
    public string Datatype { get; set; } = "image-downloads";

    /// <summary>Path of the products file relative to the server root.</summary>
    public string Path { get; set; } = "streams/v1/images.json";

    /// <summary>When the products file was written.</summary>
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public string? Updated { get; init; }

    /// <summary>Always <c>products:1.0</c>.</summary>
    public string Format { get; set; } = "products:1.0";

    /// <summary>Product keys in the products file; an empty list makes clients skip the entry.</summary>
    public IReadOnlyList<string> Products { get; set; } = [];
}
