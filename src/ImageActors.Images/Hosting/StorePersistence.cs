using Akka.Configuration;
using ImageActors.Persistence;
using ImageActors.Persistence.Database;
using Microsoft.Data.Sqlite;

namespace ImageActors.Images.Hosting;

/// <summary>The database behind the journal and the snapshot store.</summary>
public enum JournalDatabase
{
    /// <summary>A SQLite file (WAL): one node.</summary>
    Sqlite,

    /// <summary>A PostgreSQL database: one node or a cluster.</summary>
    PostgreSql,
}

/// <summary>
/// Where the store's events and snapshots go: Akka.Persistence's journal and snapshot store on SQLite or PostgreSQL,
/// in Akka.Persistence.Sql's tables, which its read journal (<c>akka.persistence.query.journal.sql</c>) queries. The
/// store writes with the group-commit plugin (<see cref="SqlPersistenceConfig"/>); the stock Akka.Persistence.Sql
/// plugin writes the same rows and can be chosen instead.
/// </summary>
/// <param name="Database">SQLite or PostgreSQL.</param>
/// <param name="ConnectionString">The ADO.NET connection string (Microsoft.Data.Sqlite or Npgsql).</param>
public sealed record StorePersistence(JournalDatabase Database, string ConnectionString)
{
    /// <summary>The read journal's configuration path.</summary>
    public const string QueryPluginId = SqlPersistenceConfig.QueryPluginId;

    /// <summary>SQLite's <c>PRAGMA synchronous = FULL</c>: an acknowledged write also survives a power loss.</summary>
    public bool FullSync { get; init; }

    /// <summary>Most events committed in one transaction (<c>persistence.max_batch_size</c>).</summary>
    public int MaxBatchEvents { get; init; } = SqlPersistenceOptions.Default.MaxBatchEvents;

    /// <summary>Writes waiting for the journal before writers wait (<c>persistence.queue_capacity</c>).</summary>
    public int QueueCapacity { get; init; } = SqlPersistenceOptions.Default.QueueCapacity;

    /// <summary>Write with the stock Akka.Persistence.Sql plugin instead of the group-commit one (same tables and rows).</summary>
    public bool StockPlugin { get; init; }

    /// <summary>A SQLite file.</summary>
    public static StorePersistence Sqlite(string path, bool fullSync = false)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        var builder = new SqliteConnectionStringBuilder { DataSource = Path.GetFullPath(path), Pooling = true };
        return new StorePersistence(JournalDatabase.Sqlite, builder.ToString()) { FullSync = fullSync };
    }

    /// <summary>A PostgreSQL database.</summary>
    public static StorePersistence PostgreSql(string connectionString)
    {
        ArgumentException.ThrowIfNullOrEmpty(connectionString);
        return new StorePersistence(JournalDatabase.PostgreSql, connectionString);
    }

    /// <summary>
    /// The journals to start, in order, before the read journal opens: the one the store writes with, then the
    /// stock one the read journal asks whether the tables are ready (one at a time: both create the tables).
    /// </summary>
    internal IReadOnlyList<string> JournalsToStart => StockPlugin
        ? [SqlPersistenceConfig.StockJournalPluginId]
        : [SqlPersistenceConfig.JournalPluginId, SqlPersistenceConfig.StockJournalPluginId];

    /// <summary>
    /// Prepares the database before the actor system opens it: a SQLite file's folder exists, and the database opens
    /// and takes a write, so that one that cannot (a full disk, a server that does not answer) ends the start in one
    /// error naming it.
    /// </summary>
    /// <exception cref="JournalUnavailableException">The database cannot be opened or written.</exception>
    internal async Task PrepareAsync(CancellationToken cancellationToken)
    {
        var provider = Database == JournalDatabase.Sqlite ? SqlProvider.Sqlite : SqlProvider.PostgreSql;
        if (Database == JournalDatabase.Sqlite)
        {
            var builder = new SqliteConnectionStringBuilder(ConnectionString);
            Directory.CreateDirectory(Path.GetDirectoryName(Path.GetFullPath(builder.DataSource))!);
        }

        await JournalCheck.EnsureWritableAsync(provider, ConnectionString, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>The <c>akka.persistence</c> configuration: journal, snapshot store and read journal on this database.</summary>
    internal Config ToConfig() => SqlPersistenceConfig.Create(
        Database == JournalDatabase.Sqlite ? SqlProvider.Sqlite : SqlProvider.PostgreSql,
        ConnectionString,
        new SqlPersistenceOptions
        {
            UseStockPlugin = StockPlugin,
            Synchronous = FullSync ? SqliteSynchronous.Full : SqliteSynchronous.Normal,
            MaxBatchEvents = MaxBatchEvents,
            QueueCapacity = QueueCapacity,
        });
}
