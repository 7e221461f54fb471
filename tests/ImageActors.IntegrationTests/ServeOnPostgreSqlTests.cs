using System.Security.Cryptography;
using ImageActors.IntegrationTests.Support;
using ImageActors.LoadTests.Scenarios;
using ImageActors.Server.Tests.Support;
using ImageActors.TestServers;
using Npgsql;

namespace ImageActors.IntegrationTests;

/// <summary>
/// <c>imageactors serve --config config/cluster.hocon</c> on a real PostgreSQL server that the tests start, kill
/// (<c>pg_ctl stop -m immediate</c>, as a crash) and start again, driven only by image commands through the served
/// socket: the journal is PostgreSQL's, what a user imported is kept across a restart of either, and a database that was
/// down for a while costs the requests made meanwhile a clear error and nothing else.
/// </summary>
public sealed class ServeOnPostgreSqlTests : IClassFixture<PostgreSqlServer>, IAsyncLifetime
{
    private readonly PostgreSqlServer _postgres;
    private readonly TempDirectory _root = new();
    private string _connectionString = "";

    public ServeOnPostgreSqlTests(PostgreSqlServer postgres) => _postgres = postgres;

    public async Task InitializeAsync() => _connectionString = await _postgres.CreateSchemaAsync();

    public Task DisposeAsync()
    {
        _root.Dispose();
        return Task.CompletedTask;
    }

    [Fact]
    public async Task Serve_with_the_cluster_configuration_keeps_images_and_aliases_in_postgresql_across_a_restart()
    {
        var cli = new ImageActorsCli(_root.Path);
        var file = await ImageFileAsync("kept", 1);
        string fingerprint;
        await using (var serve = await StartAsync(cli))
        {
            fingerprint = (await cli.RunAsync("image", "import", file, "--alias", "kept")).ImportedFingerprint();
        }

        Assert.False(File.Exists(Path.Combine(cli.Data, "journal.db")), "the cluster configuration wrote an SQLite journal");
        Assert.True(await JournalRowsAsync() > 0, "nothing was written to PostgreSQL's journal table");

        await using (await StartAsync(cli))
        {
            var listed = (await cli.RunAsync("image", "list", "--format", "csv")).Output;
            Assert.Contains(fingerprint[..12], listed, StringComparison.Ordinal);
            Assert.Contains("kept", listed, StringComparison.Ordinal);
        }
    }

    [Fact]
    public async Task PostgreSQL_killed_and_started_again_under_imports_costs_only_the_requests_made_while_it_was_down()
    {
        var cli = new ImageActorsCli(_root.Path);
        await using var serve = await StartAsync(cli);
        var before = (await cli.RunAsync("image", "import", await ImageFileAsync("before", 0), "--alias", "before")).ImportedFingerprint();

        // Imports in flight when the database dies: each either completes or fails with one line; none is half there.
        const int imports = 6;
        var files = new List<string>();
        for (var i = 1; i <= imports; i++)
        {
            files.Add(await ImageFileAsync("load", i));
        }

        var running = files.Select((f, i) => Task.Run(() => cli.RunAsync(false, "image", "import", f, "--alias", $"load-{i + 1}"))).ToList();
        await Task.WhenAny(running);
        await _postgres.KillAsync();
        var results = await Task.WhenAll(running);

        // While it is down: an import fails with one line that says the journal could not be written, and leaves nothing.
        var down = await cli.RunAsync(false, "image", "import", await ImageFileAsync("down", 0), "--alias", "down");
        Assert.NotEqual(0, down.ExitCode);
        var line = Assert.Single(down.Error.Split('\n', StringSplitOptions.RemoveEmptyEntries));
        Assert.True(line.Contains("journal", StringComparison.OrdinalIgnoreCase), $"the failure does not name the journal: {line}");

        await _postgres.StartAsync();

        // Back up: the requests that failed succeed when made again, through the same running server.
        var again = await cli.RunAsync(false, "image", "import", await ImageFileAsync("down", 0), "--alias", "down");
        Assert.True(again.ExitCode == 0, $"an import after the database came back failed: {again.Error}");
        for (var i = 0; i < imports; i++)
        {
            if (results[i].ExitCode != 0)
            {
                Assert.Single(results[i].Error.Split('\n', StringSplitOptions.RemoveEmptyEntries));
                await cli.RunAsync("image", "import", files[i], "--alias", $"load-{i + 1}");
            }
        }

        // Every image is listed once, with its alias, and its file is whole; nothing is left in the temp directory.
        var expected = files.Select(File.ReadAllBytes).Select(Fingerprint).Append(before).Append(again.ImportedFingerprint()).ToList();
        await AssertStoreHoldsAsync(cli, expected);

        // And a server started again on the same database and files sees the same.
        await serve.DisposeAsync();
        await using (await StartAsync(cli))
        {
            await AssertStoreHoldsAsync(cli, expected);
        }
    }

    private static async Task AssertStoreHoldsAsync(ImageActorsCli cli, IReadOnlyList<string> fingerprints)
    {
        var listed = (await cli.RunAsync("image", "list", "--format", "csv")).Output;
        foreach (var fingerprint in fingerprints)
        {
            Assert.Contains(fingerprint[..12], listed, StringComparison.Ordinal);
            var path = Path.Combine(cli.Data, "images", fingerprint);
            Assert.True(File.Exists(path), $"image {fingerprint} is listed but its file is missing");
            await using var stream = File.OpenRead(path);
            Assert.Equal(fingerprint, Convert.ToHexStringLower(await SHA256.HashDataAsync(stream)));
        }

        Assert.Equal(fingerprints.Count, Directory.GetFiles(Path.Combine(cli.Data, "images")).Length);
        var temp = Path.Combine(cli.Data, "tmp");
        Assert.True(!Directory.Exists(temp) || Directory.GetFileSystemEntries(temp).Length == 0, "temporary files were left behind");
    }

    private async Task<ImageActorsServe> StartAsync(ImageActorsCli cli) =>
        await ImageActorsServe.StartAsync(
            cli,
            _root.Path,
            $"include \"{Path.Combine(AppContext.BaseDirectory, "config", "cluster.hocon")}\"\n",
            [$"persistence.postgresql.connection_string={_connectionString}", "images.replicas=1"]);

    private async Task<string> ImageFileAsync(string prefix, int number)
    {
        var file = Path.Combine(_root.Path, $"{prefix}-{number}.tar.gz");
        await File.WriteAllBytesAsync(file, GeneratedImages.Small(prefix, number));
        return file;
    }

    private static string Fingerprint(byte[] image) => Convert.ToHexStringLower(SHA256.HashData(image));

    private async Task<long> JournalRowsAsync()
    {
        await using var connection = new NpgsqlConnection(_connectionString);
        await connection.OpenAsync();
        await using var command = new NpgsqlCommand("SELECT count(*) FROM journal", connection);
        return (long)(await command.ExecuteScalarAsync())!;
    }
}
