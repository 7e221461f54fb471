using CsCheck;
using ImageActors.Images.Domain;
using ImageActors.Images.Tests.Store;

namespace ImageActors.Images.Tests.Properties;

/// <summary>
/// Alias changes issued at once through the store (create, retarget, rename, delete, and a delete of an image they may
/// name) end as some one-at-a-time order of them would: a model replays every order of the operations and one must
/// give each operation the outcome it had (done or refused) and the aliases the store shows. Every alias names an
/// image that is still there.
/// </summary>
public sealed class AliasInterleavingProperties
{
    private static readonly ProjectName Default = ProjectName.Default;
    private static readonly string[] Names = ["a", "b", "c"];

    // Images 0 and 1 stay; image 2 is imported for each run and may be deleted by one of its operations.
    private const int Doomed = 2;

    private abstract record Op;

    private sealed record Create(string Name, int Target) : Op;

    private sealed record Retarget(string Name, int Target) : Op;

    private sealed record Rename(string Name, string NewName) : Op;

    private sealed record Delete(string Name) : Op;

    private sealed record DeleteImage : Op;

    /// <summary>The aliases (name → image) and whether the doomed image is still there.</summary>
    private sealed record Model(IReadOnlyDictionary<string, int> Aliases, bool DoomedPresent)
    {
        public bool Present(int image) => image != Doomed || DoomedPresent;

        /// <summary>Applies <paramref name="op"/>: whether it is done, and the state after it.</summary>
        public (bool Done, Model After) Apply(Op op)
        {
            var aliases = new Dictionary<string, int>(Aliases);
            switch (op)
            {
                case Create c:
                    if (!Present(c.Target))
                    {
                        return (false, this);
                    }

                    if (aliases.TryGetValue(c.Name, out var existing))
                    {
                        return (existing == c.Target, this);
                    }

                    aliases[c.Name] = c.Target;
                    return (true, this with { Aliases = aliases });
                case Retarget r:
                    if (!aliases.ContainsKey(r.Name) || !Present(r.Target))
                    {
                        return (false, this);
                    }

                    aliases[r.Name] = r.Target;
                    return (true, this with { Aliases = aliases });
                case Rename r:
                    if (!aliases.TryGetValue(r.Name, out var target))
                    {
                        return (false, this);
                    }

                    if (r.NewName == r.Name)
                    {
                        return (true, this);
                    }

                    if (aliases.TryGetValue(r.NewName, out var taken) && taken != target)
                    {
                        return (false, this);
                    }

                    aliases.Remove(r.Name);
                    aliases[r.NewName] = target;
                    return (true, this with { Aliases = aliases });
                case Delete d:
                    return aliases.Remove(d.Name) ? (true, this with { Aliases = aliases }) : (false, this);
                case DeleteImage:
                    if (!DoomedPresent)
                    {
                        return (false, this);
                    }

                    foreach (var name in aliases.Where(a => a.Value == Doomed).Select(a => a.Key).ToList())
                    {
                        aliases.Remove(name);
                    }

                    return (true, new Model(aliases, false));
                default:
                    throw new InvalidOperationException(op.ToString());
            }
        }
    }

    private static readonly Gen<Op> GenOp = Gen.Frequency(
        (3, Gen.Select(Gen.OneOf(Names), Gen.Int[0, 2], (n, t) => (Op)new Create(n, t))),
        (2, Gen.Select(Gen.OneOf(Names), Gen.Int[0, 2], (n, t) => (Op)new Retarget(n, t))),
        (3, Gen.Select(Gen.OneOf(Names), Gen.OneOf(Names), (n, m) => (Op)new Rename(n, m))),
        (2, Gen.OneOf(Names).Select(n => (Op)new Delete(n))),
        (1, Gen.Const((Op)new DeleteImage())));

    // The aliases before the operations: each name absent or naming one of the three images.
    private static readonly Gen<int?[]> GenStart = Gen.Int[-1, 2].Select(t => t < 0 ? (int?)null : t).Array[Names.Length];

    [Fact]
    public async Task Concurrent_alias_changes_end_as_some_serial_order_of_them_would_and_every_alias_names_a_present_image()
    {
        await using var f = await StoreFixture.StartAsync(s => s with { PassivateIdleAfter = null });
        var kept = new List<ImageRecord>();
        for (var i = 0; i < 2; i++)
        {
            kept.Add(await f.Store.ImportAsync(new ImportRequest(new ImageSource.UnifiedFile(f.Unified($"kept-{i}")))));
        }

        var run = 0;
        await Gen.Select(GenStart, GenOp.Array[2, 4]).SampleAsync(
            async (start, ops) =>
            {
                run++;
                var prefix = $"r{run}-";
                var doomed = await f.Store.ImportAsync(new ImportRequest(new ImageSource.UnifiedFile(f.Unified($"doomed-{run}"))));
                List<ImageRecord> images = [.. kept, doomed];
                var initial = new Dictionary<string, int>();
                for (var n = 0; n < Names.Length; n++)
                {
                    if (start[n] is { } target)
                    {
                        await f.Store.CreateAliasAsync(Default, prefix + Names[n], images[target].Fingerprint.ToString());
                        initial[Names[n]] = target;
                    }
                }

                var outcomes = await Task.WhenAll(ops.Select(op => Task.Run(() => RunAsync(f.Store, images, prefix, op))));
                await f.Store.WaitForReadModelAsync();

                var present = f.Store.List(Default).Select(i => i.Fingerprint).ToHashSet();
                var aliases = f.Store.ListAliases(Default).Where(a => a.Name.Value.StartsWith(prefix, StringComparison.Ordinal)).ToList();
                Assert.All(aliases, a => Assert.Contains(a.Target, present));
                var observed = new Model(
                    aliases.ToDictionary(a => a.Name.Value[prefix.Length..], a => images.FindIndex(i => i.Fingerprint == a.Target)),
                    present.Contains(doomed.Fingerprint));

                var explained = Permutations(ops.Length).Any(order =>
                {
                    var model = new Model(initial, true);
                    foreach (var index in order)
                    {
                        var (done, after) = model.Apply(ops[index]);
                        if (done != outcomes[index])
                        {
                            return false;
                        }

                        model = after;
                    }

                    return model.DoomedPresent == observed.DoomedPresent &&
                        model.Aliases.Count == observed.Aliases.Count &&
                        model.Aliases.All(a => observed.Aliases.TryGetValue(a.Key, out var t) && t == a.Value);
                });
                Assert.True(explained, $"no serial order explains outcomes [{string.Join(", ", outcomes)}] ending in [{string.Join(", ", observed.Aliases.Select(a => $"{a.Key}→{a.Value}"))}], image 2 {(observed.DoomedPresent ? "present" : "gone")}");
            },
            iter: 25,
            threads: 1,
            print: t => $"start [{string.Join(", ", t.Item1.Select((s, i) => $"{Names[i]}→{(s is { } v ? v.ToString(System.Globalization.CultureInfo.InvariantCulture) : "-")}"))}], ops [{string.Join("; ", t.Item2.AsEnumerable())}]");
    }

    // Whether the store did the operation (true) or refused it with a user's error (false); anything else fails the test.
    private static async Task<bool> RunAsync(ImageStore store, List<ImageRecord> images, string prefix, Op op)
    {
        try
        {
            switch (op)
            {
                case Create c:
                    await store.CreateAliasAsync(Default, prefix + c.Name, images[c.Target].Fingerprint.ToString());
                    break;
                case Retarget r:
                    await store.RetargetAliasAsync(Default, prefix + r.Name, images[r.Target].Fingerprint.ToString());
                    break;
                case Rename r:
                    await store.RenameAliasAsync(Default, prefix + r.Name, prefix + r.NewName);
                    break;
                case Delete d:
                    await store.DeleteAliasAsync(Default, prefix + d.Name);
                    break;
                case DeleteImage:
                    await store.DeleteAsync(Default, images[Doomed].Fingerprint.ToString());
                    break;
            }

            return true;
        }
        catch (Exception e) when (e is AliasExistsException or AliasNotFoundException or ImageNotFoundException)
        {
            return false;
        }
    }

    private static IEnumerable<int[]> Permutations(int count)
    {
        if (count == 0)
        {
            yield return [];
            yield break;
        }

        foreach (var rest in Permutations(count - 1))
        {
            for (var at = 0; at <= rest.Length; at++)
            {
                yield return [.. rest[..at], count - 1, .. rest[at..]];
            }
        }
    }
}
