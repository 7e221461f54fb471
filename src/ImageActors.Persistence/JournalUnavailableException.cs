namespace ImageActors.Persistence;

/// <summary>
/// The journal's database cannot be opened or written at start (a full disk, a read-only folder, a PostgreSQL server
/// that does not answer): the store does not start, and the message says which database and what to do.
/// </summary>
public sealed class JournalUnavailableException : Exception
{
    /// <summary>Creates the exception for <paramref name="database"/> (a file path, or PostgreSQL's host and database).</summary>
    public JournalUnavailableException(string database, string message, Exception? inner = null)
        : base(message, inner)
    {
        Database = database;
    }

    /// <summary>The database that could not be opened: a SQLite file's path, or <c>host:port/database</c>.</summary>
    public string Database { get; }
}
