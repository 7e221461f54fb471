using ImageActors.Actors.Configuration;

namespace ImageActors.Actors.Tests.Configuration;

public sealed class ConfigurationSchemaTests
{
    private static readonly ConfigSection Images = new("images",
    [
        ConfigKey.Duration("images.remote_cache_expiry", "10d", "expiry", DurationUnit.Days),
        ConfigKey.Duration("images.auto_update_interval", "6h", "interval", DurationUnit.Hours),
        ConfigKey.OneOf("images.compression_algorithm", "gzip", "compressor", "gzip", "xz", "none"),
        ConfigKey.Integer("images.replicas", 1, "replicas", 1, 64),
        ConfigKey.Size("images.cache_max_size", null, "bound", minimum: 1),
        ConfigKey.Boolean("images.auto_update_cached", true, "cached"),
        ConfigKey.StringList("images.mirrors", "mirrors"),
    ]);

    private static readonly ConfigurationSchema Schema = new(NodeOptions.Section, ActorSystemOptions.Section, Images);

    private static HoconConfig Parse(string text) =>
        new HoconConfigBuilder().WithEnvironment(_ => null).AddText(text, "akka.hocon").Build();

    [Fact]
    public void An_unknown_key_names_its_path_file_line_and_the_nearest_known_key()
    {
        var config = Parse(string.Concat(Enumerable.Repeat("\n", 11)) + "images.remote_cache_expiri = 10d\n");

        var error = Assert.Throws<ConfigurationException>(() => Schema.Validate(config));

        Assert.Equal("images.remote_cache_expiri (akka.hocon:12): unknown key; did you mean images.remote_cache_expiry?", error.Message);
        var problem = Assert.Single(error.Errors);
        Assert.Equal("images.remote_cache_expiry", problem.Suggestion);
        Assert.Equal(12, problem.Origin.Line);
    }

    [Theory]
    [InlineData("imagez { replicas = 2 }", "imagez.replicas", "images.replicas")]
    [InlineData("server.replicas = 2", "server.replicas", "images.replicas")]
    [InlineData("actors.througput = 5", "actors.througput", "actors.throughput")]
    [InlineData("datadir = /x", "datadir", "data_dir")]
    public void Misspelt_and_misplaced_keys_get_a_suggestion(string text, string path, string suggestion)
    {
        var problem = Assert.Single(Schema.Check(Parse(text)));

        Assert.Equal(path, problem.Path);
        Assert.Equal(suggestion, problem.Suggestion);
    }

    [Fact]
    public void A_key_far_from_every_known_key_gets_no_suggestion()
    {
        var problem = Assert.Single(Schema.Check(Parse("completely_unrelated_setting = 1")));

        Assert.Null(problem.Suggestion);
        Assert.EndsWith("unknown key", problem.ToString(), StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("images.compression_algorithm = rar", "'rar' is not one of gzip, xz, none")]
    [InlineData("images.replicas = 0", "0 is out of range (1..64)")]
    [InlineData("images.replicas = many", "'many' is not a whole number")]
    [InlineData("images.remote_cache_expiry = -1d", "negative")]
    [InlineData("images.remote_cache_expiry = soon", "not a duration")]
    [InlineData("images.cache_max_size = 10 GiBs", "not a size")]
    [InlineData("images.auto_update_cached = maybe", "not a boolean")]
    [InlineData("images.replicas { x = 1 }", "expected an integer, found an object")]
    [InlineData("images.mirrors = a", "expected a list of strings")]
    [InlineData("actors.ask_timeout = 30", "a unit is required")]
    [InlineData("images { replicas = 2 }\nimages = 5", "is a section")]
    public void A_bad_value_names_the_key_file_line_and_the_problem(string text, string problem)
    {
        var error = Assert.Throws<ConfigurationException>(() => Schema.Validate(Parse(text)));

        var single = Assert.Single(error.Errors);
        Assert.Contains(problem, single.Message, StringComparison.Ordinal);
        Assert.Contains("(akka.hocon:", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Every_problem_is_reported_at_once()
    {
        var config = Parse("""
            images.replicas = 0
            images.compresion_algorithm = xz
            actors.throughput = -5
            """);

        var error = Assert.Throws<ConfigurationException>(() => Schema.Validate(config));

        Assert.Equal(["images.replicas", "images.compresion_algorithm", "actors.throughput"], error.Errors.Select(e => e.Path));
        Assert.Equal([1, 2, 3], error.Errors.Select(e => e.Origin.Line));
    }

    [Fact]
    public void A_plain_number_uses_the_unit_its_key_documents()
    {
        var config = Parse("images.remote_cache_expiry = 3\nimages.auto_update_interval = 12");

        Schema.Validate(config);

        Assert.Equal(TimeSpan.FromDays(3), config.GetDuration(Images.Keys[0]));
        Assert.Equal(TimeSpan.FromHours(12), config.GetDuration(Images.Keys[1]));
    }

    [Fact]
    public void An_unknown_key_from_an_override_is_reported_with_its_option()
    {
        var config = new HoconConfigBuilder().AddText("images.replicas = 1", "akka.hocon").AddOverride("images.replica", "2").Build();

        var error = Assert.Throws<ConfigurationException>(() => Schema.Validate(config));

        Assert.Equal("images.replica (--set): unknown key; did you mean images.replicas?", error.Message);
    }

    [Fact]
    public void Effective_settings_show_values_and_their_origin_defaults_included()
    {
        var config = new HoconConfigBuilder()
            .WithEnvironment(name => name == "IMAGEACTORS_DATA" ? "/env/data" : null)
            .AddText("data_dir = ./data\ndata_dir = ${?IMAGEACTORS_DATA}\nimages.replicas = 2\n", "akka.hocon")
            .AddOverride("images.compression_algorithm", "xz")
            .Build();

        var settings = Schema.Effective(config).ToDictionary(s => s.Key.Path);

        Assert.Equal(("/env/data", "env IMAGEACTORS_DATA"), (settings["data_dir"].Value, settings["data_dir"].Origin.ToString()));
        Assert.Equal(("2", "akka.hocon:3"), (settings["images.replicas"].Value, settings["images.replicas"].Origin.ToString()));
        Assert.Equal(("xz", "--set"), (settings["images.compression_algorithm"].Value, settings["images.compression_algorithm"].Origin.ToString()));
        Assert.Equal(("10d", "built-in default"), (settings["images.remote_cache_expiry"].Value, settings["images.remote_cache_expiry"].Origin.ToString()));
        Assert.Null(settings["images.cache_max_size"].Value);
    }

    [Fact]
    public void Binding_reads_typed_values_and_absent_keys_take_the_class_defaults()
    {
        var config = Parse("actors { throughput = 5, ask_timeout = 2s }");

        var options = ActorSystemOptions.Bind(config);

        Assert.Equal(new ActorSystemOptions { Throughput = 5, AskTimeout = TimeSpan.FromSeconds(2) }, options);
        Assert.Equal(new ActorSystemOptions(), ActorSystemOptions.Bind(HoconConfig.Empty));
        Assert.Equal(new NodeOptions(), NodeOptions.Bind(HoconConfig.Empty));
    }

    [Fact]
    public void Binding_a_bad_value_fails_with_the_key_file_and_line()
    {
        var config = Parse("actors {\n  throughput = 0\n}");

        var error = Assert.Throws<ConfigurationException>(() => ActorSystemOptions.Bind(config));

        Assert.Equal("actors.throughput (akka.hocon:2): 0 is out of range (1..1000000)", error.Message);
    }

    [Fact]
    public void Two_sections_may_not_declare_the_same_key() =>
        Assert.Throws<ArgumentException>(() => new ConfigurationSchema(ActorSystemOptions.Section, ActorSystemOptions.Section));

    [Fact]
    public void Actor_system_options_become_the_kernel_settings()
    {
        var options = ActorSystemOptions.Bind(Parse("actors { throughput = 7, max_concurrent_recoveries = 3, passivation_idle_timeout = 0s }"));

        var settings = options.ToSettings();

        Assert.Equal(7, settings.Throughput);
        Assert.Equal(3, settings.Persistence.MaxConcurrentRecoveries);
        Assert.Null(options.ToEntityRegionSettings().PassivateIdleAfter);
        Assert.Equal(TimeSpan.FromMinutes(2), new ActorSystemOptions().ToEntityRegionSettings().PassivateIdleAfter);
    }
}
