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

    /// <summary>How often live queries of <c>SqlReadJournal</c> look for new rows.</summary>
    public TimeSpan QueryRefreshInterval { get; init; } = TimeSpan.FromSeconds(1);
}
