using Akka.Actor;
using Akka.Configuration;
using Akka.Persistence;
using Xunit.Abstractions;

namespace ImageActors.Persistence.Tests;

/// <summary>
/// What every snapshot store plugin must do, checked through its protocol with probes.
/// Subclasses only supply the configuration (plugin × database).
/// </summary>
public abstract class SnapshotStoreSpec : Akka.TestKit.Xunit2.TestKit
{
    private static readonly TimeSpan Deadline = TimeSpan.FromSeconds(20);
    private static readonly DateTime Epoch = new(2026, 1, 1, 0, 0, 0, DateTimeKind.Utc);
    private readonly string _pid = $"s-{Guid.NewGuid():N}";

    protected SnapshotStoreSpec(Config config, ITestOutputHelper output)
        : base(config, "snapshot-spec", output)
    {
    }

    private IActorRef Store => Akka.Persistence.Persistence.Instance.Apply(Sys).SnapshotStoreFor(null);

    [Fact]
    public void The_latest_snapshot_is_loaded()
    {
        SaveThree();
        var loaded = Load(SnapshotSelectionCriteria.Latest);
        Assert.NotNull(loaded);
        Assert.Equal(3, loaded.Metadata.SequenceNr);
        Assert.Equal("state-3", loaded.Snapshot);
        Assert.Equal(_pid, loaded.Metadata.PersistenceId);
        Assert.Equal(Epoch.AddMinutes(3).Ticks, loaded.Metadata.Timestamp.Ticks);
    }

    [Fact]
    public void Loading_honours_the_highest_sequence_number_and_timestamp_of_the_criteria()
    {
        SaveThree();
        Assert.Equal(2, Load(new SnapshotSelectionCriteria(2))?.Metadata.SequenceNr);
        Assert.Equal(1, Load(new SnapshotSelectionCriteria(long.MaxValue, Epoch.AddMinutes(1.5)))?.Metadata.SequenceNr);
        Assert.Null(Load(new SnapshotSelectionCriteria(long.MaxValue, Epoch)));
    }

    [Fact]
    public void No_snapshot_of_an_unknown_id_loads_as_none()
    {
        Assert.Null(Load(SnapshotSelectionCriteria.Latest));
    }

    [Fact]
    public void A_deleted_snapshot_is_not_loaded_and_the_others_stay()
    {
        SaveThree();
        var probe = CreateTestProbe();
        Store.Tell(new DeleteSnapshot(new SnapshotMetadata(_pid, 2, Epoch.AddMinutes(2))), probe.Ref);
        probe.ExpectMsg<DeleteSnapshotSuccess>(Deadline);
        Assert.Equal(1, Load(new SnapshotSelectionCriteria(2))?.Metadata.SequenceNr);
        Assert.Equal(3, Load(SnapshotSelectionCriteria.Latest)?.Metadata.SequenceNr);
    }

    [Fact]
    public void Deleting_by_criteria_removes_every_snapshot_they_select()
    {
        SaveThree();
        var probe = CreateTestProbe();
        Store.Tell(new DeleteSnapshots(_pid, new SnapshotSelectionCriteria(2)), probe.Ref);
        probe.ExpectMsg<DeleteSnapshotsSuccess>(Deadline);
        Assert.Null(Load(new SnapshotSelectionCriteria(2)));
        Assert.Equal(3, Load(SnapshotSelectionCriteria.Latest)?.Metadata.SequenceNr);

        Store.Tell(new DeleteSnapshots(_pid, SnapshotSelectionCriteria.Latest), probe.Ref);
        probe.ExpectMsg<DeleteSnapshotsSuccess>(Deadline);
        Assert.Null(Load(SnapshotSelectionCriteria.Latest));
    }

    [Fact]
    public void Saving_a_snapshot_again_at_the_same_sequence_number_replaces_it()
    {
        Save(1, "first", Epoch);
        Save(1, "second", Epoch.AddMinutes(1));
        Assert.Equal("second", Load(SnapshotSelectionCriteria.Latest)?.Snapshot);
    }

    private void SaveThree()
    {
        for (var i = 1; i <= 3; i++)
        {
            Save(i, $"state-{i}", Epoch.AddMinutes(i));
        }
    }

    private void Save(long seq, object state, DateTime timestamp)
    {
        var probe = CreateTestProbe();
        Store.Tell(new SaveSnapshot(new SnapshotMetadata(_pid, seq, timestamp), state), probe.Ref);
        Assert.Equal(seq, probe.ExpectMsg<SaveSnapshotSuccess>(Deadline).Metadata.SequenceNr);
    }

    private SelectedSnapshot? Load(SnapshotSelectionCriteria criteria)
    {
        var probe = CreateTestProbe();
        Store.Tell(new LoadSnapshot(_pid, criteria, long.MaxValue), probe.Ref);
        return probe.ExpectMsg<LoadSnapshotResult>(Deadline).Snapshot;
    }
}
