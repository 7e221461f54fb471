using Microsoft.Data.Sqlite;
using Npgsql;

namespace ImageActors.Persistence.Database;

/// <summary>
/// Opens the journal's database once before the actor system does, so that a database the plugins cannot open ends
/// the start with one clear error instead of a plugin actor that fails in its constructor (logged, then waited for).
/// </summary>
public static class JournalCheck
{
    // Below this, SQLite cannot create its WAL and shared-memory files, nor commit a page.
    private const long FullDiskThreshold = 1 << 20;

    /// <summary>
    /// Opens <paramref name="connectionString"/> as the plugin would and takes the write lock once.
    /// </summary>
    /// <exception cref="JournalUnavailableException">The database cannot be opened or written.</exception>
    public static async Task EnsureWritableAsync(SqlProvider provider, string connectionString, CancellationToken cancellationToken = default)
    {
        if (provider == SqlProvider.Sqlite)
        {
            CheckSqlite(connectionString);
        }
        else
        {
            await CheckPostgreSqlAsync(connectionString, cancellationToken).ConfigureAwait(false);
        }
    }

    private static void CheckSqlite(string connectionString)
    {
        var path = Path.GetFullPath(new SqliteConnectionStringBuilder(connectionString).DataSource);
        var writer = new SqliteConnectionStringBuilder(connectionString) { DataSource = path, Mode = SqliteOpenMode.ReadWriteCreate, Pooling = false };
        try
        {
            using var connection = new SqliteConnection(writer.ToString());
            connection.Open();
            using var command = connection.CreateCommand();
            command.CommandText = "PRAGMA journal_mode = WAL; BEGIN IMMEDIATE; COMMIT;";
            command.ExecuteNonQuery();
        }
        catch (Exception e) when (e is SqliteException or IOException or UnauthorizedAccessException)
        {
            var folder = Path.GetDirectoryName(path)!;
            var reason = e.Message.TrimEnd('.');
            var next = FreeBytes(folder) is { } free && free < FullDiskThreshold
                ? $"the disk holding it is full ({free} bytes free); free space there (or move the data directory) and start again"
                : $"check that {folder} is writable and that the file is an SQLite database, then start again";
            throw new JournalUnavailableException(path, $"The journal {path} cannot be opened ({reason}); {next}", e);
        }
    }

    private static async Task CheckPostgreSqlAsync(string connectionString, CancellationToken cancellationToken)
    {
        var builder = new NpgsqlConnectionStringBuilder(connectionString);
        var database = $"{builder.Host}:{builder.Port}/{builder.Database}";
        try
        {
            await using var connection = new NpgsqlConnection(connectionString);
            await connection.OpenAsync(cancellationToken).ConfigureAwait(false);
            await using var command = connection.CreateCommand();
            command.CommandText = "SELECT 1";
            await command.ExecuteScalarAsync(cancellationToken).ConfigureAwait(false);
        }
        catch (Exception e) when (e is NpgsqlException or IOException or TimeoutException)
        {
            throw new JournalUnavailableException(
                database,
                $"The journal database {database} cannot be reached ({e.Message.TrimEnd('.')}); check that the PostgreSQL server is running and that persistence.postgresql.connection_string names it, then start again",
                e);
        }
    }

    private static long? FreeBytes(string folder)
    {
        try
        {
            return new DriveInfo(folder).AvailableFreeSpace;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or ArgumentException)
        {
            return null;
        }
    }
}
