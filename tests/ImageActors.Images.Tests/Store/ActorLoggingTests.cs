using Akka.Actor;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace ImageActors.Images.Tests.Store;

/// <summary>The actor system logs through the host's Microsoft.Extensions.Logging, so what goes wrong inside it is visible.</summary>
public sealed class ActorLoggingTests
{
    private static readonly TimeSpan Deadline = TimeSpan.FromSeconds(30);

    [Fact]
    public async Task A_dead_letter_and_a_crashed_actor_appear_in_the_hosts_logs()
    {
        var root = Directory.CreateTempSubdirectory("imageactors-logs-");
        var sink = new RecordingLogs();
        try
        {
            var services = new ServiceCollection()
                .AddLogging(logging => logging.AddProvider(sink).SetMinimumLevel(LogLevel.Warning))
                .AddImageActors(Path.Combine(root.FullName, "data"));
            await using var provider = services.BuildServiceProvider();
            var hosted = provider.GetServices<IHostedService>().Single();
            await hosted.StartAsync(CancellationToken.None);
            try
            {
                var system = provider.GetRequiredService<ImageStore>().ActorSystem;
                system.ActorSelection("/user/no-such-actor").Tell("a message for nobody");
                var crashing = system.ActorOf(Props.Create(() => new Crashing()), "crashing");
                crashing.Tell("fail");

                await WaitForAsync(sink, e => e.StartsWith("Warning", StringComparison.Ordinal) && e.Contains("a message for nobody", StringComparison.Ordinal));
                await WaitForAsync(sink, e => e.StartsWith("Error", StringComparison.Ordinal) && e.Contains("the actor failed on purpose", StringComparison.Ordinal));
            }
            finally
            {
                await hosted.StopAsync(CancellationToken.None);
            }
        }
        finally
        {
            root.Delete(recursive: true);
        }
    }

    private static async Task WaitForAsync(RecordingLogs sink, Func<string, bool> match)
    {
        using var deadline = new CancellationTokenSource(Deadline);
        while (!sink.Entries.Select(e => e.ToString()).Any(match))
        {
            try
            {
                await Task.Delay(50, deadline.Token);
            }
            catch (OperationCanceledException)
            {
                Assert.Fail($"no such log entry within {Deadline}; logged:\n{string.Join('\n', sink.Entries)}");
            }
        }
    }

    private sealed class Crashing : ReceiveActor
    {
        public Crashing() => Receive<string>(_ => throw new InvalidOperationException("the actor failed on purpose"));
    }
}
