using ImageActors.Images.Domain;
using ImageActors.Images.Events;
using ImageActors.Images.ReadModel;

namespace ImageActors.Images.Tests.Serialization;

/// <summary>One value of every event and snapshot the journal stores, with every optional part filled in.</summary>
internal static class EventSamples
{
    private static readonly ProjectName Default = ProjectName.Default;
    private static readonly AliasName Name = AliasName.Parse("debian/12");

    public static ImageRecord Record() => Images.Record(Images.Fp("ab"), properties: [("os", "Debian"), ("requirements.cgroup", "v1")]) with
    {
        UpdateSource = new UpdateSource("https://images.example", SourceProtocol.SimpleStreams, "debian/12", "", ImageType.Container),
        Aliases = [new ImageAliasRef(Name, "d")],
        CacheAliases = [AliasName.Parse("debian/bookworm")],
    };

    public static IReadOnlyList<object> All()
    {
        var record = Record();
        var fp = record.Fingerprint;
        return
        [
            new ImageDownloadStarted(Default, fp, Images.Epoch, record.UpdateSource),
            new ImageDownloadAbandoned(Default, fp, "hash mismatch"),
            new ImageStored(record),
            new ImageUsed(Default, fp, Images.Epoch),
            new ImageUpdated(Default, fp, true, false, record.Properties, Images.Epoch, ["default"]),
            new ImageCacheStateChanged(Default, fp, true, Images.Epoch),
            new ImageDeleted(Default, fp, Images.Epoch, "expired"),
            new ImageCacheAliasRecorded(Default, fp, AliasName.Parse("debian/bookworm")),
            new AliasCreated(Default, Name, fp, "d", ImageType.VirtualMachine),
            new AliasRetargeted(Default, Name, fp, "d", ImageType.Container),
            new AliasRenamed(Default, Name, AliasName.Parse("x"), fp, "d", ImageType.Container),
            new AliasDeleted(ProjectName.Parse("other"), Name),
            new ImageState(ImageStatus.Stored, record, null),
            new AliasState(new AliasRecord(Default, Name, fp, "d", ImageType.Container)),
            new CatalogSnapshot(42, [record], [new AliasRecord(Default, Name, fp, "d", ImageType.Container)]),
        ];
    }
}
