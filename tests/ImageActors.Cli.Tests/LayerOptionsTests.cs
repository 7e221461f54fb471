using System.Net;
using ImageActors.Cli.Configuration;
using ImageActors.Images.Configuration;
using ImageActors.Server.Configuration;

namespace ImageActors.Cli.Tests;

/// <summary>The shipped configuration files and the options classes of every layer, checked together.</summary>
public sealed class LayerOptionsTests
{
    private static readonly Dictionary<string, string> NoVariables = [];

    private static ImageActorsConfiguration Load(string file, IReadOnlyDictionary<string, string>? environment = null, params string[] overrides) =>
        ImageActorsConfiguration.Load(new ConfigurationRequest(Repository.File(file), null, overrides), (environment ?? NoVariables).GetValueOrDefault);

    [Theory]
    [InlineData("akka.hocon")]
    [InlineData("config/embedded.hocon")]
    [InlineData("config/appliance.hocon")]
    [InlineData("config/cluster.hocon")]
    public void The_shipped_configuration_files_load_and_validate_cleanly(string file)
    {
        var configuration = Load(file);

        Assert.Empty(ImageActorsConfiguration.Schema.Check(configuration.Config));
        Assert.All(configuration.Effective(), s => Assert.NotEqual(ConfigOriginKind.Default, s.Origin.Kind));
    }

    [Fact]
    public void The_shipped_akka_hocon_sets_what_the_options_classes_default_to()
    {
        var configuration = Load("akka.hocon");

        Assert.Equal(new NodeOptions(), configuration.Node);
        Assert.Equal(new ActorSystemOptions(), configuration.ActorSystem);
        Assert.Equal(new PersistenceOptions(), configuration.Persistence);
        Assert.Equal(new ImagesOptions(), configuration.Images);
        Assert.Equal(new ServerOptions(), configuration.Server);
    }

    [Fact]
    public void The_schema_defaults_agree_with_the_options_classes()
    {
        Assert.Equal(new PersistenceOptions(), PersistenceOptions.Bind(HoconConfig.Empty));
        Assert.Equal(new ImagesOptions(), ImagesOptions.Bind(HoconConfig.Empty));
        Assert.Equal(new ServerOptions(), ServerOptions.Bind(HoconConfig.Empty));
    }

    [Fact]
    public void Every_key_is_in_akka_hocon_under_a_one_line_comment()
    {
        var lines = File.ReadAllLines(Repository.File("akka.hocon"));
        var config = new HoconConfigBuilder().WithEnvironment(_ => null).AddFile(Repository.File("akka.hocon")).Build();

        foreach (var key in ImageActorsConfiguration.Schema.Keys)
        {
            Assert.True(config.GetValue(key.Path) is not null, $"{key.Path} is not in akka.hocon");
            var name = key.Path[(key.Path.LastIndexOf('.') + 1)..];
            var index = Array.FindIndex(lines, l => l.TrimStart().StartsWith(name + " = ", StringComparison.Ordinal));
            Assert.True(index >= 2, $"{key.Path} is not written as '{name} = ...' in akka.hocon");
            Assert.True(lines[index - 1].TrimStart().StartsWith('#') || lines[index - 2].TrimStart().StartsWith('#'), $"{key.Path} (akka.hocon:{index + 1}) has no comment above it");
        }
    }

    [Fact]
    public void The_incus_image_keys_have_incus_names_and_defaults()
    {
        var images = Load("akka.hocon").Images;

        Assert.Equal(TimeSpan.FromDays(10), images.RemoteCacheExpiry);
        Assert.Equal(TimeSpan.FromHours(6), images.AutoUpdateInterval);
        Assert.True(images.AutoUpdateCached);
        Assert.Null(images.DefaultArchitecture);
        Assert.Null(images.CacheMaxSize);
        Assert.Equal(1, images.Replicas);
        Assert.Equal(
            ["images.remote_cache_expiry", "images.auto_update_interval", "images.auto_update_cached", "images.default_architecture"],
            ImagesOptions.Section.Keys.Take(4).Select(k => k.Path));
    }

    [Fact]
    public void Incus_style_plain_numbers_are_days_and_hours()
    {
        var images = Load("akka.hocon", null, "images.remote_cache_expiry=3", "images.auto_update_interval=12").Images;

        Assert.Equal(TimeSpan.FromDays(3), images.RemoteCacheExpiry);
        Assert.Equal(TimeSpan.FromHours(12), images.AutoUpdateInterval);
    }

    [Fact]
    public void The_overlays_change_what_they_say_they_change()
    {
        var embedded = Load("config/embedded.hocon");
        var appliance = Load("config/appliance.hocon");
        var cluster = Load("config/cluster.hocon");

        Assert.Null(embedded.Server.UnixSocket);
        Assert.Equal(10, embedded.ActorSystem.Throughput);
        Assert.Equal(new IPEndPoint(IPAddress.IPv6Any, 8443), appliance.Server.HttpsAddress);
        Assert.Equal(200L << 30, appliance.Images.CacheMaxSize);
        Assert.Equal("/var/lib/imageactors/journal.db", appliance.Persistence.SqlitePath);
        Assert.Equal("postgresql", cluster.Persistence.Plugin);
        Assert.Equal(2, cluster.Images.Replicas);
    }

    [Fact]
    public void Environment_variables_override_the_overlays()
    {
        var environment = new Dictionary<string, string>
        {
            ["IMAGEACTORS_DATA"] = "/mnt/images",
            ["IMAGEACTORS_POSTGRESQL"] = "Host=db.internal;Database=images",
        };

        var appliance = Load("config/appliance.hocon", environment);
        var cluster = Load("config/cluster.hocon", environment);

        Assert.Equal("/mnt/images", appliance.Node.DataDirectory);
        Assert.Equal("/mnt/images/server.crt", appliance.Server.Certificate);
        Assert.Equal("Host=db.internal;Database=images", cluster.Persistence.PostgreSqlConnectionString);
    }

    [Fact]
    public void PostgreSql_without_a_connection_string_stops_start_up_naming_the_key()
    {
        var error = Assert.Throws<ConfigurationException>(() => Load("akka.hocon", null, "persistence.plugin=postgresql"));

        Assert.Equal("persistence.postgresql.connection_string (--set): must be set when persistence.plugin = postgresql", error.Message);
    }

    [Theory]
    [InlineData("images.default_architecture=aarch64", true)]
    [InlineData("images.default_architecture=amd64", true)]
    [InlineData("images.default_architecture=sparc", false)]
    [InlineData("images.cache_max_size=10GiB", true)]
    [InlineData("images.cache_max_size=0", false)]
    [InlineData("images.replicas=0", false)]
    [InlineData("images.remote_cache_expiry=0", true)]
    [InlineData("images.remote_cache_expiry=-1", false)]
    [InlineData("server.https_address=[::1]:8443", true)]
    [InlineData("server.https_address=localhost:99999", false)]
    [InlineData("server.https_address=8443", false)]
    [InlineData("server.https_address=:8443", true)]
    [InlineData("server.https_address=example.com:8443", false)]
    [InlineData("server.http_address=127.0.0.1:8080", true)]
    [InlineData("persistence.plugin=mysql", false)]
    [InlineData("persistence.sqlite.synchronous=full", true)]
    [InlineData("persistence.sqlite.synchronous=off", false)]
    [InlineData("persistence.max_batch_size=0", false)]
    [InlineData("actors.ask_timeout=5s", true)]
    [InlineData("actors.ask_timeout=5", false)]
    public void Each_value_is_checked_against_its_key(string assignment, bool valid)
    {
        var equals = assignment.IndexOf('=', StringComparison.Ordinal);
        var key = assignment[..equals];

        var error = Record.Exception(() => Load("akka.hocon", null, assignment));

        if (valid)
        {
            Assert.Null(error);
        }
        else
        {
            var problem = Assert.Single(Assert.IsType<ConfigurationException>(error).Errors);
            Assert.Equal(key, problem.Path);
            Assert.Equal("--set", problem.Origin.ToString());
        }
    }

    [Fact]
    public void Persistence_options_become_the_journal_and_store_settings()
    {
        var persistence = Load("config/cluster.hocon", null, "persistence.max_batch_size=42", "persistence.queue_capacity=7", "persistence.sqlite.synchronous=full").Persistence;

        Assert.Equal(42, persistence.MaxBatchSize);
        Assert.Equal(7, persistence.QueueCapacity);
        Assert.True(persistence.SqliteFullSync);
        Assert.Equal("./data/journal.db", persistence.SqlitePath);
        Assert.Equal("Host=localhost;Database=imageactors;Username=imageactors", persistence.PostgreSqlConnectionString);
    }

    [Fact]
    public void Image_options_become_the_unpack_limits_and_default_to_the_unpacker_defaults()
    {
        Assert.Equal(new Streaming.Archives.UnpackLimits(), new ImagesOptions().ToUnpackLimits());

        var limits = Load("akka.hocon", null, "images.unpack_max_size=1GiB", "images.unpack_max_entries=500", "images.unpack_max_ratio=50").Images.ToUnpackLimits();

        Assert.Equal(1L << 30, limits.MaxTotalBytes);
        Assert.Equal(500, limits.MaxEntries);
        Assert.Equal(50, limits.MaxCompressionRatio);
    }

    [Fact]
    public void The_default_architecture_is_kept_under_its_canonical_Incus_name() =>
        Assert.Equal("x86_64", Load("akka.hocon", null, "images.default_architecture=amd64").Images.DefaultArchitecture);
}
