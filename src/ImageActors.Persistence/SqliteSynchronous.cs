namespace ImageActors.Persistence;

/// <summary>
/// SQLite's <c>synchronous</c> setting for the writer connection (WAL mode). Both keep every
/// acknowledged write through a kill of the process; they differ on a power loss or OS crash.
/// </summary>
public enum SqliteSynchronous
{
    /// <summary>The WAL is synced at checkpoints only: a power loss can lose the last commits (the default).</summary>
    Normal,

    /// <summary>The WAL is synced at every commit: nothing acknowledged is lost on a power loss either.</summary>
    Full,
}
