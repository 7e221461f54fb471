namespace ImageActors.Persistence.Sql.PostgreSql;

/// <summary>Settings of the PostgreSQL journal and snapshot store (clusters).</summary>
/// <param name="ConnectionString">An Npgsql connection string; <c>Search Path</c> selects the schema.</param>
public sealed record PostgreSqlSettings(string ConnectionString);
