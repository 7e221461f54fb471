using System.Text;
using Akka.Actor;
using Akka.Actor.Setup;
using Akka.Cluster;
using Akka.Configuration;
using Akka.Hosting.Logging;
using ImageActors.Images.Events;

namespace ImageActors.Images.Hosting;

/// <summary>
/// The actor system a store runs on. Every store is an Akka.NET cluster: a lone node joins itself, with remoting on
/// loopback (a free port unless configured), so one code path serves one node and many.
/// </summary>
internal static class StoreActorSystem
{
    /// <summary>The actor system's name (node addresses are <c>akka.tcp://imageactors@host:port</c>).</summary>
    public const string Name = "imageactors";

    // Beyond the wait for calls in flight: the materializer's stop and the phase's own bookkeeping.
    private static readonly TimeSpan StopPhaseMargin = TimeSpan.FromSeconds(5);

    /// <summary>
    /// The configuration of a system of the store's own: the caller's HOCON, then logging through the host's logger
    /// factory (when there is one), then the persistence plugins, then the store's defaults.
    /// </summary>
    public static Config Build(ImageStoreSettings settings)
    {
        var config = StoreConfig(settings);
        if (settings.LoggerFactory is not null)
        {
            config = ConfigurationFactory.ParseString(LoggerFactoryLogging).WithFallback(config);
        }

        return WithCallerHocon(settings, config);
    }

    /// <summary>
    /// The configuration the store adds to a host's system (Akka.Hosting): as <see cref="Build"/>, without the loggers,
    /// which the host's builder sets.
    /// </summary>
    public static Config BuildForHost(ImageStoreSettings settings) =>
        WithCallerHocon(settings, ConfigurationFactory.ParseString(HostLogging).WithFallback(StoreConfig(settings)));

    /// <summary>Makes a system of the store's own (not started as a cluster member yet: see <see cref="JoinAsync"/>).</summary>
    public static ActorSystem Create(ImageStoreSettings settings)
    {
        var setup = ActorSystemSetup.Create(BootstrapSetup.Create().WithConfig(Build(settings)));
        if (settings.LoggerFactory is not null)
        {
            setup = setup.And(new LoggerFactorySetup(settings.LoggerFactory));
        }

        return ActorSystem.Create(Name, setup);
    }

    /// <summary>
    /// Readies a system for the store, whoever made it: dead letters go to the host's logs, and the node joins its
    /// cluster (itself when no seed nodes are configured); returns once it is an Up member.
    /// </summary>
    public static async Task JoinAsync(ActorSystem system, ImageStoreSettings settings, CancellationToken cancellationToken)
    {
        if (settings.LoggerFactory is not null)
        {
            system.ActorOf(DeadLetterLogger.Props(settings.LoggerFactory), "dead-letter-logger");
        }

        var cluster = Cluster.Get(system);
        var up = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        cluster.RegisterOnMemberUp(() => up.TrySetResult());
        if (cluster.Settings.SeedNodes.Count == 0)
        {
            // No seed nodes configured: a node of its own.
            cluster.Join(cluster.SelfAddress);
        }

        await up.Task.WaitAsync(settings.StartTimeout, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>Leaves the cluster and stops the system (CoordinatedShutdown: entities hand off, then remoting stops).</summary>
    public static async Task StopAsync(ActorSystem system)
    {
        await CoordinatedShutdown.Get(system).Run(CoordinatedShutdown.ClrExitReason.Instance).ConfigureAwait(false);
        await system.WhenTerminated.ConfigureAwait(false);
    }

    // The persistence plugins, then the store's defaults; the store's stop may take its stop timeout within its phase.
    private static Config StoreConfig(ImageStoreSettings settings)
    {
        var stopPhase = string.Create(System.Globalization.CultureInfo.InvariantCulture, $"akka.coordinated-shutdown.phases.{CoordinatedShutdown.PhaseServiceRequestsDone}.timeout = {(long)(settings.StopTimeout + StopPhaseMargin).TotalMilliseconds}ms");
        return ConfigurationFactory.ParseString(stopPhase)
            .WithFallback(ConfigurationFactory.ParseString(Defaults()))
            .WithFallback(settings.Persistence.ToConfig());
    }

    private static Config WithCallerHocon(ImageStoreSettings settings, Config config) =>
        string.IsNullOrWhiteSpace(settings.AkkaHocon) ? config : ConfigurationFactory.ParseString(settings.AkkaHocon).WithFallback(config);

    /// <summary>Dead letters are logged by <see cref="DeadLetterLogger"/> (see <see cref="LoggerFactoryLogging"/>).</summary>
    private const string HostLogging = """
        akka {
          logger-startup-timeout = 10s
          log-dead-letters = off
        }
        """;

    /// <summary>
    /// Akka logs through Microsoft.Extensions.Logging, from warnings (its INFO lines are routine start and stop steps;
    /// <c>--set akka.loglevel=INFO</c> shows them). Dead letters, which Akka logs at INFO, are logged as warnings by
    /// <see cref="DeadLetterLogger"/> instead.
    /// </summary>
    private static readonly string LoggerFactoryLogging = $$"""
        akka {
          loggers = ["{{typeof(LoggerFactoryLogger).FullName}}, {{typeof(LoggerFactoryLogger).Assembly.GetName().Name}}"]
          logger-startup-timeout = 10s
          log-dead-letters = off
        }
        """;

    private static string Defaults()
    {
        var bindings = new StringBuilder();
        foreach (var type in ImageEventSerializer.Manifests.Select(m => m.Type).Concat(ImagesAkkaSerializer.MessageManifests.Select(m => m.Type)).Distinct())
        {
            bindings.Append('"').Append(type.FullName).Append(", ").Append(type.Assembly.GetName().Name).Append("\" = images\n");
        }

        return $$"""
            akka {
              loglevel = WARNING
              stdout-loglevel = WARNING
              actor {
                provider = cluster
                serializers.images = "{{typeof(ImagesAkkaSerializer).FullName}}, {{typeof(ImagesAkkaSerializer).Assembly.GetName().Name}}"
                serialization-bindings {
            {{bindings}}
                }
              }
              remote.dot-netty.tcp {
                hostname = 127.0.0.1
                port = 0
              }
              cluster {
                # A lone node is up at once; a cluster's nodes agree as fast as loopback allows.
                gossip-interval = 200ms
                leader-actions-interval = 200ms
                periodic-tasks-initial-delay = 0s
                min-nr-of-members = 1
                sharding {
                  # The coordinator's state lives in distributed data, not in the journal; entities are not remembered.
                  state-store-mode = ddata
                  remember-entities = off
                  # Entities passivate themselves when idle (they know what they still hold: exports, waiters).
                  passivate-idle-entity-after = off
                  retry-interval = 100ms
                }
                singleton.hand-over-retry-interval = 100ms
                # Akka.NET's proxy warns that it found no singleton the moment it starts (its first check has no delay),
                # which would greet every start; the eviction and auto-update singletons buffer what is sent meanwhile.
                singleton-proxy.log-singleton-identification-failure = off
              }
              coordinated-shutdown.exit-clr = off
              coordinated-shutdown.run-by-clr-shutdown-hook = off
            }
            """;
    }
}
