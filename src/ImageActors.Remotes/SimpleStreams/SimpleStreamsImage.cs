namespace ImageActors.Remotes.SimpleStreams;

/// <summary>An image synthesised from a product version: the API object and the items to download.</summary>
/// <param name="Info">The image as Incus' API would show it.</param>
/// <param name="Metadata">The metadata item (or the unified item when <paramref name="Root"/> is null).</param>
/// <param name="Root">The rootfs item of a split image.</param>
/// <param name="ProductKey">The product the image comes from.</param>
/// <param name="Serial">The version key.</param>
public sealed record SimpleStreamsImage(Incus.Image Info, ProductVersionItem Metadata, ProductVersionItem? Root, string ProductKey, string Serial);

/// <summary>An alias entry of a SimpleStreams catalog: one per (name, type, architecture).</summary>
/// <param name="Name">The alias (<c>debian/12</c> or <c>debian/12/amd64</c>).</param>
/// <param name="Type"><c>container</c> or <c>virtual-machine</c>.</param>
/// <param name="Architecture">Canonical architecture of the target.</param>
/// <param name="Image">The image the alias points at (the newest serial, squashfs preferred).</param>
public sealed record SimpleStreamsAlias(string Name, string Type, string Architecture, SimpleStreamsImage Image);
