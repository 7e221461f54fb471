using ImageActors.Images.Domain;

namespace ImageActors.Images.Remote;

/// <summary>A copy of an image from a remote server into the store (Incus' <c>image copy</c>, <c>POST /1.0/images</c> with a remote source).</summary>
/// <param name="Source">The server to copy from.</param>
/// <param name="Image">The alias or fingerprint (prefix) at the source; for <c>direct</c> it is ignored.</param>
public sealed record CopyRequest(RemoteSource Source, string Image)
{
    /// <summary>The project to store into.</summary>
    public ProjectName Project { get; init; } = ProjectName.Default;

    /// <summary>Aliases to create locally (<c>--alias</c>).</summary>
    public IReadOnlyList<string> Aliases { get; init; } = [];

    /// <summary>Create the source's aliases locally too (<c>--copy-aliases</c>).</summary>
    public bool CopyAliases { get; init; }

    /// <summary>Keep the image up to date from its source (<c>--auto-update</c>).</summary>
    public bool AutoUpdate { get; init; }

    /// <summary>The image type to resolve an alias to: <c>container</c>, or <c>virtual-machine</c> (<c>--vm</c>); null for either.</summary>
    public string? Type { get; init; }

    /// <summary>Visible to untrusted clients (<c>--public</c>).</summary>
    public bool Public { get; init; }

    /// <summary>Profiles for instances created from it; null keeps <c>["default"]</c>.</summary>
    public IReadOnlyList<string>? Profiles { get; init; }

    /// <summary>Move aliases that already exist to the new image (<c>--reuse</c>) instead of failing.</summary>
    public bool Reuse { get; init; }

    /// <summary>
    /// A copy on behalf of a use (instance creation, a pull-through request): stored as cached, private (unless
    /// <see cref="PublicWhenCached"/>), used now, with <c>auto_update</c> from <c>images.auto_update_cached</c>.
    /// </summary>
    public bool Cached { get; init; }

    /// <summary>
    /// For a <see cref="Cached"/> copy: keep <see cref="Public"/> instead of storing it private. The cache appliance
    /// serves what it fetched to the same untrusted clients the upstream serves it to.
    /// </summary>
    public bool PublicWhenCached { get; init; }

    /// <summary>
    /// A secret from the source's <c>POST /1.0/images/&lt;fp&gt;/secret</c> that opens a private image
    /// (<c>source.secret</c>); with it <see cref="Image"/> is a fingerprint and aliases at the source are not consulted,
    /// as the daemon does. Sent as <c>?secret=</c> with the image's lookup and its download.
    /// </summary>
    public string? Secret { get; init; }

    /// <summary>Download settings of this request that differ from the node's (<c>--set</c> through a server); null for none.</summary>
    public Remotes.Download.DownloadSettings? Download { get; init; }

    /// <summary>Receives the transfer progress.</summary>
    public IProgress<ImageProgress>? Progress { get; init; }
}

/// <summary>A copy that failed at the source (not found, unreachable, wrong bytes). Nothing was stored.</summary>
public sealed class ImageCopyException : IOException
{
    /// <summary>Creates the error; the message names the source and the cause.</summary>
    public ImageCopyException(string image, Uri server, Exception inner)
        : base($"Failed to copy image \"{image}\" from {server}: {inner?.Message}", inner)
    {
        Image = image;
        Server = server;
    }

    /// <summary>The alias or fingerprint asked for.</summary>
    public string Image { get; }

    /// <summary>The source server.</summary>
    public Uri Server { get; }
}
