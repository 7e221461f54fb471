using System.Collections.Immutable;
using ImageActors.Images.Domain;

namespace ImageActors.Images.ReadModel;

/// <summary>
/// The read model's content at one journal position: rebuilding from it and the events with a
/// greater ordering gives the same catalog as replaying everything.
/// </summary>
/// <param name="Ordering">The journal ordering of the last event it includes.</param>
/// <param name="Images">Every image record (aliases included), sorted by project and fingerprint.</param>
/// <param name="Aliases">Every alias, sorted by project and name.</param>
public sealed record CatalogSnapshot(long Ordering, ImmutableArray<ImageRecord> Images, ImmutableArray<AliasRecord> Aliases);
