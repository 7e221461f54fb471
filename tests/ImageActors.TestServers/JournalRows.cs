using Microsoft.Data.Sqlite;

namespace ImageActors.TestServers;

/// <summary>Reads a store's SQLite journal as an operator would (read-only, beside the running store).</summary>
public static class JournalRows
{
    /// <summary>The rows of <paramref name="table"/> (<c>journal</c> or <c>snapshot</c>) that belong to <paramref name="persistenceId"/>.</summary>
    public static long Count(string journalPath, string table, string persistenceId)
    {
        if (table is not ("journal" or "snapshot"))
        {
            throw new ArgumentException($"'{table}' is not a table of the journal", nameof(table));
        }

        using var connection = new SqliteConnection(new SqliteConnectionStringBuilder { DataSource = journalPath, Mode = SqliteOpenMode.ReadOnly, Pooling = false }.ToString());
        connection.Open();
        using var command = connection.CreateCommand();
        command.CommandText = $"SELECT COUNT(*) FROM {table} WHERE persistence_id = $pid";
        command.Parameters.AddWithValue("$pid", persistenceId);
        return (long)command.ExecuteScalar()!;
    }
}
