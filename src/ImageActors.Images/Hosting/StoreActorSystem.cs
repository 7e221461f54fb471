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

    /// <summary>
    /// The configuration: the caller's HOCON, then logging through the host's logger factory (when there is one), then
    /// the persistence plugins, then the store's defaults.
    /// </summary>
    public static Config Build(ImageStoreSettings settings)
    {
        var config = ConfigurationFactory.ParseString(Defaults()).WithFallback(settings.Persistence.ToConfig());
        if (settings.LoggerFactory is not null)
        {
            config = ConfigurationFactory.ParseString(LoggerFactoryLogging).WithFallback(config);
        }

        return string.IsNullOrWhiteSpace(settings.AkkaHocon) ? config : ConfigurationFactory.ParseString(settings.AkkaHocon).WithFallback(config);
    }

    /// <summary>Starts the system and waits until this node is an Up member of its cluster.</summary>
    public static async Task<ActorSystem> StartAsync(ImageStoreSettings settings, CancellationToken cancellationToken)
    {
        var setup = ActorSystemSetup.Create(BootstrapSetup.Create().WithConfig(Build(settings)));
        if (settings.LoggerFactory is not null)
        {
            setup = setup.And(new LoggerFactorySetup(settings.LoggerFactory));
        }

        var system = ActorSystem.Create(Name, setup);
        if (settings.LoggerFactory is not null)
        {
            system.ActorOf(DeadLetterLogger.Props(settings.LoggerFactory), "dead-letter-logger");
        }

        try
        {
            var cluster = Cluster.Get(system);
            var up = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
            cluster.RegisterOnMemberUp(() => up.TrySetResult());
            if (cluster.Settings.SeedNodes.Count == 0)
            {
                // No seed nodes configured: a node of its own.
                cluster.Join(cluster.SelfAddress);
            }

            await up.Task.WaitAsync(settings.StartTimeout, cancellationToken).ConfigureAwait(false);
            return system;
        }
        catch
        {
            await system.Terminate().ConfigureAwait(false);
            throw;
        }
    }

    /// <summary>Leaves the cluster and stops the system (CoordinatedShutdown: entities hand off, then remoting stops).</summary>
    public static async Task StopAsync(ActorSystem system)
    {
        await CoordinatedShutdown.Get(system).Run(CoordinatedShutdown.ClrExitReason.Instance).ConfigureAwait(false);
        await system.WhenTerminated.ConfigureAwait(false);
    }

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
