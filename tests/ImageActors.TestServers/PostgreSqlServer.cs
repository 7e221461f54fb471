using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.Sockets;
using Npgsql;

namespace ImageActors.TestServers;

/// <summary>
/// A throwaway PostgreSQL server for the tests: <c>initdb</c> into a temp directory (as the
/// <c>postgres</c> user when the tests run as root, since PostgreSQL refuses to run as root),
/// started on a free loopback port with its unix socket in that directory, stopped and deleted
/// afterwards. If it cannot start, every test using it fails with the reason — nothing is skipped.
/// A test project shares one server between its classes with a collection fixture of its own
/// (<c>[CollectionDefinition] … : ICollectionFixture&lt;PostgreSqlServer&gt;</c>), since xUnit finds
/// collection definitions only in the test assembly.
/// </summary>
public sealed class PostgreSqlServer : Xunit.IAsyncLifetime
{
    private static readonly TimeSpan CommandTimeout = TimeSpan.FromMinutes(2);
    private DirectoryInfo? _directory;
    private string _binaries = "";
    private bool _started;
    private int _schemas;
    private int _port;

    /// <summary>Connection string of the superuser on the server's default database.</summary>
    public string ConnectionString { get; private set; } = "";

    public async Task InitializeAsync()
    {
        _binaries = FindBinaries();
        _directory = Directory.CreateTempSubdirectory("imageactors-pg-");
        var data = Path.Combine(_directory.FullName, "data");
        var sockets = Path.Combine(_directory.FullName, "run");
        Directory.CreateDirectory(sockets);
        if (Environment.UserName == "root")
        {
            await RunAsync("chown", ["-R", "postgres:postgres", _directory.FullName], asPostgres: false);
        }

        await RunAsync(Path.Combine(_binaries, "initdb"), ["-D", data, "-U", "postgres", "--auth=trust", "-E", "UTF8", "--no-sync"], asPostgres: true);
        _port = FreePort();
        await StartAsync();
        ConnectionString = new NpgsqlConnectionStringBuilder
        {
            Host = "127.0.0.1",
            Port = _port,
            Username = "postgres",
            Database = "postgres",
            MaxPoolSize = 50,
        }.ToString();
    }

    /// <summary>Kills the server as a crash would (<c>pg_ctl stop -m immediate</c>: no checkpoint, clients cut off).</summary>
    public async Task KillAsync()
    {
        await RunAsync(Path.Combine(_binaries, "pg_ctl"), ["-D", DataDirectory, "-m", "immediate", "-w", "stop"], asPostgres: true);
        _started = false;
    }

    /// <summary>Starts the server again on the same port and data after <see cref="KillAsync"/> (it recovers its WAL).</summary>
    public async Task StartAsync()
    {
        var log = Path.Combine(_directory!.FullName, "server.log");
        try
        {
            await RunAsync(Path.Combine(_binaries, "pg_ctl"),
                ["-D", DataDirectory, "-l", log, "-w", "-t", "60", "-o", $"-p {_port} -k {Path.Combine(_directory.FullName, "run")} -c listen_addresses=127.0.0.1 -c max_connections=200", "start"],
                asPostgres: true);
        }
        catch (InvalidOperationException e)
        {
            var serverLog = File.Exists(log) ? await File.ReadAllTextAsync(log) : "(no server log)";
            throw new InvalidOperationException($"{e.Message}\nServer log:\n{serverLog}", e);
        }

        _started = true;
    }

    private string DataDirectory => Path.Combine(_directory!.FullName, "data");

    /// <summary>A new, empty schema; the returned connection string has it as search path.</summary>
    public async Task<string> CreateSchemaAsync()
    {
        var name = string.Create(CultureInfo.InvariantCulture, $"test_{Interlocked.Increment(ref _schemas)}_{Guid.NewGuid():N}");
        await using (var connection = new NpgsqlConnection(ConnectionString))
        {
            await connection.OpenAsync();
            await using var command = new NpgsqlCommand($"CREATE SCHEMA {name}", connection);
            await command.ExecuteNonQueryAsync();
        }

        return new NpgsqlConnectionStringBuilder(ConnectionString) { SearchPath = name }.ToString();
    }

    public async Task DisposeAsync()
    {
        NpgsqlConnection.ClearAllPools();
        if (_directory is null)
        {
            return;
        }

        if (_started)
        {
            await RunAsync(Path.Combine(_binaries, "pg_ctl"), ["-D", Path.Combine(_directory.FullName, "data"), "-m", "immediate", "-w", "stop"], asPostgres: true);
        }

        _directory.Delete(recursive: true);
    }

    private static string FindBinaries()
    {
        var root = "/usr/lib/postgresql";
        var found = Directory.Exists(root)
            ? Directory.GetDirectories(root)
                .Select(d => Path.Combine(d, "bin"))
                .Where(d => File.Exists(Path.Combine(d, "initdb")))
                .OrderByDescending(d => int.TryParse(Path.GetFileName(Path.GetDirectoryName(d)), out var v) ? v : 0)
                .FirstOrDefault()
            : null;
        return found ?? throw new InvalidOperationException(
            $"PostgreSQL server binaries (initdb, pg_ctl) were not found under {root}; install the 'postgresql' package (test.sh does).");
    }

    private static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }

    private static async Task RunAsync(string program, IReadOnlyList<string> arguments, bool asPostgres)
    {
        var start = new ProcessStartInfo
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        if (asPostgres && Environment.UserName == "root")
        {
            start.FileName = "runuser";
            foreach (var a in (string[])["-u", "postgres", "--", program])
            {
                start.ArgumentList.Add(a);
            }
        }
        else
        {
            start.FileName = program;
        }

        foreach (var a in arguments)
        {
            start.ArgumentList.Add(a);
        }

        using var process = Process.Start(start) ?? throw new InvalidOperationException($"Could not start {program}.");
        var output = process.StandardOutput.ReadToEndAsync();
        var error = process.StandardError.ReadToEndAsync();
        using var deadline = new CancellationTokenSource(CommandTimeout);
        try
        {
            await process.WaitForExitAsync(deadline.Token);
        }
        catch (OperationCanceledException)
        {
            process.Kill(entireProcessTree: true);
            throw new InvalidOperationException($"{program} {string.Join(' ', arguments)} did not finish within {CommandTimeout}.");
        }

        if (process.ExitCode != 0)
        {
            throw new InvalidOperationException(
                $"{program} {string.Join(' ', arguments)} failed with exit code {process.ExitCode}:\n{await output}\n{await error}");
        }
    }
}
