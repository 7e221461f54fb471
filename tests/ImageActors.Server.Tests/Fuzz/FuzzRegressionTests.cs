using ImageActors.Fuzz;

namespace ImageActors.Server.Tests.Fuzz;

/// <summary>
/// Replays every committed fuzz input of the server targets (tests/fuzz/corpus and tests/fuzz/regressions) through the
/// code afl-fuzz runs: each must end in success or in an error the server answers with a clear status.
/// </summary>
public sealed class FuzzRegressionTests
{
    public static IEnumerable<object[]> Inputs() => FuzzInputs.Cases(ServerTargets.All);

    [Theory]
    [MemberData(nameof(Inputs))]
    public void A_committed_fuzz_input_ends_in_success_or_a_typed_error(string target, string input) =>
        FuzzInputs.Replay(ServerTargets.All, target, input);

    [Fact]
    public void Every_server_fuzz_target_has_committed_seeds() => Assert.All(ServerTargets.All, target => Assert.True(FuzzInputs.HasSeeds(target), target.Name));
}
