namespace ImageActors.Remotes.Incus;

/// <summary>An alias entry: <c>GET /1.0/images/aliases/&lt;name&gt;</c> and <c>POST /1.0/images/aliases</c>.</summary>
public sealed record ImageAliasesEntry
{
    /// <summary>The alias name; may contain <c>/</c>.</summary>
    public string Name { get; init; } = "";

    /// <summary>Free-form description.</summary>
    public string Description { get; init; } = "";

    /// <summary>Fingerprint (or a unique prefix, when creating) the alias points at.</summary>
    public string Target { get; init; } = "";

    /// <summary><c>container</c> or <c>virtual-machine</c>.</summary>
    public string Type { get; init; } = ImageTypes.Container;
}

/// <summary><c>PUT</c> / <c>PATCH /1.0/images/aliases/&lt;name&gt;</c>.</summary>
public sealed record ImageAliasesEntryPut
{
    /// <summary>Free-form description.</summary>
    public string? Description { get; init; }

    /// <summary>New target fingerprint; required by PUT.</summary>
    public string? Target { get; init; }
}

/// <summary><c>POST /1.0/images/aliases/&lt;name&gt;</c>: rename.</summary>
public sealed record ImageAliasesEntryPost
{
    /// <summary>The new name.</summary>
    public string Name { get; init; } = "";
}
