using System.Globalization;
using System.Text;
using Akka.Configuration;
using Akka.Persistence.Sql;

namespace ImageActors.Persistence;

/// <summary>
/// The Akka configuration of the journal, snapshot store and query plugins on one database.
/// The group-commit plugins and the stock Akka.Persistence.Sql plugins are both configured, on the
/// same tables; <see cref="SqlPersistenceOptions.UseStockPlugin"/> picks which pair is the
/// default. The stock read journal (<c>SqlReadJournal</c>, id <see cref="QueryPluginId"/>) reads
/// the rows of either.
/// </summary>
public static class SqlPersistenceConfig
{
    /// <summary>The group-commit journal plugin.</summary>
    public const string JournalPluginId = "akka.persistence.journal.imageactors-sql";

    /// <summary>The snapshot store plugin that goes with <see cref="JournalPluginId"/>.</summary>
    public const string SnapshotStorePluginId = "akka.persistence.snapshot-store.imageactors-sql";

    /// <summary>The stock Akka.Persistence.Sql journal on the same database.</summary>
    public const string StockJournalPluginId = "akka.persistence.journal.sql";

    /// <summary>The stock Akka.Persistence.Sql snapshot store on the same database.</summary>
    public const string StockSnapshotStorePluginId = "akka.persistence.snapshot-store.sql";

    /// <summary>The stock read journal (<c>SqlReadJournal</c>) on the same database.</summary>
    public const string QueryPluginId = "akka.persistence.query.journal.sql";

    /// <summary>
    /// The configuration for <paramref name="provider"/> at <paramref name="connectionString"/>
    /// (SQLite: <c>Data Source=PATH</c>; PostgreSQL: an Npgsql connection string), with the stock
    /// plugins' reference configuration as fallback. Put it under the application's own
    /// configuration or pass it to <c>ActorSystem.Create</c>.
    /// </summary>
    public static Config Create(SqlProvider provider, string connectionString, SqlPersistenceOptions? options = null)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(connectionString);
        options ??= SqlPersistenceOptions.Default;
        var stockProvider = provider switch
        {
            SqlProvider.Sqlite => "SQLite.MS",
            SqlProvider.PostgreSql => "PostgreSQL.15",
            _ => throw new ArgumentOutOfRangeException(nameof(provider), provider, "Unknown SQL provider."),
        };
        var cs = Quote(connectionString);
        var ours = PluginSettings.ProviderName(provider);
        var journal = options.UseStockPlugin ? StockJournalPluginId : JournalPluginId;
        var snapshots = options.UseStockPlugin ? StockSnapshotStorePluginId : SnapshotStorePluginId;
        var refresh = string.Create(CultureInfo.InvariantCulture, $"{Math.Max(1, (long)options.QueryRefreshInterval.TotalMilliseconds)}ms");
        var sequenceDelay = options.SequenceQueryDelay > TimeSpan.Zero ? options.SequenceQueryDelay : TimeSpan.FromMilliseconds(50);
        var gapTimeout = options.GapTimeout ?? (provider == SqlProvider.Sqlite ? TimeSpan.FromSeconds(1) : TimeSpan.FromSeconds(10));
        var sequenceTries = Math.Max(1, (long)Math.Ceiling(gapTimeout / sequenceDelay));
        var sequenceDelayText = string.Create(CultureInfo.InvariantCulture, $"{Math.Max(1, (long)sequenceDelay.TotalMilliseconds)}ms");
        var synchronous = options.Synchronous == SqliteSynchronous.Full ? "full" : "normal";
        var text = string.Create(CultureInfo.InvariantCulture, $$"""
            akka.persistence {
              journal {
                plugin = "{{journal}}"
                imageactors-sql {
                  class = "{{typeof(GroupCommitJournal).AssemblyQualifiedNameWithoutVersion()}}"
                  plugin-dispatcher = "akka.actor.default-dispatcher"
                  provider = {{ours}}
                  connection-string = {{cs}}
                  synchronous = {{synchronous}}
                  max-batch-events = {{options.MaxBatchEvents}}
                  queue-capacity = {{options.QueueCapacity}}
                  read-connections = {{options.ReadConnections}}
                }
                sql {
                  connection-string = {{cs}}
                  provider-name = "{{stockProvider}}"
                }
              }
              snapshot-store {
                plugin = "{{snapshots}}"
                imageactors-sql {
                  class = "{{typeof(SqlSnapshotStore).AssemblyQualifiedNameWithoutVersion()}}"
                  plugin-dispatcher = "akka.actor.default-dispatcher"
                  provider = {{ours}}
                  connection-string = {{cs}}
                  synchronous = {{synchronous}}
                  read-connections = {{options.ReadConnections}}
                }
                sql {
                  connection-string = {{cs}}
                  provider-name = "{{stockProvider}}"
                }
              }
              query.journal.sql {
                connection-string = {{cs}}
                provider-name = "{{stockProvider}}"
                write-plugin = "{{StockJournalPluginId}}"
                refresh-interval = {{refresh}}
                journal-sequence-retrieval {
                  query-delay = {{sequenceDelayText}}
                  max-tries = {{sequenceTries}}
                }
              }
            }
            """);
        return ConfigurationFactory.ParseString(text).WithFallback(SqlPersistence.DefaultConfiguration);
    }

    private static string AssemblyQualifiedNameWithoutVersion(this Type type) => $"{type.FullName}, {type.Assembly.GetName().Name}";

    /// <summary>A HOCON quoted string.</summary>
    private static string Quote(string value)
    {
        var builder = new StringBuilder(value.Length + 2).Append('"');
        foreach (var c in value)
        {
            _ = c switch
            {
                '"' => builder.Append("\\\""),
                '\\' => builder.Append("\\\\"),
                '\n' => builder.Append("\\n"),
                '\r' => builder.Append("\\r"),
                '\t' => builder.Append("\\t"),
                _ => builder.Append(c),
            };
        }

        return builder.Append('"').ToString();
    }
}
