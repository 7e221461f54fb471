using System.Diagnostics.Metrics;
using ImageActors.Images.Diagnostics;

namespace ImageActors.Images.Tests.Actors;

/// <summary>Gauges of a store that is not there: entities tested on their own still count into a <see cref="StoreMetrics"/>.</summary>
internal sealed class NoGauges : IStoreGauges
{
    public static NoGauges Instance { get; } = new();

    public IEnumerable<Measurement<long>> ObserveImageCount() => [];

    public IEnumerable<Measurement<long>> ObserveAliasCount() => [];

    public IEnumerable<Measurement<long>> ObserveCatalogOrdering() => [];

    public IEnumerable<Measurement<long>> ObserveCachedBytes() => [];

    public IEnumerable<Measurement<long>> ObserveMailboxDepths() => [];
}
