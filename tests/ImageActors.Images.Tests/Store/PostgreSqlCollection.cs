namespace ImageActors.Images.Tests.Store;

/// <summary>The test classes that share one throwaway PostgreSQL server.</summary>
[CollectionDefinition(Name)]
public sealed class PostgreSqlCollection : ICollectionFixture<PostgreSqlServer>
{
    public const string Name = "PostgreSQL server";
}
