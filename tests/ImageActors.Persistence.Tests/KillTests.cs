using System.Diagnostics;
using System.Globalization;
using Akka.Actor;
using Akka.Persistence;
using ImageActors.Persistence.Tests.PostgreSql;
using Xunit.Abstractions;

namespace ImageActors.Persistence.Tests;

/// <summary>
/// Runs the crash writer (a child process whose persistent actors persist as fast as they can on the
/// group-commit journal), kills it with SIGKILL at a random moment, twice (the second run recovers its actors
/// from the journal and carries on), then replays every id through the journal and checks that every
/// acknowledged event — its persist handler ran and printed it — is there, that sequence numbers have no holes,
/// and that each event holds the count its actor had (no batch torn, nothing lost or applied twice).
/// </summary>
public abstract class KillSpec : Akka.TestKit.Xunit2.TestKit
{
    private const int Writers = 64;
    private static readonly TimeSpan Deadline = TimeSpan.FromMinutes(2);
    private readonly string _provider;
    private readonly string _connectionString;

    protected KillSpec(SqlProvider provider, string connectionString, ITestOutputHelper output)
        : base(CrashWriter.Program.Config(provider, connectionString), "kill-spec", output)
    {
        _provider = PluginSettings.ProviderName(provider);
        _connectionString = connectionString;
    }

    [Fact]
    public async Task Every_acknowledged_event_survives_SIGKILL_of_the_writer_and_sequence_numbers_have_no_holes()
    {
        var acknowledged = new Dictionary<string, long>(StringComparer.Ordinal);
        for (var run = 0; run < 2; run++)
        {
            await RunUntilKilledAsync(Random.Shared.Next(300, 5000), acknowledged);
        }

        Assert.NotEmpty(acknowledged);
        var journal = Akka.Persistence.Persistence.Instance.Apply(Sys).JournalFor(null);
        for (var w = 0; w < Writers; w++)
        {
            var id = string.Create(CultureInfo.InvariantCulture, $"crash-{w}");
            var probe = CreateTestProbe();
            journal.Tell(new ReplayMessages(1, long.MaxValue, long.MaxValue, id, probe.Ref));
            var expected = 1L;
            object reply;
            while ((reply = probe.ExpectMsg<object>(Deadline)) is ReplayedMessage { Persistent: var e })
            {
                Assert.Equal(expected, e.SequenceNr);
                Assert.Equal(expected, CrashWriter.Program.TickNumber((string)e.Payload));
                expected++;
            }

            var highest = Assert.IsType<RecoverySuccess>(reply).HighestSequenceNr;
            Assert.Equal(highest, expected - 1);
            Assert.True(highest >= acknowledged.GetValueOrDefault(id), $"{id}: acknowledged up to {acknowledged.GetValueOrDefault(id)} but the journal holds only {highest}.");
        }
    }

    private async Task RunUntilKilledAsync(int killAfter, Dictionary<string, long> acknowledged)
    {
        var start = new ProcessStartInfo(Environment.GetEnvironmentVariable("DOTNET_HOST_PATH") ?? "dotnet")
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        foreach (var a in (string[])[Path.Combine(AppContext.BaseDirectory, "ImageActors.Persistence.CrashWriter.dll"), _provider, _connectionString, Writers.ToString(CultureInfo.InvariantCulture)])
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

public sealed class GroupCommitJournalOnSqliteKillSpec : KillSpec
{
    private readonly TempDirectory _directory;

    public GroupCommitJournalOnSqliteKillSpec(ITestOutputHelper output)
        : this(new TempDirectory(), output)
    {
    }

    private GroupCommitJournalOnSqliteKillSpec(TempDirectory directory, ITestOutputHelper output)
        : base(SqlProvider.Sqlite, directory.ConnectionString, output)
    {
        _directory = directory;
    }

    protected override void AfterAll()
    {
        base.AfterAll();
        _directory.Dispose();
    }
}

[Collection(PostgreSqlCollection.Name)]
public sealed class GroupCommitJournalOnPostgreSqlKillSpec(PostgreSqlServer server, ITestOutputHelper output)
    : KillSpec(SqlProvider.PostgreSql, server.CreateSchemaAsync().GetAwaiter().GetResult(), output);
