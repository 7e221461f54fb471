using ImageActors.Persistence.Tests.PostgreSql;
using Xunit.Abstractions;

namespace ImageActors.Persistence.Tests;

public sealed class GroupCommitJournalOnSqliteSpec(ITestOutputHelper output) : SqliteJournalSpec(stock: false, output);

public sealed class StockJournalOnSqliteSpec(ITestOutputHelper output) : SqliteJournalSpec(stock: true, output);

[Collection(PostgreSqlCollection.Name)]
public sealed class GroupCommitJournalOnPostgreSqlSpec(PostgreSqlServer server, ITestOutputHelper output) : JournalSpec(TestConfig.PostgreSql(server, stock: false), output);

[Collection(PostgreSqlCollection.Name)]
public sealed class StockJournalOnPostgreSqlSpec(PostgreSqlServer server, ITestOutputHelper output) : JournalSpec(TestConfig.PostgreSql(server, stock: true), output);

public sealed class SqlSnapshotStoreOnSqliteSpec(ITestOutputHelper output) : SqliteSnapshotStoreSpec(stock: false, output);

public sealed class StockSnapshotStoreOnSqliteSpec(ITestOutputHelper output) : SqliteSnapshotStoreSpec(stock: true, output);

[Collection(PostgreSqlCollection.Name)]
public sealed class SqlSnapshotStoreOnPostgreSqlSpec(PostgreSqlServer server, ITestOutputHelper output) : SnapshotStoreSpec(TestConfig.PostgreSql(server, stock: false), output);

[Collection(PostgreSqlCollection.Name)]
public sealed class StockSnapshotStoreOnPostgreSqlSpec(PostgreSqlServer server, ITestOutputHelper output) : SnapshotStoreSpec(TestConfig.PostgreSql(server, stock: true), output);

public abstract class SqliteJournalSpec : JournalSpec
{
    private readonly TempDirectory _directory;

    protected SqliteJournalSpec(bool stock, ITestOutputHelper output)
        : this(new TempDirectory(), stock, output)
    {
    }

    private SqliteJournalSpec(TempDirectory directory, bool stock, ITestOutputHelper output)
        : base(TestConfig.Sqlite(directory, stock), output)
    {
        _directory = directory;
    }

    protected override void AfterAll()
    {
        base.AfterAll();
        _directory.Dispose();
    }
}

public abstract class SqliteSnapshotStoreSpec : SnapshotStoreSpec
{
    private readonly TempDirectory _directory;

    protected SqliteSnapshotStoreSpec(bool stock, ITestOutputHelper output)
        : this(new TempDirectory(), stock, output)
    {
    }

    private SqliteSnapshotStoreSpec(TempDirectory directory, bool stock, ITestOutputHelper output)
        : base(TestConfig.Sqlite(directory, stock), output)
    {
        _directory = directory;
    }

    protected override void AfterAll()
    {
        base.AfterAll();
        _directory.Dispose();
    }
}
