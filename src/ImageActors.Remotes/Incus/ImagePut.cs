namespace ImageActors.Remotes.Incus;

/// <summary>The writable subset of an image (<c>PUT</c> / <c>PATCH /1.0/images/&lt;fp&gt;</c>).</summary>
public sealed record ImagePut
{
    /// <summary>Whether the image refreshes itself from its source.</summary>
    public bool AutoUpdate { get; init; }

    /// <summary>Image properties; replaced wholesale by PUT, merged by PATCH.</summary>
    public IReadOnlyDictionary<string, string>? Properties { get; init; }

    /// <summary>Whether untrusted clients can see the image.</summary>
    public bool Public { get; init; }

    /// <summary>Expiry; the zero time keeps the existing value.</summary>
    public DateTimeOffset ExpiresAt { get; init; }

    /// <summary>Profiles; <c>null</c> means <c>["default"]</c>.</summary>
    public IReadOnlyList<string>? Profiles { get; init; }
}
