namespace ImageActors.Persistence.Sql;

/// <summary>How the group-commit writer of a <see cref="SqlJournal"/> behaves.</summary>
public sealed record JournalSettings
{
    /// <summary>The default settings.</summary>
    public static JournalSettings Default { get; } = new();

    /// <summary>
    /// How many atomic writes may wait for the writer before <see cref="SqlJournal.WriteAsync"/>
    /// waits too (back-pressure). Everything queued is taken into the next batch.
    /// </summary>
    public int QueueCapacity { get; init; } = 65_536;

    /// <summary>
    /// The most events one transaction takes. Batches grow with the load up to this size: large
    /// commits are what make the unique index cheap per event.
    /// </summary>
    public int MaxBatchEvents { get; init; } = 100_000;

    /// <summary>
    /// The longest a batch waits for more writes, under load only (the previous batch held several
    /// writes): it takes and inserts writes as they arrive and commits as soon as it holds as many
    /// writes as the previous batch, or once it has waited this long in all. It lets the writers
    /// just acknowledged queue their next write into the same batch; a lone writer never waits;
    /// zero turns it off.
    /// </summary>
    public TimeSpan CommitDelay { get; init; } = TimeSpan.FromMilliseconds(1);
}
