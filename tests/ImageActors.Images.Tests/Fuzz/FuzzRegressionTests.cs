using ImageActors.Fuzz;

namespace ImageActors.Images.Tests.Fuzz;

/// <summary>
/// Replays every committed fuzz input of the images targets (tests/fuzz/corpus and tests/fuzz/regressions) through the
/// code afl-fuzz runs: each must end in success or in the typed error its bad input is meant to end in.
/// </summary>
public sealed class FuzzRegressionTests
{
    public static TheoryData<string, string> Inputs()
    {
        var data = new TheoryData<string, string>();
        foreach (var target in ImagesTargets.All)
        {
            foreach (var input in FuzzInputs.Of(target.Name))
            {
                data.Add(target.Name, input);
            }
        }

        return data;
    }

    [Theory]
    [MemberData(nameof(Inputs))]
    public void A_committed_fuzz_input_ends_in_success_or_a_typed_error(string target, string input) =>
        FuzzInputs.Replay(ImagesTargets.All.Single(t => t.Name == target), input);

    [Fact]
    public void Every_images_fuzz_target_has_committed_seeds() =>
        Assert.All(ImagesTargets.All, target => Assert.Contains(FuzzInputs.Of(target.Name), path => path.StartsWith("corpus", StringComparison.Ordinal)));
}
