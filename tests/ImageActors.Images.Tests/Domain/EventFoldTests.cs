using System.Collections.Immutable;
using ImageActors.Images.Domain;
using ImageActors.Images.Events;
using ImageActors.Images.Tests.Serialization;

namespace ImageActors.Images.Tests.Domain;

public sealed class EventFoldTests
{
    private static readonly ProjectName Default = ProjectName.Default;

    [Fact]
    public void An_import_interrupted_before_it_was_stored_leaves_no_image()
    {
        var fp = Images.Fp("ab");
        var state = ImageState.Empty.Apply(new ImageDownloadStarted(Default, fp, Images.Epoch, null));
        Assert.Equal(ImageStatus.Importing, state.Status);
        Assert.Null(state.Image);
        Assert.Equal(ImageStatus.Absent, state.Apply(new ImageDownloadAbandoned(Default, fp, "crash")).Status);
    }

    [Fact]
    public void Recovery_folds_the_history_into_the_current_record()
    {
        var fp = Images.Fp("ab");
        var stored = Images.Record(fp);
        var history = new IImageEvent[]
        {
            new ImageDownloadStarted(Default, fp, Images.Epoch, null),
            new ImageStored(stored),
            new ImageUsed(Default, fp, Images.Epoch.AddDays(1)),
            new ImageUpdated(Default, fp, true, true, ImmutableSortedDictionary<string, string>.Empty.Add("os", "Debian"), Images.Epoch.AddDays(9), ["default", "gpu"]),
        };

        var state = ImageState.Empty.ApplyAll(history);

        Assert.Equal(ImageStatus.Stored, state.Status);
        Assert.Equal(Images.Epoch.AddDays(1), state.Image!.LastUsedAt);
        Assert.True(state.Image.Public);
        Assert.True(state.Image.AutoUpdate);
        Assert.Equal("Debian", state.Image.Properties["os"]);
        Assert.Equal(["default", "gpu"], state.Image.Profiles.ToArray());
        Assert.Equal(ImageStatus.Absent, state.Apply(new ImageDeleted(Default, fp, Images.Epoch, "user")).Status);
    }

    [Fact]
    public void Aliases_the_cache_made_are_recorded_once_each_in_name_order_and_kept_through_later_changes()
    {
        var fp = Images.Fp("ab");
        var history = new IImageEvent[]
        {
            new ImageStored(Images.Record(fp, cached: true)),
            new ImageCacheAliasRecorded(Default, fp, AliasName.Parse("debian/bookworm")),
            new ImageCacheAliasRecorded(Default, fp, AliasName.Parse("debian/12")),
            new ImageCacheAliasRecorded(Default, fp, AliasName.Parse("debian/bookworm")),
            new ImageUsed(Default, fp, Images.Epoch.AddDays(1)),
        };

        var state = ImageState.Empty.ApplyAll(history);

        Assert.Equal(["debian/12", "debian/bookworm"], state.Image!.CacheAliases.Select(a => a.Value));
        Assert.Empty(ImageState.Empty.Apply(new ImageStored(Images.Record(fp, cached: true))).Image!.CacheAliases);
    }

    [Fact]
    public void An_image_stored_before_cache_aliases_were_recorded_reads_back_with_none()
    {
        var (_, payload) = ImageEventSerializer.Instance.Serialize(new ImageStored(SampleWithCacheAlias()));
        var json = System.Text.Json.Nodes.JsonNode.Parse(payload)!.AsObject();
        var image = json["image"]!.AsObject();
        Assert.True(image.Remove("cache_aliases"));

        var stored = (ImageStored)ImageEventSerializer.Instance.Deserialize("image-stored.v1", System.Text.Encoding.UTF8.GetBytes(json.ToJsonString()));

        Assert.Empty(stored.Image.CacheAliases);
        Assert.Equal(SampleWithCacheAlias() with { CacheAliases = [] }, stored.Image);
    }

    private static ImageRecord SampleWithCacheAlias() => EventSamples.Record() with { CacheAliases = [AliasName.Parse("debian/bookworm")] };

    [Fact]
    public void A_late_download_start_does_not_hide_a_stored_image()
    {
        var fp = Images.Fp("ab");
        var state = ImageState.Empty.Apply(new ImageStored(Images.Record(fp)));
        Assert.Equal(ImageStatus.Stored, state.Apply(new ImageDownloadStarted(Default, fp, Images.Epoch, null)).Status);
    }

    [Fact]
    public void An_alias_fold_follows_create_retarget_and_rename()
    {
        var name = AliasName.Parse("debian/12");
        var a = Images.Fp("aa");
        var b = Images.Fp("bb");
        var state = AliasState.Empty
            .Apply(new AliasCreated(Default, name, a, "", ImageType.Container))
            .Apply(new AliasRetargeted(Default, name, b, "new", ImageType.Container));
        Assert.True(state.Targets(b));
        Assert.Equal("new", state.Alias!.Description);
        Assert.False(state.Apply(new AliasRenamed(Default, name, AliasName.Parse("debian/current"), b, "new", ImageType.Container)).Exists);
    }

    [Fact]
    public void Every_event_and_snapshot_survives_a_round_trip_through_its_manifest()
    {
        var record = EventSamples.Record();

        foreach (var value in EventSamples.All())
        {
            var (manifest, payload) = ImageEventSerializer.Instance.Serialize(value);
            var back = ImageEventSerializer.Instance.Deserialize(manifest, payload);
            Assert.Equal(value.GetType(), back.GetType());
            var (_, again) = ImageEventSerializer.Instance.Serialize(back);
            Assert.Equal(payload, again);
        }

        var stored = (ImageStored)ImageEventSerializer.Instance.Deserialize("image-stored.v1", ImageEventSerializer.Instance.Serialize(new ImageStored(record)).Payload);
        Assert.Equal(record, stored.Image);
    }

    [Fact]
    public void Events_are_written_with_stable_snake_case_fields()
    {
        var (manifest, payload) = ImageEventSerializer.Instance.Serialize(new ImageUsed(ProjectName.Default, Images.Fp("ab"), Images.Epoch));
        var json = System.Text.Encoding.UTF8.GetString(payload);
        Assert.Equal("image-used.v1", manifest);
        Assert.Contains("\"project\":\"default\"", json, StringComparison.Ordinal);
        Assert.Contains($"\"fingerprint\":\"{Images.Fp("ab")}\"", json, StringComparison.Ordinal);
    }

    [Fact]
    public void Unregistered_types_are_rejected_before_anything_is_written() =>
        Assert.Throws<System.Runtime.Serialization.SerializationException>(() => ImageEventSerializer.Instance.Serialize("not an event"));
}
