using System.Data.Common;
using System.Threading.Channels;

namespace ImageActors.Persistence.Database;

/// <summary>
/// One database as the plugins of this process share it (SQLite: one writer connection for the
/// journal and the snapshot store): the schema, a few connections serving all reads from a queue,
/// and the dialect's batched insert. Plugins acquire it by provider and connection string and
/// release it when they stop; the last release closes it.
/// </summary>
internal abstract class SqlDatabase : IAsyncDisposable
{
    private static readonly Dictionary<(SqlProvider, string), SqlDatabase> Shared = [];
    private static readonly Lock SharedGate = new();

    private readonly Channel<ReadJob> _reads = Channel.CreateUnbounded<ReadJob>(new UnboundedChannelOptions { SingleReader = false });
    private readonly Task[] _readers;
    private (SqlProvider, string) _key;
    private int _references;

    protected SqlDatabase(int readConnections)
    {
        _readers = new Task[readConnections];
    }

    /// <summary>Completes once the tables exist; every operation awaits it first.</summary>
    public Task Ready { get; private set; } = Task.CompletedTask;

    /// <summary>The database of <paramref name="settings"/>, opened on first use; release it with <see cref="ReleaseAsync"/>.</summary>
    public static SqlDatabase Acquire(PluginSettings settings)
    {
        var key = (settings.Provider, settings.ConnectionString);
        lock (SharedGate)
        {
            if (!Shared.TryGetValue(key, out var database))
            {
                database = settings.Provider switch
                {
                    SqlProvider.Sqlite => new SqliteDatabase(settings),
                    _ => new PostgreSqlDatabase(settings),
                };
                database._key = key;
                database.Start();
                Shared[key] = database;
            }

            database._references++;
            return database;
        }
    }

    /// <summary>Gives back what <see cref="Acquire"/> handed out; the last release closes the database.</summary>
    public static async ValueTask ReleaseAsync(SqlDatabase database)
    {
        lock (SharedGate)
        {
            if (--database._references > 0)
            {
                return;
            }

            Shared.Remove(database._key);
        }

        await database.DisposeAsync().ConfigureAwait(false);
    }

    /// <summary>Runs <paramref name="work"/> on one of the read connections, after the reads queued before it.</summary>
    public Task<T> ReadAsync<T>(Func<DbConnection, Task<T>> work)
    {
        var job = new ReadJob<T>(work);
        if (!_reads.Writer.TryWrite(job))
        {
            throw new ObjectDisposedException("The journal database is closed.");
        }

        return job.Completion.Task;
    }

    /// <summary>Runs <paramref name="work"/> on a connection that may write; SQLite runs one at a time.</summary>
    public abstract Task<T> WriteAsync<T>(Func<DbConnection, Task<T>> work, CancellationToken cancellationToken = default);

    /// <summary>Begins a transaction that takes the write lock at once (SQLite: BEGIN IMMEDIATE).</summary>
    public abstract ValueTask<DbTransaction> BeginWriteAsync(DbConnection connection);

    /// <summary>
    /// Inserts the events of <paramref name="writes"/>, with their tag rows, inside
    /// <paramref name="transaction"/>. A write with a row whose (persistence_id, sequence_number)
    /// exists gets <see cref="PendingWrite.ConflictingSequenceNr"/> set; the caller rolls back then.
    /// Unless <paramref name="findConflicts"/>, a dialect may instead fail the whole insert with
    /// <see cref="DuplicateRowException"/> (a cheaper insert that cannot say which write it was);
    /// the caller rolls back and inserts again with <paramref name="findConflicts"/> set.
    /// </summary>
    public abstract Task InsertAsync(DbConnection connection, DbTransaction transaction, IReadOnlyList<PendingWrite> writes, string writerUuid, bool findConflicts);

    /// <summary>Creates the tables of the stock plugin's default schema, unless they exist.</summary>
    protected abstract Task CreateTablesAsync();

    /// <summary>
    /// Whether <paramref name="error"/> says the connection to the database was lost or could not be made (the server
    /// stopped, restarted or is unreachable), rather than that the statement was refused.
    /// </summary>
    public static bool IsConnectionLost(Exception error)
    {
        for (var e = error; e is not null; e = e.InnerException)
        {
            if (e is DbException { IsTransient: true } or IOException or System.Net.Sockets.SocketException)
            {
                return true;
            }
        }

        return false;
    }

    /// <summary>Called when a connection was found lost: a pooled database drops its idle connections, dead too.</summary>
    public virtual void OnConnectionLost()
    {
    }

    /// <summary>Opens a connection for the read queue.</summary>
    protected abstract Task<DbConnection> OpenReadConnectionAsync();

    public virtual async ValueTask DisposeAsync()
    {
        _reads.Writer.TryComplete();
        await Task.WhenAll(_readers).ConfigureAwait(false);
    }

    internal static DbCommand Command(DbConnection connection, DbTransaction? transaction, string sql, params ReadOnlySpan<(string Name, object? Value)> parameters)
    {
        var command = connection.CreateCommand();
        command.Transaction = transaction;
        command.CommandText = sql;
        foreach (var (name, value) in parameters)
        {
            var parameter = command.CreateParameter();
            parameter.ParameterName = name;
            parameter.Value = value ?? DBNull.Value;
            command.Parameters.Add(parameter);
        }

        return command;
    }

    private void Start()
    {
        Ready = Task.Run(CreateTablesAsync);
        for (var i = 0; i < _readers.Length; i++)
        {
            _readers[i] = Task.Run(ServeReadsAsync);
        }
    }

    /// <summary>
    /// One read connection: runs queued reads one after another. The reads of many actors that
    /// recover at once share a few connections and their prepared statements instead of opening
    /// one each.
    /// </summary>
    private async Task ServeReadsAsync()
    {
        DbConnection? connection = null;
        try
        {
            while (await _reads.Reader.WaitToReadAsync().ConfigureAwait(false))
            {
                while (_reads.Reader.TryRead(out var job))
                {
                    // A read runs again, once, on a new connection when its connection was lost: a held connection
                    // is found dead only when used, after the database restarted. Reads have no effect to repeat.
                    for (var attempt = 1; ; attempt++)
                    {
                        try
                        {
                            await Ready.ConfigureAwait(false);
                            connection ??= await OpenReadConnectionAsync().ConfigureAwait(false);
                            await job.RunAsync(connection).ConfigureAwait(false);
                            break;
                        }
                        catch (Exception e)
                        {
                            var lost = connection is not null && connection.State != System.Data.ConnectionState.Open;
                            if (lost)
                            {
                                await connection!.DisposeAsync().ConfigureAwait(false);
                                connection = null;
                            }

                            var connectionLost = IsConnectionLost(e);
                            if (connectionLost)
                            {
                                OnConnectionLost();
                            }

                            if (!(lost && connectionLost && attempt == 1))
                            {
                                job.Fail(e);
                                break;
                            }
                        }
                    }
                }
            }
        }
        finally
        {
            if (connection is not null)
            {
                await connection.DisposeAsync().ConfigureAwait(false);
            }
        }
    }

    private abstract class ReadJob
    {
        public abstract Task RunAsync(DbConnection connection);

        public abstract void Fail(Exception e);
    }

    private sealed class ReadJob<T>(Func<DbConnection, Task<T>> work) : ReadJob
    {
        public TaskCompletionSource<T> Completion { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

        public override async Task RunAsync(DbConnection connection) => Completion.TrySetResult(await work(connection).ConfigureAwait(false));

        public override void Fail(Exception e) => Completion.TrySetException(e);
    }
}
