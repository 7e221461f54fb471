namespace ImageActors.Streaming.Images;

/// <summary>The contents of an image's <c>metadata.yaml</c> (spec §1.4).</summary>
/// <param name="Architecture">The architecture, canonicalised (<c>amd64</c> becomes <c>x86_64</c>).</param>
/// <param name="ArchitectureAsWritten">The name as the file wrote it.</param>
/// <param name="CreationDate">When the image was made.</param>
/// <param name="ExpiryDate">When it expires (becomes <c>expires_at</c>), if set.</param>
/// <param name="Properties">Image properties (<c>os</c>, <c>release</c>, <c>description</c>, <c>requirements.*</c>, ...).</param>
/// <param name="Templates">Template entries by the path in the instance they write.</param>
public sealed record ImageMetadata(
    Architecture Architecture,
    string ArchitectureAsWritten,
    DateTimeOffset CreationDate,
    DateTimeOffset? ExpiryDate,
    IReadOnlyDictionary<string, string> Properties,
    IReadOnlyDictionary<string, ImageTemplate> Templates);

/// <summary>One entry of <c>templates:</c> in metadata.yaml.</summary>
/// <param name="When">Triggers: <c>create</c>, <c>copy</c>, <c>start</c>.</param>
/// <param name="Template">File name inside <c>templates/</c>.</param>
/// <param name="CreateOnly">Only create the file when it is missing.</param>
/// <param name="Properties">Properties passed to the template.</param>
/// <param name="Uid">Owner of the written file, if set.</param>
/// <param name="Gid">Group of the written file, if set.</param>
/// <param name="Mode">Mode of the written file, if set.</param>
public sealed record ImageTemplate(
    IReadOnlyList<string> When,
    string Template,
    bool CreateOnly,
    IReadOnlyDictionary<string, string> Properties,
    string? Uid,
    string? Gid,
    string? Mode);
