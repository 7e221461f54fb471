using Akka.Configuration;
using Akka.Serialization;

namespace ImageActors.Persistence.Tests;

/// <summary>A payload bound to <see cref="FailingSerializer"/>: writing it is rejected.</summary>
public sealed record Unserializable(string Reason);

/// <summary>A serializer that cannot serialize anything.</summary>
public sealed class FailingSerializer(Akka.Actor.ExtendedActorSystem system) : Serializer(system)
{
    public override int Identifier => 7301;

    public override bool IncludeManifest => false;

    public override byte[] ToBinary(object obj) => throw new InvalidOperationException($"{obj} cannot be serialized.");

    public override object FromBinary(byte[] bytes, Type type) => throw new InvalidOperationException("Nothing was serialized.");
}

/// <summary>The configuration every test system runs with, and the databases the specs run on.</summary>
internal static class TestConfig
{
    // serialize-messages stays off here: Akka's own journal plumbing cannot cross nodes and is not
    // marked so (AsyncWriteJournal's Desequenced carries the rejection's exception, the stock
    // SqlWriteJournal sends itself a WriteFinished holding a Task), so with it on both plugins fail.
    public static Config Base { get; } = ConfigurationFactory.ParseString($$"""
        akka.loglevel = WARNING
        akka.actor.serialize-messages = off
        akka.actor.serializers.failing = "{{typeof(FailingSerializer).FullName}}, {{typeof(FailingSerializer).Assembly.GetName().Name}}"
        akka.actor.serialization-bindings { "{{typeof(Unserializable).FullName}}, {{typeof(Unserializable).Assembly.GetName().Name}}" = failing }
        """);

    public static Config Sqlite(TempDirectory directory, bool stock) =>
        Base.WithFallback(SqlPersistenceConfig.Create(SqlProvider.Sqlite, directory.ConnectionString, new SqlPersistenceOptions { UseStockPlugin = stock, QueryRefreshInterval = TimeSpan.FromMilliseconds(100) }));

    public static Config PostgreSql(PostgreSqlServer server, bool stock) =>
        Base.WithFallback(SqlPersistenceConfig.Create(SqlProvider.PostgreSql, server.CreateSchemaAsync().GetAwaiter().GetResult(), new SqlPersistenceOptions { UseStockPlugin = stock, QueryRefreshInterval = TimeSpan.FromMilliseconds(100) }));
}

/// <summary>A temporary directory holding a test's SQLite file; deleted at disposal.</summary>
public sealed class TempDirectory : IDisposable
{
    private readonly DirectoryInfo _directory = Directory.CreateTempSubdirectory("imageactors-persistence-");

    public string DatabasePath => Path.Combine(_directory.FullName, "journal.db");

    public string ConnectionString => $"Data Source={DatabasePath}";

    public void Dispose()
    {
        try
        {
            _directory.Delete(recursive: true);
        }
        catch (IOException)
        {
            // A connection still closing; the directory is under the temp folder anyway.
        }
    }
}
