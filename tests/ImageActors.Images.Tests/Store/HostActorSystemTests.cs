using Akka.Actor;
using Akka.Hosting;
using ImageActors.Images.Domain;
using ImageActors.Images.Hosting;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace ImageActors.Images.Tests.Store;

/// <summary>
/// The store on the host's actor system (Akka.Hosting): a real generic host, a real SQLite journal, the host's own
/// actors beside the store's, and Akka's logs in the host's logging.
/// </summary>
public sealed class HostActorSystemTests : IDisposable
{
    private static readonly TimeSpan Deadline = TimeSpan.FromSeconds(60);
    private readonly DirectoryInfo _root = Directory.CreateTempSubdirectory("imageactors-akka-host-");
    private readonly RecordingLogs _logs = new();

    private string Data => Path.Combine(_root.FullName, "data");

    public void Dispose() => _root.Delete(recursive: true);

    [Fact]
    public async Task A_host_runs_its_own_actor_in_the_store_s_actor_system_and_finds_the_store_s_regions_in_its_registry()
    {
        var source = TestImages.Unified(_root.FullName, "beside");
        using var host = Build(b => b
            .Set("data_dir", Data)
            .ConfigureAkka((akka, _) => akka.WithActors((system, registry) => registry.Register<Echo>(system.ActorOf(Props.Create(() => new Echo()), "platform-echo")))));
        await host.StartAsync().WaitAsync(Deadline);

        var store = host.Services.GetRequiredService<ImageStore>();
        var imported = await store.ImportAsync(new ImportRequest(new ImageSource.UnifiedFile(source)) { Aliases = ["beside"] }).WaitAsync(Deadline);
        var system = host.Services.GetRequiredService<ActorSystem>();
        var registry = host.Services.GetRequiredService<ActorRegistry>();
        var echo = await host.Services.GetRequiredService<IRequiredActor<Echo>>().GetAsync().WaitAsync(Deadline);
        var reply = await echo.Ask<string>("hello", Deadline);
        var region = await host.Services.GetRequiredService<IRequiredActor<ImageShardRegion>>().GetAsync().WaitAsync(Deadline);

        Assert.Equal("echo: hello", reply);
        Assert.Same(system, store.ActorSystem);
        Assert.Same(echo, registry.Get<Echo>());
        Assert.Equal(system.Name, echo.Path.Address.System);
        Assert.Equal("/system/sharding/image", region.Path.ToStringWithoutAddress());
        Assert.Equal("/system/sharding/alias", registry.Get<AliasShardRegion>().Path.ToStringWithoutAddress());
        Assert.Equal("/system/sharding/image-files", registry.Get<ImageFilesShardRegion>().Path.ToStringWithoutAddress());
        Assert.Equal(imported.Fingerprint, store.Get(ProjectName.Default, "beside").Fingerprint);
        await host.StopAsync().WaitAsync(Deadline);
    }

    [Fact]
    public async Task A_crashed_actor_and_a_dead_letter_in_the_host_s_actor_system_reach_the_host_s_logger()
    {
        using var host = Build(b => b.Set("data_dir", Data));
        await host.StartAsync().WaitAsync(Deadline);
        try
        {
            var system = host.Services.GetRequiredService<ActorSystem>();
            system.ActorSelection("/user/no-such-actor").Tell("a message for nobody");
            system.ActorOf(Props.Create(() => new Crashing()), "crashing").Tell("fail");

            await WaitForLogAsync(e => e.Level == LogLevel.Warning && e.Message.Contains("a message for nobody", StringComparison.Ordinal));
            await WaitForLogAsync(e => e.Level == LogLevel.Error && e.ToString().Contains("the actor failed on purpose", StringComparison.Ordinal));
        }
        finally
        {
            await host.StopAsync().WaitAsync(Deadline);
        }
    }

    [Fact]
    public async Task A_shutdown_of_the_actor_system_from_inside_stops_the_store_and_the_host_and_keeps_what_it_wrote()
    {
        var source = TestImages.Unified(_root.FullName, "kept");
        using var host = Build(b => b.Set("data_dir", Data));
        await host.StartAsync().WaitAsync(Deadline);
        var store = host.Services.GetRequiredService<ImageStore>();
        var imported = await store.ImportAsync(new ImportRequest(new ImageSource.UnifiedFile(source)) { Aliases = ["kept"] }).WaitAsync(Deadline);

        // As a downed node would: the system's own coordinated shutdown, not the host's stop.
        var system = host.Services.GetRequiredService<ActorSystem>();
        await CoordinatedShutdown.Get(system).Run(CoordinatedShutdown.ClusterDowningReason.Instance).WaitAsync(Deadline);
        await host.WaitForShutdownAsync().WaitAsync(Deadline);

        Assert.Throws<ObjectDisposedException>(() => store.List());
        await using var reopened = await ImageStore.StartAsync(new ImageStoreSettings(Data, StorePersistence.Sqlite(Path.Combine(Data, "journal.db"))));
        Assert.Equal(imported.Fingerprint, reopened.Get(ProjectName.Default, "kept").Fingerprint);
    }

    [Fact]
    public void AddAkka_before_AddImageActors_is_refused_with_what_to_do_instead()
    {
        var services = new ServiceCollection().AddAkka("platform", _ => { });

        var error = Assert.Throws<InvalidOperationException>(() => services.AddImageActors(Data));

        Assert.Contains("configureAkka", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task AddAkka_after_AddImageActors_stops_the_start_with_what_to_do_instead()
    {
        var builder = Host.CreateApplicationBuilder(new HostApplicationBuilderSettings { DisableDefaults = true });
        builder.Services.AddImageActors(Data).AddAkka("platform", _ => { });
        using var host = builder.Build();

        var error = await Assert.ThrowsAsync<InvalidOperationException>(() => host.StartAsync().WaitAsync(Deadline));

        Assert.Contains("configureAkka", error.Message, StringComparison.Ordinal);
        await Assert.ThrowsAsync<InvalidOperationException>(() => host.Services.GetRequiredService<ImageStore>().WaitForReadModelAsync().WaitAsync(Deadline));
    }

    [Fact]
    public async Task A_call_waiting_for_a_start_that_fails_gets_the_start_s_error()
    {
        // The node cannot be up within a tick: the start fails after the actor system exists.
        var builder = Host.CreateApplicationBuilder(new HostApplicationBuilderSettings { DisableDefaults = true });
        builder.Services.AddImageActors(_ => new ImageStoreSettings(Data, StorePersistence.Sqlite(Path.Combine(Data, "journal.db"))) { StartTimeout = TimeSpan.FromTicks(1) });
        using var host = builder.Build();
        var waiting = host.Services.GetRequiredService<ImageStore>().WaitForReadModelAsync();

        await Record.ExceptionAsync(() => host.StartAsync().WaitAsync(Deadline));
        await Record.ExceptionAsync(() => waiting.WaitAsync(Deadline));

        Assert.True(waiting.IsFaulted, "the waiting call ended with " + waiting.Status);
        Assert.IsType<TimeoutException>(waiting.Exception!.InnerException);
    }

    private IHost Build(Action<ImageActorsBuilder> configure)
    {
        var builder = Host.CreateApplicationBuilder(new HostApplicationBuilderSettings { DisableDefaults = true });
        builder.Logging.AddProvider(_logs).SetMinimumLevel(LogLevel.Warning);
        builder.Services.AddImageActors(configure);
        return builder.Build();
    }

    private async Task WaitForLogAsync(Func<LogEntry, bool> match)
    {
        using var deadline = new CancellationTokenSource(Deadline);
        while (!_logs.Entries.Any(match))
        {
            try
            {
                await Task.Delay(50, deadline.Token);
            }
            catch (OperationCanceledException)
            {
                Assert.Fail($"no such log entry within {Deadline}; logged:\n{string.Join('\n', _logs.Entries)}");
            }
        }
    }

    private sealed class Echo : ReceiveActor
    {
        public Echo() => Receive<string>(text => Sender.Tell("echo: " + text));
    }

    private sealed class Crashing : ReceiveActor
    {
        public Crashing() => Receive<string>(_ => throw new InvalidOperationException("the actor failed on purpose"));
    }
}
