using System.Collections.Immutable;
using System.Globalization;
using System.Security.Cryptography;
using ImageActors.Images.Domain;
using ImageActors.Images.Events;
using ImageActors.Streaming;

namespace ImageActors.Benchmarks.Images;

/// <summary>A synthetic catalog: images with realistic properties, one alias each.</summary>
internal static class CatalogData
{
    public static readonly DateTimeOffset Epoch = new(2026, 1, 1, 0, 0, 0, TimeSpan.Zero);

    private static readonly string[] Os = ["Debian", "Ubuntu", "Alpine", "Fedora", "Rocky"];

    public static Fingerprint FingerprintOf(int i)
    {
        Span<byte> seed = stackalloc byte[4];
        BitConverter.TryWriteBytes(seed, i);
        return new Fingerprint(SHA256.HashData(seed));
    }

    public static ImageRecord Image(int i) => new()
    {
        Fingerprint = FingerprintOf(i),
        Filename = $"image-{i}.tar.xz",
        Size = 100_000_000 + i,
        Architecture = i % 4 == 0 ? "aarch64" : "x86_64",
        Type = i % 10 == 0 ? ImageType.VirtualMachine : ImageType.Container,
        Public = i % 2 == 0,
        Cached = i % 3 == 0,
        Properties = ImmutableSortedDictionary.CreateRange(StringComparer.Ordinal,
        [
            KeyValuePair.Create("os", Os[i % Os.Length]),
            KeyValuePair.Create("release", (i % 20).ToString(CultureInfo.InvariantCulture)),
            KeyValuePair.Create("variant", "default"),
            KeyValuePair.Create("architecture", "amd64"),
            KeyValuePair.Create("description", $"{Os[i % Os.Length]} {i % 20} amd64 ({i})"),
        ]),
        CreatedAt = Epoch,
        UploadedAt = Epoch.AddSeconds(i),
    };

    /// <summary>The events that create <paramref name="count"/> images and as many aliases, in journal order.</summary>
    public static IEnumerable<object> History(int count)
    {
        for (var i = 0; i < count; i++)
        {
            var image = Image(i);
            yield return new ImageStored(image);
            yield return new AliasCreated(ProjectName.Default, AliasName.Parse($"os/{i}"), image.Fingerprint, "", image.Type);
        }
    }
}
