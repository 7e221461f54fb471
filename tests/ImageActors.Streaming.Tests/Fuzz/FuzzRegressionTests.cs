using ImageActors.Fuzz;

namespace ImageActors.Streaming.Tests.Fuzz;

/// <summary>
/// Replays every committed fuzz input of the streaming targets (tests/fuzz/corpus and tests/fuzz/regressions) through the
/// code afl-fuzz runs: each must end in success or in the typed error its bad input is meant to end in.
/// </summary>
public sealed class FuzzRegressionTests
{
    public static IEnumerable<object[]> Inputs() => FuzzInputs.Cases(StreamingTargets.All);

    [Theory]
    [MemberData(nameof(Inputs))]
    public void A_committed_fuzz_input_ends_in_success_or_a_typed_error(string target, string input) =>
        FuzzInputs.Replay(StreamingTargets.All, target, input);

    [Fact]
    public void Every_streaming_fuzz_target_has_committed_seeds() => Assert.All(StreamingTargets.All, target => Assert.True(FuzzInputs.HasSeeds(target), target.Name));
}
