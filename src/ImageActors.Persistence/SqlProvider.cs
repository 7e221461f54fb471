namespace ImageActors.Persistence;

/// <summary>The database a journal and snapshot store run on.</summary>
public enum SqlProvider
{
    /// <summary>An embedded SQLite file (WAL mode, one writer connection).</summary>
    Sqlite,

    /// <summary>A PostgreSQL server, through Npgsql.</summary>
    PostgreSql,
}
