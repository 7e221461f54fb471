namespace ImageActors.Images.Configuration;

/// <summary>Settings of the actor system: mailboxes, asks, passivation and recovery.</summary>
public sealed record ActorSystemOptions
{
    /// <summary>The keys this class reads.</summary>
    public static class Keys
    {
        /// <summary><c>actors.throughput</c>.</summary>
        public static ConfigKey Throughput { get; } = ConfigKey.Integer(
            "actors.throughput", 100, "messages an actor handles per turn before it yields its thread (fairness)", 1, 1_000_000);

        /// <summary><c>actors.ask_timeout</c>.</summary>
        public static ConfigKey AskTimeout { get; } = ConfigKey.Duration(
            "actors.ask_timeout", "30s", "how long a short request to an actor (a record, an alias change, a delete) waits for its answer; downloads, imports and unpacks wait while they make progress");

        /// <summary><c>actors.passivation_idle_timeout</c>.</summary>
        public static ConfigKey PassivationIdleTimeout { get; } = ConfigKey.Duration(
            "actors.passivation_idle_timeout", "2m", "an entity that received no message for this long is stopped; 0 = never");

        /// <summary><c>actors.max_concurrent_recoveries</c>.</summary>
        public static ConfigKey MaxConcurrentRecoveries { get; } = ConfigKey.Integer(
            "actors.max_concurrent_recoveries", 50, "persistent actors replaying their journal at the same time; the rest wait", 1);
    }

    /// <summary>The schema section of these keys.</summary>
    public static ConfigSection Section { get; } = new("actors",
        [Keys.Throughput, Keys.AskTimeout, Keys.PassivationIdleTimeout, Keys.MaxConcurrentRecoveries]);

    /// <summary>Messages an actor handles per turn before yielding its thread.</summary>
    public int Throughput { get; init; } = 100;

    /// <summary>How long a short request to an actor waits for its answer.</summary>
    public TimeSpan AskTimeout { get; init; } = TimeSpan.FromSeconds(30);

    /// <summary>Idle time after which an entity is passivated; <see cref="TimeSpan.Zero"/> = never.</summary>
    public TimeSpan PassivationIdleTimeout { get; init; } = TimeSpan.FromMinutes(2);

    /// <summary>How many persistent actors may recover at the same time.</summary>
    public int MaxConcurrentRecoveries { get; init; } = 50;

    /// <summary>Reads and checks the keys; absent keys take their defaults.</summary>
    /// <exception cref="ConfigurationException">A value is invalid (the message names key, file and line).</exception>
    public static ActorSystemOptions Bind(HoconConfig config) => new()
    {
        Throughput = config.GetInt(Keys.Throughput),
        AskTimeout = config.GetDuration(Keys.AskTimeout),
        PassivationIdleTimeout = config.GetDuration(Keys.PassivationIdleTimeout),
        MaxConcurrentRecoveries = config.GetInt(Keys.MaxConcurrentRecoveries),
    };
}
