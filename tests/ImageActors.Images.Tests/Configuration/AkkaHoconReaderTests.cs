using ImageActors.Images.Configuration;

namespace ImageActors.Images.Tests.Configuration;

/// <summary>
/// Configuration as Akka.NET's HOCON parser reads it: what users write in <c>akka.hocon</c>, overlays and
/// <c>--set</c>, the origin each value reports, and the errors a user gets for what that parser cannot read.
/// </summary>
public sealed class AkkaHoconReaderTests
{
    private static readonly Func<string, string?> NoEnvironment = _ => null;

    private static HoconConfig Parse(string text) =>
        new HoconConfigBuilder().WithEnvironment(NoEnvironment).AddText(text, "test.hocon").Build();

    private static ConfigurationException ParseFails(string text) =>
        Assert.Throws<ConfigurationException>(() => Parse(text));

    [Fact]
    public void Dotted_keys_and_nested_objects_address_the_same_value()
    {
        var config = Parse("""
            a.b.c = 1
            a { b { d = 2 } }
            a.e = 3
            """);

        Assert.Equal(1, config.GetInt("a.b.c"));
        Assert.Equal(2, config.GetInt("a.b.d"));
        Assert.Equal(3, config.GetInt("a.e"));
    }

    [Fact]
    public void Comments_are_ignored_and_quoted_strings_keep_what_looks_like_one()
    {
        var config = Parse("""
            # a comment line
            a = 1 # trailing
            // another comment
            b = "x # not a comment // either"
            """);

        Assert.Equal(1, config.GetInt("a"));
        Assert.Equal("x # not a comment // either", config.GetString("b"));
    }

    [Fact]
    public void Later_object_definitions_merge_into_earlier_ones_and_a_later_scalar_replaces_an_object()
    {
        var config = Parse("""
            images { replicas = 1, workers = 4 }
            images { replicas = 2 }
            server { a = 1 }
            server = off
            """);

        Assert.Equal(2, config.GetInt("images.replicas"));
        Assert.Equal(4, config.GetInt("images.workers"));
        Assert.Equal("off", config.GetString("server"));
    }

    [Fact]
    public void Null_unsets_a_key()
    {
        var config = Parse("a = 1\na = null\n");

        Assert.False(config.HasPath("a"));
        Assert.Null(config.GetString("a"));
    }

    [Fact]
    public void Arrays_hold_strings_and_objects_and_an_empty_array_is_a_list()
    {
        var config = Parse("""
            names = [a, "b c", 3]
            upstreams = [
              "simplestreams:https://images.example",
              { url = "https://incus.example:8443", protocol = incus },
            ]
            none = []
            """);

        Assert.Equal(["a", "b c", "3"], config.GetStringList("names"));
        var upstreams = Assert.IsType<HoconArray>(config.GetValue("upstreams"));
        Assert.Equal(2, upstreams.Items.Count);
        Assert.True(Assert.IsType<HoconObject>(upstreams.Items[1]).TryGetValue("protocol", out var protocol));
        Assert.Equal("incus", protocol.ToString());
        Assert.Empty(config.GetStringList("none"));
    }

    [Fact]
    public void A_substitution_sees_the_last_value_of_what_it_refers_to_and_concatenates_with_text()
    {
        var config = Parse("""
            data_dir = ./data
            journal = ${data_dir}/journal.db
            data_dir = /srv/imageactors
            """);

        Assert.Equal("/srv/imageactors/journal.db", config.GetString("journal"));
    }

    [Fact]
    public void An_undefined_substitution_names_the_file_line_and_substitution()
    {
        var error = ParseFails("a = 1\nb = ${nowhere}/x\n");

        Assert.StartsWith("test.hocon:2: ${nowhere} is not defined", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void An_optional_environment_substitution_is_an_error_naming_its_line_not_a_silently_lost_value()
    {
        var error = ParseFails("# data\ndata_dir = ./data\ndata_dir = ${?IMAGEACTORS_DATA}\nimages.replicas = 2\n");

        Assert.StartsWith("test.hocon:3: ${?VAR} is not read by Akka's HOCON parser", error.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("a = 1\nb = \"\\q\"\n", "test.hocon: syntax error: Unknown escape code: q")]
    [InlineData("a = 1\n,\nb = 2\n", "test.hocon:2: syntax error")]
    [InlineData("a = 1\nb = $x\n", "test.hocon:2: syntax error")]
    public void Text_Akkas_parser_rejects_names_the_file_and_the_line_where_the_parser_gives_a_position(string text, string expected)
    {
        Assert.StartsWith(expected, ParseFails(text).Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Values_remember_the_file_they_were_written_in()
    {
        var config = Parse("a = 1\nb { c = 2 }\n");

        Assert.Equal(ConfigOrigin.InFile("test.hocon"), config.GetValue("a")!.Origin);
        Assert.Equal("test.hocon", config.GetValue("b.c")!.Origin.ToString());
    }

    [Fact]
    public void Overrides_replace_values_merge_into_objects_and_report_their_origin()
    {
        var config = new HoconConfigBuilder()
            .AddText("images { replicas = 1, workers = 4 }\nserver.port = 1\n", "akka.hocon")
            .AddOverride("images.replicas", "3")
            .AddOverride("server", "{ address = \"[::]:8443\" }")
            .AddOverride("images.upstreams", "[\"https://a.example\", \"https://b.example\"]")
            .Build();

        Assert.Equal(3, config.GetInt("images.replicas"));
        Assert.Equal("--set", config.GetValue("images.replicas")!.Origin.ToString());
        Assert.Equal("akka.hocon", config.GetValue("images.workers")!.Origin.ToString());
        Assert.Equal("[::]:8443", config.GetString("server.address"));
        Assert.Equal(1, config.GetInt("server.port"));
        Assert.Equal(["https://a.example", "https://b.example"], config.GetStringList("images.upstreams"));
    }

    [Fact]
    public void An_override_is_literal_text_so_a_connection_string_survives()
    {
        const string connection = "Host=db;Password=a#b;c // d";

        var config = new HoconConfigBuilder().AddOverride("persistence.postgresql.connection_string", connection).Build();

        Assert.Equal(connection, config.GetString("persistence.postgresql.connection_string"));
    }

    [Fact]
    public void An_override_changes_what_substitutions_in_the_files_see_and_may_refer_to_other_keys()
    {
        var config = new HoconConfigBuilder()
            .AddText("data_dir = ./data\njournal = ${data_dir}/journal.db\n", "akka.hocon")
            .AddOverride("data_dir", "/srv/data", "--data")
            .AddOverride("socket", "${data_dir}/unix.socket")
            .Build();

        Assert.Equal("/srv/data/journal.db", config.GetString("journal"));
        Assert.Equal("/srv/data/unix.socket", config.GetString("socket"));
        Assert.Equal("--data", config.GetValue("data_dir")!.Origin.ToString());
        Assert.Equal("akka.hocon", config.GetValue("journal")!.Origin.ToString());
    }

    [Theory]
    [InlineData("images..replicas")]
    [InlineData("images.replicas ")]
    [InlineData("images.\"replicas\"")]
    public void An_override_of_something_that_is_not_a_key_path_is_refused(string path)
    {
        var error = Assert.Throws<ConfigurationException>(() => new HoconConfigBuilder().AddOverride(path, "1"));

        Assert.Contains("is not a valid key path", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void An_override_with_an_optional_environment_substitution_is_refused_naming_the_key()
    {
        var error = Assert.Throws<ConfigurationException>(() => new HoconConfigBuilder().AddOverride("data_dir", "${?HOME}"));

        Assert.StartsWith("data_dir (--set): ${?VAR} is not read by Akka's HOCON parser", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void A_key_that_names_an_environment_variable_takes_its_value_over_the_files_and_under_set()
    {
        var key = ConfigKey.Text("data_dir", "./data", "data", environmentVariable: "IMAGEACTORS_DATA");
        var environment = new Dictionary<string, string> { ["IMAGEACTORS_DATA"] = "/env/data" };

        HoconConfigBuilder Builder() => new HoconConfigBuilder()
            .WithEnvironment(environment.GetValueOrDefault)
            .AddText("data_dir = ./data\njournal = ${data_dir}/journal.db\n", "akka.hocon")
            .AddEnvironment([key]);

        var fromEnvironment = Builder().Build();
        var fromSet = Builder().AddOverride("data_dir", "/set/data").Build();

        Assert.Equal("/env/data/journal.db", fromEnvironment.GetString("journal"));
        Assert.Equal("env IMAGEACTORS_DATA", fromEnvironment.GetValue("data_dir")!.Origin.ToString());
        Assert.Equal("/set/data/journal.db", fromSet.GetString("journal"));
        environment["IMAGEACTORS_DATA"] = string.Empty;
        Assert.Equal("./data/journal.db", Builder().Build().GetString("journal"));
    }

    [Fact]
    public void The_akka_section_becomes_hocon_that_Akka_reads_back_unchanged()
    {
        var config = new HoconConfigBuilder()
            .AddText("akka { loglevel = DEBUG\n actor.serialize-messages = on\n remote.dot-netty.tcp.hostname = \"a # b\" }\n", "akka.hocon")
            .AddOverride("akka.cluster.seed-nodes", "[\"akka.tcp://imageactors@10.0.0.1:4053\"]")
            .AddOverride("akka.persistence.journal.sql.connection-string", "Host=db;Password=x=y")
            .Build();

        var akka = Akka.Configuration.ConfigurationFactory.ParseString(config.ToHocon("akka"));

        Assert.Equal("DEBUG", akka.GetString("akka.loglevel"));
        Assert.True(akka.GetBoolean("akka.actor.serialize-messages"));
        Assert.Equal("a # b", akka.GetString("akka.remote.dot-netty.tcp.hostname"));
        Assert.Equal(["akka.tcp://imageactors@10.0.0.1:4053"], akka.GetStringList("akka.cluster.seed-nodes"));
        Assert.Equal("Host=db;Password=x=y", akka.GetString("akka.persistence.journal.sql.connection-string"));
        Assert.Null(Parse("images.replicas = 1").ToHocon("akka"));
    }
}
