using CsCheck;
using ImageActors.Images.Actors;
using ImageActors.Images.Domain;
using ImageActors.Images.Tests.Store;
using Microsoft.Extensions.Time.Testing;

namespace ImageActors.Images.Tests.Properties;

/// <summary>
/// The image and alias entities are folds of their events: whatever accepted commands ran, a store restarted on the
/// same SQLite journal (entity snapshots every few events, catalog snapshots too) shows the same images and aliases,
/// and each entity, recovered, answers with the record it had.
/// </summary>
public sealed class RecoveryProperties
{
    private static readonly ProjectName Default = ProjectName.Default;
    private static readonly string[] Names = ["a", "b", "c"];
    private static readonly string[] Keys = ["os", "release", "variant"];

    private abstract record Command;

    private sealed record Put(bool Public, bool AutoUpdate, string[] Keys, int? ExpiresInDays, bool Profiles) : Command
    {
        public override string ToString() => $"Put(public {Public}, auto_update {AutoUpdate}, keys [{string.Join(", ", Keys)}], expires in {ExpiresInDays} days, profiles {Profiles})";
    }

    private sealed record Patch(bool? Public, string[] Keys) : Command
    {
        public override string ToString() => $"Patch(public {Public}, keys [{string.Join(", ", Keys)}])";
    }

    private sealed record Use(int MinutesLater) : Command;

    private sealed record CreateAlias(string Name, int Target) : Command;

    private sealed record RetargetAlias(string Name, int Target, string? Description) : Command;

    private sealed record RenameAlias(string Name, string NewName) : Command;

    private sealed record DeleteAlias(string Name) : Command;

    private static readonly Gen<string[]> GenKeys = Gen.OneOf(Keys).ArrayUnique[0, 3];

    private static readonly Gen<Command> GenCommand = Gen.Frequency(
        (2, Gen.Select(Gen.Bool, Gen.Bool, GenKeys, Gen.Int[0, 3].Select(d => d == 0 ? (int?)null : d), Gen.Bool, (p, a, k, e, pr) => (Command)new Put(p, a, k, e, pr))),
        (1, Gen.Select(Gen.Bool.Select(b => (bool?)b), GenKeys, (p, k) => (Command)new Patch(p, k))),
        (1, Gen.Int[1, 600].Select(m => (Command)new Use(m))),
        (2, Gen.Select(Gen.OneOf(Names), Gen.Int[0, 1], (n, t) => (Command)new CreateAlias(n, t))),
        (1, Gen.Select(Gen.OneOf(Names), Gen.Int[0, 1], Gen.OneOf<string?>(null, "moved"), (n, t, d) => (Command)new RetargetAlias(n, t, d))),
        (1, Gen.Select(Gen.OneOf(Names), Gen.OneOf(Names), (n, m) => (Command)new RenameAlias(n, m))),
        (1, Gen.OneOf(Names).Select(n => (Command)new DeleteAlias(n))));

    [Fact]
    public async Task Any_accepted_command_sequence_recovers_to_the_same_images_and_aliases_after_a_restart()
    {
        var clock = new FakeTimeProvider(Images.Epoch);
        ImageStoreSettings Configure(ImageStoreSettings s) => s with
        {
            Clock = clock,
            EntitySnapshotEvery = 3,
            CatalogSnapshotEvery = 7,
            PassivateIdleAfter = null,
        };
        await using var f = await StoreFixture.StartAsync(Configure);
        var run = 0;

        await GenCommand.Array[1, 12].SampleAsync(
            async commands =>
            {
                run++;
                var images = new List<ImageRecord>();
                for (var i = 0; i < 2; i++)
                {
                    images.Add(await f.Store.ImportAsync(new ImportRequest(new ImageSource.UnifiedFile(f.Unified($"fold-{run}-{i}")))));
                }

                foreach (var command in commands)
                {
                    await RunAsync(f.Store, clock, images, $"r{run}-", command);
                }

                // A use is answered once written; the read model shows it a moment later.
                await f.Store.WaitForReadModelAsync();
                var listedBefore = f.Store.List();
                var aliasesBefore = f.Store.ListAliases();
                var entitiesBefore = await EntityRecordsAsync(f.Store, images);

                await f.RestartAsync(Configure);

                Assert.Equal(listedBefore, f.Store.List());
                Assert.Equal(aliasesBefore, f.Store.ListAliases());
                Assert.Equal(entitiesBefore, await EntityRecordsAsync(f.Store, images));
            },
            iter: 20,
            threads: 1,
            print: c => string.Join("; ", c.Select(x => x.ToString())));
    }

    private static async Task RunAsync(ImageStore store, FakeTimeProvider clock, List<ImageRecord> images, string prefix, Command command)
    {
        var image = images[0].Fingerprint.ToString();
        static Dictionary<string, string> Properties(string[] keys, string value) => keys.ToDictionary(k => k, _ => value);
        try
        {
            switch (command)
            {
                case Put put:
                    await store.UpdateAsync(Default, image, new ImagePut(
                        put.Public,
                        put.AutoUpdate,
                        Properties(put.Keys, "put"),
                        put.ExpiresInDays is { } days ? clock.GetUtcNow().AddDays(days) : default,
                        put.Profiles ? ["default", "gpu"] : null));
                    break;
                case Patch patch:
                    await store.PatchAsync(Default, image, new ImagePatch(patch.Public, null, Properties(patch.Keys, "patched")));
                    break;
                case Use use:
                    clock.Advance(TimeSpan.FromMinutes(use.MinutesLater));
                    await store.MarkUsedAsync(Default, images[0].Fingerprint);
                    break;
                case CreateAlias create:
                    await store.CreateAliasAsync(Default, prefix + create.Name, images[create.Target].Fingerprint.ToString(), "created");
                    break;
                case RetargetAlias retarget:
                    await store.RetargetAliasAsync(Default, prefix + retarget.Name, images[retarget.Target].Fingerprint.ToString(), retarget.Description);
                    break;
                case RenameAlias rename:
                    await store.RenameAliasAsync(Default, prefix + rename.Name, prefix + rename.NewName);
                    break;
                case DeleteAlias delete:
                    await store.DeleteAliasAsync(Default, prefix + delete.Name);
                    break;
            }
        }
        catch (Exception e) when (e is AliasExistsException or AliasNotFoundException)
        {
            // Refused: not an accepted command, and nothing changed.
        }
    }

    // What each entity answers, recovered from the journal when the store was restarted.
    private static async Task<List<ImageRecord>> EntityRecordsAsync(ImageStore store, List<ImageRecord> images)
    {
        var records = new List<ImageRecord>();
        foreach (var image in images)
        {
            records.Add(await store.Context.AskImage<ImageRecord>(Default, image.Fingerprint, new ImageProtocol.Get()));
        }

        return records;
    }
}
