namespace ImageActors.Persistence.Sql.Sqlite;

/// <summary>
/// SQLite's <c>PRAGMA synchronous</c> in WAL mode, i.e. what an acknowledged commit survives.
/// </summary>
public enum SqliteSynchronous
{
    /// <summary>
    /// A commit is in the WAL file (in the OS page cache) when acknowledged; the WAL is fsynced at
    /// checkpoints only. Survives the process being killed (SIGKILL, crash): nothing acknowledged
    /// is lost. A power loss or kernel crash can lose the last commits since the last checkpoint
    /// (the database stays consistent, it just goes back in time).
    /// </summary>
    Normal,

    /// <summary>
    /// The WAL is fsynced at every commit before it is acknowledged: survives a power loss too,
    /// at the cost of one fsync per batch (group commit keeps that to one per batch, not per event).
    /// </summary>
    Full,
}

/// <summary>Settings of the embedded SQLite journal and snapshot store.</summary>
/// <param name="DatabasePath">The database file, e.g. <c>&lt;data&gt;/journal.db</c>.</param>
public sealed record SqliteSettings(string DatabasePath)
{
    /// <summary>What an acknowledged write survives; see <see cref="SqliteSynchronous"/>.</summary>
    public SqliteSynchronous Synchronous { get; init; } = SqliteSynchronous.Normal;

    /// <summary>
    /// WAL size in pages that triggers a checkpoint (SQLite's default is 1,000). A larger WAL lets
    /// the index pages that every batch rewrites be copied back once per checkpoint, not once per batch.
    /// </summary>
    public int WalAutoCheckpointPages { get; init; } = 16_384;

    /// <summary>How long a connection waits for a lock held by another process before failing.</summary>
    public TimeSpan BusyTimeout { get; init; } = TimeSpan.FromSeconds(10);
}
