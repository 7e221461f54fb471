using ImageActors.Images.Domain;
using ImageActors.Streaming;

namespace ImageActors.Images.Events;

/// <summary>Where an image is in its life.</summary>
public enum ImageStatus
{
    /// <summary>Never imported, or deleted, or an import was abandoned.</summary>
    Absent,

    /// <summary>An import or download has started and not finished.</summary>
    Importing,

    /// <summary>The files are committed; the record is <see cref="ImageState.Image"/>.</summary>
    Stored,
}

/// <summary>
/// The state of one image actor. <see cref="Apply"/> is pure, so recovery is a fold of the events
/// over <see cref="Empty"/> (or over a snapshot).
/// </summary>
/// <param name="Status">The life stage.</param>
/// <param name="Image">The record while <see cref="ImageStatus.Stored"/>, else null.</param>
/// <param name="ImportStartedAt">When the pending import started, while <see cref="ImageStatus.Importing"/>.</param>
public sealed record ImageState(ImageStatus Status, ImageRecord? Image, DateTimeOffset? ImportStartedAt)
{
    /// <summary>An image that does not exist.</summary>
    public static ImageState Empty { get; } = new(ImageStatus.Absent, null, null);

    /// <summary>The state after <paramref name="e"/>.</summary>
    public ImageState Apply(IImageEvent e) => e switch
    {
        ImageDownloadStarted started => Status == ImageStatus.Stored ? this : new ImageState(ImageStatus.Importing, null, started.StartedAt),
        ImageDownloadAbandoned => Status == ImageStatus.Stored ? this : Empty,
        ImageStored stored => new ImageState(ImageStatus.Stored, stored.Image with { Aliases = [] }, null),
        ImageUsed used when Image is not null => this with { Image = Image with { LastUsedAt = used.At } },
        ImageUpdated u when Image is not null => this with
        {
            Image = Image with
            {
                Public = u.Public,
                AutoUpdate = u.AutoUpdate,
                Properties = u.Properties,
                ExpiresAt = u.ExpiresAt,
                Profiles = u.Profiles,
            },
        },
        ImageCacheStateChanged c when Image is not null => this with { Image = Image with { Cached = c.Cached, LastUsedAt = c.LastUsedAt } },
        ImageCacheAliasRecorded a when Image is not null => this with { Image = Image.WithCacheAlias(a.Alias) },
        ImageDeleted => Empty,
        _ => this,
    };

    /// <summary>Folds <paramref name="events"/> over this state.</summary>
    public ImageState ApplyAll(IEnumerable<IImageEvent> events)
    {
        ArgumentNullException.ThrowIfNull(events);
        var state = this;
        foreach (var e in events)
        {
            state = state.Apply(e);
        }

        return state;
    }
}

/// <summary>The state of one alias actor; <see cref="Apply"/> is pure.</summary>
/// <param name="Alias">The alias while it exists, else null.</param>
public sealed record AliasState(AliasRecord? Alias)
{
    /// <summary>An alias that does not exist.</summary>
    public static AliasState Empty { get; } = new((AliasRecord?)null);

    /// <summary>Whether the alias exists.</summary>
    public bool Exists => Alias is not null;

    /// <summary>The state after <paramref name="e"/>.</summary>
    public AliasState Apply(IAliasEvent e) => e switch
    {
        AliasCreated c => new AliasState(new AliasRecord(c.Project, c.Name, c.Target, c.Description, c.Type)),
        AliasRetargeted r => new AliasState(new AliasRecord(r.Project, r.Name, r.Target, r.Description, r.Type)),
        AliasRenamed or AliasDeleted => Empty,
        _ => this,
    };

    /// <summary>Folds <paramref name="events"/> over this state.</summary>
    public AliasState ApplyAll(IEnumerable<IAliasEvent> events)
    {
        ArgumentNullException.ThrowIfNull(events);
        var state = this;
        foreach (var e in events)
        {
            state = state.Apply(e);
        }

        return state;
    }

    /// <summary>Whether the alias points at <paramref name="fingerprint"/>.</summary>
    public bool Targets(Fingerprint fingerprint) => Alias is not null && Alias.Target == fingerprint;
}
