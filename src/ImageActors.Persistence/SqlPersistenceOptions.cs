namespace ImageActors.Persistence;

/// <summary>Tuning of the journal and snapshot store; every value has a working default.</summary>
public sealed record SqlPersistenceOptions
{
    /// <summary>The defaults.</summary>
    public static SqlPersistenceOptions Default { get; } = new();

    /// <summary>
    /// Use the stock Akka.Persistence.Sql journal and snapshot store as the default plugins instead
    /// of the group-commit ones. Both write the same tables, so either can read the other's rows.
    /// </summary>
    public bool UseStockPlugin { get; init; }

    /// <summary>SQLite only: the <c>synchronous</c> setting of the writer connection.</summary>
    public SqliteSynchronous Synchronous { get; init; } = SqliteSynchronous.Normal;

    /// <summary>The most events one transaction of the journal's writer inserts.</summary>
    public int MaxBatchEvents { get; init; } = 8192;

    /// <summary>
    /// How many writes may wait for the writer; a writer past that waits for room (back-pressure).
    /// </summary>
    public int QueueCapacity { get; init; } = 65536;

    /// <summary>
    /// How many connections serve reads (replays, highest sequence numbers, snapshot loads); the
    /// reads of many recovering actors queue up for them instead of opening a connection each.
    /// </summary>
    public int ReadConnections { get; init; } = 4;

    /// <summary>
    /// How often live queries of <c>SqlReadJournal</c> look for new rows, and how long a query for the events up to
    /// now waits before it asks again when the newest rows were not yet seen (see <see cref="SequenceQueryDelay"/>).
    /// </summary>
    public TimeSpan QueryRefreshInterval { get; init; } = TimeSpan.FromMilliseconds(50);

    /// <summary>
    /// How often <c>SqlReadJournal</c>'s sequence actor reads the newest orderings. A query for the events up to now
    /// (<c>CurrentEventsByTag</c>) returns only once that actor has seen the newest row, so this bounds how long a
    /// read of one's own write waits; Akka.Persistence.Sql's defaults (1 s for both) made every write that its writer reads back take a second.
    /// </summary>
    public TimeSpan SequenceQueryDelay { get; init; } = TimeSpan.FromMilliseconds(50);

    /// <summary>
    /// How long a hole in the orderings is taken for a transaction still in flight before queries go past it (holes
    /// also come from deleted events and rolled-back writes). Null: 1 s on SQLite, where one writer commits at a time
    /// so a hole is never in flight, and 10 s (Akka.Persistence.Sql's default) on PostgreSQL.
    /// </summary>
    public TimeSpan? GapTimeout { get; init; }
}
