using System.Collections.Immutable;
using ImageActors.Images.Domain;
using ImageActors.Images.Filtering;
using ImageActors.Streaming;

namespace ImageActors.Fuzz;

/// <summary>Targets of the images layer: alias names and <c>filter=</c> expressions.</summary>
public static class ImagesTargets
{
    // Made on first use: under afl-fuzz, instrumented code may only run once the fuzzer has started.
    private static ImageRecord? _record;

    private static ImageRecord Record => _record ??= new()
    {
        Fingerprint = Fingerprint.Parse(new string('a', 64)),
        Filename = "debian-12.tar.xz",
        Size = 100,
        Architecture = "x86_64",
        Public = true,
        Aliases = [new ImageAliasRef(AliasName.Parse("debian/12"), "")],
        Properties = ImmutableSortedDictionary.CreateRange(StringComparer.Ordinal, [KeyValuePair.Create("os", "Debian"), KeyValuePair.Create("release", "bookworm")]),
        CreatedAt = DateTimeOffset.UnixEpoch,
        UpdateSource = new UpdateSource("https://127.0.0.1:8443", SourceProtocol.SimpleStreams, "debian/12", "", ImageType.Container),
    };

    /// <summary>Every images target.</summary>
    public static IReadOnlyList<FuzzTarget> All { get; } =
    [
        new("alias", Alias),
        new("filter", Filter),
    ];

    // Each line is one name, as the API and the CLI get them.
    private static void Alias(Stream input)
    {
        foreach (var line in FuzzTarget.Text(input).Split('\n'))
        {
            try
            {
                var name = AliasName.Parse(line);
                if (!AliasName.TryParse(name.Value, out var again) || again != name)
                {
                    throw new InvalidOperationException($"The alias name '{name.Value}' does not parse to itself");
                }
            }
            catch (InvalidAliasNameException)
            {
                if (AliasName.TryParse(line, out _))
                {
                    throw new InvalidOperationException($"'{line}' is refused by Parse but accepted by TryParse");
                }
            }
        }
    }

    private static void Filter(Stream input)
    {
        try
        {
            var filter = ImageFilter.Parse(FuzzTarget.Text(input));
            _ = filter.Matches(Record);
        }
        catch (InvalidFilterException)
        {
        }
    }
}
