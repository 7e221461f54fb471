using ImageActors.Images.Hosting;

namespace ImageActors.Images.Configuration;

/// <summary>Which journal to use (SQLite or PostgreSQL), how to reach it, and how writes are batched.</summary>
public sealed record PersistenceOptions
{
    /// <summary>The keys this class reads.</summary>
    public static class Keys
    {
        /// <summary><c>persistence.plugin</c>.</summary>
        public static ConfigKey Plugin { get; } = ConfigKey.OneOf(
            "persistence.plugin", "sqlite", "journal and snapshot store: sqlite (one node) or postgresql (cluster)", "sqlite", "postgresql");

        /// <summary><c>persistence.sqlite.path</c>.</summary>
        public static ConfigKey SqlitePath { get; } = ConfigKey.Text(
            "persistence.sqlite.path", null, "SQLite database file (unset = <data_dir>/journal.db)");

        /// <summary><c>persistence.sqlite.synchronous</c>.</summary>
        public static ConfigKey SqliteSynchronous { get; } = ConfigKey.OneOf(
            "persistence.sqlite.synchronous", "normal", "SQLite PRAGMA synchronous in WAL mode: normal (survives a process crash) or full (also a power loss)", "normal", "full");

        /// <summary><c>persistence.postgresql.connection_string</c>.</summary>
        public static ConfigKey PostgreSqlConnectionString { get; } = ConfigKey.ConnectionString(
            "persistence.postgresql.connection_string", "Npgsql connection string; required when plugin = postgresql", "IMAGEACTORS_POSTGRESQL");

        /// <summary><c>persistence.max_batch_size</c>.</summary>
        public static ConfigKey MaxBatchSize { get; } = ConfigKey.Integer(
            "persistence.max_batch_size", 100_000, "most events committed together in one transaction (group commit)", 1, 10_000_000);

        /// <summary><c>persistence.queue_capacity</c>.</summary>
        public static ConfigKey QueueCapacity { get; } = ConfigKey.Integer(
            "persistence.queue_capacity", 65_536, "atomic writes waiting for the journal before writers are made to wait (back-pressure)", 1);

        /// <summary><c>persistence.snapshot_every</c>.</summary>
        public static ConfigKey SnapshotEvery { get; } = ConfigKey.Integer(
            "persistence.snapshot_every", 50, "events of one image or alias between two of its snapshots; the events a snapshot covers are then deleted", 1, 1_000_000);

        /// <summary><c>persistence.read_model_snapshot_every</c>.</summary>
        public static ConfigKey ReadModelSnapshotEvery { get; } = ConfigKey.Integer(
            "persistence.read_model_snapshot_every", 10_000, "events between two snapshots of the read model (events are deleted only once it has them too)", 1, 100_000_000);
    }

    /// <summary>The schema section of these keys.</summary>
    public static ConfigSection Section { get; } = new("persistence",
        [Keys.Plugin, Keys.SqlitePath, Keys.SqliteSynchronous, Keys.PostgreSqlConnectionString, Keys.MaxBatchSize, Keys.QueueCapacity, Keys.SnapshotEvery, Keys.ReadModelSnapshotEvery]);

    /// <summary><c>sqlite</c> or <c>postgresql</c>.</summary>
    public string Plugin { get; init; } = "sqlite";

    /// <summary>The SQLite database file.</summary>
    public string SqlitePath { get; init; } = Path.Combine("./data", "journal.db");

    /// <summary>SQLite's <c>PRAGMA synchronous = FULL</c>: an acknowledged write also survives a power loss (else a process crash).</summary>
    public bool SqliteFullSync { get; init; }

    /// <summary>The PostgreSQL connection string, when the plugin is PostgreSQL.</summary>
    public string? PostgreSqlConnectionString { get; init; }

    /// <summary>The most events committed in one transaction.</summary>
    public int MaxBatchSize { get; init; } = 100_000;

    /// <summary>How many writes may wait for the journal.</summary>
    public int QueueCapacity { get; init; } = 65_536;

    /// <summary>Events of one image or alias between two of its snapshots.</summary>
    public int SnapshotEvery { get; init; } = 50;

    /// <summary>Events between two snapshots of the read model.</summary>
    public int ReadModelSnapshotEvery { get; init; } = 10_000;

    /// <summary>The journal and snapshot store these options name.</summary>
    /// <exception cref="InvalidOperationException">PostgreSQL without a connection string.</exception>
    public StorePersistence ToStorePersistence() => Plugin == "postgresql"
        ? StorePersistence.PostgreSql(PostgreSqlConnectionString ?? throw new InvalidOperationException("persistence.postgresql.connection_string is not set")) with { MaxBatchEvents = MaxBatchSize, QueueCapacity = QueueCapacity }
        : StorePersistence.Sqlite(SqlitePath, SqliteFullSync) with { MaxBatchEvents = MaxBatchSize, QueueCapacity = QueueCapacity };

    /// <summary>Reads and checks the keys; absent keys take their defaults.</summary>
    /// <exception cref="ConfigurationException">A value is invalid, or PostgreSQL is chosen without a connection string.</exception>
    public static PersistenceOptions Bind(HoconConfig config)
    {
        var plugin = config.GetString(Keys.Plugin)!;
        var connectionString = config.GetString(Keys.PostgreSqlConnectionString);
        if (plugin == "postgresql" && string.IsNullOrWhiteSpace(connectionString))
        {
            var origin = config.GetValue(Keys.Plugin.Path)?.Origin ?? ConfigOrigin.BuiltInDefault;
            throw new ConfigurationException(new ConfigurationError(
                Keys.PostgreSqlConnectionString.Path, origin, "must be set when persistence.plugin = postgresql"));
        }

        return new PersistenceOptions
        {
            Plugin = plugin,
            SqlitePath = config.GetString(Keys.SqlitePath) ?? Path.Combine(NodeOptions.Bind(config).DataDirectory, "journal.db"),
            SqliteFullSync = config.GetString(Keys.SqliteSynchronous) == "full",
            PostgreSqlConnectionString = connectionString,
            MaxBatchSize = config.GetInt(Keys.MaxBatchSize),
            QueueCapacity = config.GetInt(Keys.QueueCapacity),
            SnapshotEvery = config.GetInt(Keys.SnapshotEvery),
            ReadModelSnapshotEvery = config.GetInt(Keys.ReadModelSnapshotEvery),
        };
    }
}
