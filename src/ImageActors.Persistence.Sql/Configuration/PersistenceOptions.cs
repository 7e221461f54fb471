using ImageActors.Actors.Configuration;

namespace ImageActors.Persistence.Sql.Configuration;

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
            "persistence.sqlite.synchronous", "normal", "SQLite PRAGMA synchronous in WAL mode: off, normal or full", "off", "normal", "full", "extra");

        /// <summary><c>persistence.postgresql.connection_string</c>.</summary>
        public static ConfigKey PostgreSqlConnectionString { get; } = ConfigKey.Text(
            "persistence.postgresql.connection_string", null, "Npgsql connection string; required when plugin = postgresql");

        /// <summary><c>persistence.max_batch_size</c>.</summary>
        public static ConfigKey MaxBatchSize { get; } = ConfigKey.Integer(
            "persistence.max_batch_size", 100, "most writes committed together in one transaction (group commit)", 1, 100_000);

        /// <summary><c>persistence.queue_capacity</c>.</summary>
        public static ConfigKey QueueCapacity { get; } = ConfigKey.Integer(
            "persistence.queue_capacity", 10_000, "writes waiting for the journal before writers are made to wait", 1);
    }

    /// <summary>The schema section of these keys.</summary>
    public static ConfigSection Section { get; } = new("persistence",
        [Keys.Plugin, Keys.SqlitePath, Keys.SqliteSynchronous, Keys.PostgreSqlConnectionString, Keys.MaxBatchSize, Keys.QueueCapacity]);

    /// <summary><c>sqlite</c> or <c>postgresql</c>.</summary>
    public string Plugin { get; init; } = "sqlite";

    /// <summary>The SQLite database file.</summary>
    public string SqlitePath { get; init; } = Path.Combine("./data", "journal.db");

    /// <summary>SQLite's <c>PRAGMA synchronous</c> value.</summary>
    public string SqliteSynchronous { get; init; } = "normal";

    /// <summary>The PostgreSQL connection string, when the plugin is PostgreSQL.</summary>
    public string? PostgreSqlConnectionString { get; init; }

    /// <summary>The most writes committed in one transaction.</summary>
    public int MaxBatchSize { get; init; } = 100;

    /// <summary>How many writes may wait for the journal.</summary>
    public int QueueCapacity { get; init; } = 10_000;

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
            SqliteSynchronous = config.GetString(Keys.SqliteSynchronous)!,
            PostgreSqlConnectionString = connectionString,
            MaxBatchSize = config.GetInt(Keys.MaxBatchSize),
            QueueCapacity = config.GetInt(Keys.QueueCapacity),
        };
    }
}
