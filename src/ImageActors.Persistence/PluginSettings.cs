using Akka.Configuration;

namespace ImageActors.Persistence;

/// <summary>The settings of a plugin block (<c>provider</c>, <c>connection-string</c>, …), checked at start.</summary>
internal sealed record PluginSettings(SqlProvider Provider, string ConnectionString, SqliteSynchronous Synchronous, int MaxBatchEvents, int QueueCapacity, int ReadConnections)
{
    public static string ProviderName(SqlProvider provider) => provider == SqlProvider.Sqlite ? "sqlite" : "postgresql";

    public static PluginSettings From(Config config, string path)
    {
        var providerText = config.GetString("provider", "");
        var provider = providerText.ToLowerInvariant() switch
        {
            "sqlite" => SqlProvider.Sqlite,
            "postgresql" or "postgres" => SqlProvider.PostgreSql,
            _ => throw new ConfigurationException($"{path}.provider is '{providerText}': set it to sqlite or postgresql."),
        };
        var connectionString = config.GetString("connection-string", "");
        if (string.IsNullOrWhiteSpace(connectionString))
        {
            throw new ConfigurationException($"{path}.connection-string is empty: set it to the database's connection string (SQLite: \"Data Source=PATH\").");
        }

        var synchronousText = config.GetString("synchronous", "normal");
        var synchronous = synchronousText.ToLowerInvariant() switch
        {
            "normal" => SqliteSynchronous.Normal,
            "full" => SqliteSynchronous.Full,
            _ => throw new ConfigurationException($"{path}.synchronous is '{synchronousText}': set it to normal or full."),
        };
        var defaults = SqlPersistenceOptions.Default;
        return new PluginSettings(
            provider,
            connectionString,
            synchronous,
            Positive(config, path, "max-batch-events", defaults.MaxBatchEvents),
            Positive(config, path, "queue-capacity", defaults.QueueCapacity),
            Positive(config, path, "read-connections", defaults.ReadConnections));
    }

    private static int Positive(Config config, string path, string key, int fallback)
    {
        var value = config.GetInt(key, fallback);
        return value >= 1 ? value : throw new ConfigurationException($"{path}.{key} is {value}: set it to 1 or more.");
    }
}
