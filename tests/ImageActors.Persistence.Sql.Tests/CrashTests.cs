using System.Diagnostics;
using System.Globalization;
using ImageActors.Persistence.Sql.CrashWriter;
using ImageActors.Persistence.Sql.PostgreSql;
using ImageActors.Persistence.Sql.Sqlite;
using ImageActors.Persistence.Sql.Tests.PostgreSql;
using ImageActors.Persistence.Sql.Tests.Sqlite;

namespace ImageActors.Persistence.Sql.Tests;

/// <summary>
/// Runs the crash writer (a child process whose persistent actors persist as fast as they can on
/// the SQL journal), kills it with SIGKILL at a random moment, twice (the second run recovers the
/// actors from the journal and carries on), and checks that every acknowledged event — its
/// persist handler ran and printed it — is in the journal, that every id's sequence numbers are
/// contiguous, and that each event holds the count its actor had (nothing lost or applied twice).
/// </summary>
internal static class CrashRun
{
    private const int Writers = 64;
    private static readonly TimeSpan Deadline = TimeSpan.FromMinutes(2);

    public static async Task KillTwiceAndVerifyAsync(string kind, string target, Func<Task<SqlStore>> openStore)
    {
        var acknowledged = new Dictionary<string, long>(StringComparer.Ordinal);
        for (var run = 0; run < 2; run++)
        {
            await RunUntilKilledAsync(kind, target, Random.Shared.Next(300, 5000), acknowledged);
        }

        await using var store = await openStore();
        await using var journal = new SqlJournal(store, Program.Registry());
        Assert.NotEmpty(acknowledged);
        for (var w = 0; w < Writers; w++)
        {
            var id = $"crash-{w}";
            var highest = await journal.ReadHighestSequenceNrAsync(id);
            Assert.True(highest >= acknowledged.GetValueOrDefault(id), $"{id}: acknowledged up to {acknowledged.GetValueOrDefault(id)} but the journal holds only {highest}.");
            var expected = 1L;
            await foreach (var e in journal.ReplayAsync(id, 1, long.MaxValue, long.MaxValue))
            {
                Assert.Equal(expected, e.SequenceNr);
                Assert.Equal(expected, ((Tick)e.Payload).Number);
                expected++;
            }

            Assert.Equal(highest, expected - 1);
        }
    }

    private static async Task RunUntilKilledAsync(string kind, string target, int killAfter, Dictionary<string, long> acknowledged)
    {
        var start = new ProcessStartInfo(Environment.GetEnvironmentVariable("DOTNET_HOST_PATH") ?? "dotnet")
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        foreach (var a in (string[])[Path.Combine(AppContext.BaseDirectory, "ImageActors.Persistence.Sql.CrashWriter.dll"), kind, target, Writers.ToString(CultureInfo.InvariantCulture)])
        {
            start.ArgumentList.Add(a);
        }

        using var child = Process.Start(start) ?? throw new InvalidOperationException("Could not start the crash writer.");
        var errors = child.StandardError.ReadToEndAsync();
        var enough = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var reading = Task.Run(async () =>
        {
            var count = 0;
            while (await child.StandardOutput.ReadLineAsync() is { } line)
            {
                var space = line.IndexOf(' ', StringComparison.Ordinal);
                if (space > 0 && long.TryParse(line.AsSpan(space + 1), NumberStyles.None, CultureInfo.InvariantCulture, out var seq))
                {
                    var id = line[..space];
                    acknowledged[id] = Math.Max(acknowledged.GetValueOrDefault(id), seq);
                    if (++count == killAfter)
                    {
                        enough.TrySetResult();
                    }
                }
            }
        });

        var first = await Task.WhenAny(enough.Task, child.WaitForExitAsync(), Task.Delay(Deadline));
        if (first != enough.Task)
        {
            if (!child.HasExited)
            {
                child.Kill();
            }

            Assert.Fail($"The crash writer did not acknowledge {killAfter} writes (exited: {child.HasExited}): {await errors}");
        }

        child.Kill(); // SIGKILL: no finally blocks, no flushing, no disposal
        await child.WaitForExitAsync();
        await reading; // what the child printed before it died is still in the pipe
    }
}

public sealed class SqliteCrashTests
{
    [Fact]
    public async Task Every_acknowledged_event_survives_SIGKILL_of_the_writer_and_sequence_numbers_stay_contiguous()
    {
        using var database = new TempDatabase();
        await CrashRun.KillTwiceAndVerifyAsync("sqlite", database.Path, async () => await SqliteStore.OpenAsync(new SqliteSettings(database.Path)));
    }
}

[Collection(PostgreSqlCollection.Name)]
public sealed class PostgreSqlCrashTests(PostgreSqlServer server)
{
    [Fact]
    public async Task Every_acknowledged_event_survives_SIGKILL_of_the_writer_and_sequence_numbers_stay_contiguous()
    {
        var connectionString = await server.CreateSchemaAsync();
        await CrashRun.KillTwiceAndVerifyAsync("postgresql", connectionString, async () => await PostgreSqlStore.OpenAsync(new PostgreSqlSettings(connectionString)));
    }
}
