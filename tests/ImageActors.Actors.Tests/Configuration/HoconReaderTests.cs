using ImageActors.Actors.Configuration;

namespace ImageActors.Actors.Tests.Configuration;

public sealed class HoconReaderTests
{
    private static readonly Func<string, string?> NoEnvironment = _ => null;

    private static HoconConfig Parse(string text, Func<string, string?>? environment = null) =>
        new HoconConfigBuilder().WithEnvironment(environment ?? NoEnvironment).AddText(text, "test.hocon").Build();

    private static ConfigurationException ParseFails(string text, Func<string, string?>? environment = null) =>
        Assert.Throws<ConfigurationException>(() => Parse(text, environment));

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
    public void Equals_colon_and_an_object_without_separator_all_assign()
    {
        var config = Parse("""
            a = 1
            b : 2
            c { x = 3 }
            d = { x = 4 }, e: 5
            """);

        Assert.Equal([1, 2, 3, 4, 5], new[] { "a", "b", "c.x", "d.x", "e" }.Select(config.GetInt));
    }

    [Fact]
    public void A_braced_root_and_json_are_read_like_the_unbraced_form()
    {
        var config = Parse("""
            {
              "images": { "replicas": 2, "names": ["a", "b"] }
            }
            """);

        Assert.Equal(2, config.GetInt("images.replicas"));
        Assert.Equal(["a", "b"], config.GetStringList("images.names"));
    }

    [Fact]
    public void Hash_and_double_slash_comments_are_ignored_but_not_inside_quotes()
    {
        var config = Parse("""
            # a comment line
            a = 1 # trailing
            // another comment
            b = 2 // trailing
            c = "not # a comment // either"
            d = path/to//comment
            """);

        Assert.Equal(1, config.GetInt("a"));
        Assert.Equal(2, config.GetInt("b"));
        Assert.Equal("not # a comment // either", config.GetString("c"));
        Assert.Equal("path/to", config.GetString("d"));
    }

    [Fact]
    public void Quoted_strings_unescape_json_escapes_and_keep_dots_in_keys()
    {
        var config = Parse("""
            a = "tab\there \"quoted\" back\\slash \u00e9 line\nbreak"
            "dotted.key" = yes
            """);

        Assert.Equal("tab\there \"quoted\" back\\slash \u00e9 line\nbreak", config.GetString("a"));
        Assert.True(config.Root.TryGetValue("dotted.key", out _));
    }

    [Fact]
    public void Unquoted_strings_and_concatenations_keep_inner_whitespace()
    {
        var config = Parse("""
            a = hello world
            b = 30 s
            c = foo "bar" baz
            """);

        Assert.Equal("hello world", config.GetString("a"));
        Assert.Equal(TimeSpan.FromSeconds(30), config.GetDuration("b"));
        Assert.Equal("foo bar baz", config.GetString("c"));
    }

    [Fact]
    public void Triple_quoted_strings_are_raw_and_span_lines()
    {
        var config = Parse(""""
            a = """no \n escapes "here"
            second line"""
            b = 1
            """");

        Assert.Equal("no \\n escapes \"here\"\nsecond line", config.GetString("a"));
        Assert.Equal(1, config.GetInt("b"));
    }

    [Fact]
    public void Null_unsets_a_key_but_quoted_null_is_text()
    {
        var config = Parse("""
            a = 1
            a = null
            b = "null"
            """);

        Assert.False(config.HasPath("a"));
        Assert.Equal("null", config.GetString("b"));
    }

    [Fact]
    public void Arrays_hold_values_and_objects_across_lines_with_a_trailing_comma()
    {
        var config = Parse("""
            list = [
              one, "two"
              three,
            ]
            objects = [{ name = a }, { name = b }]
            empty = []
            """);

        Assert.Equal(["one", "two", "three"], config.GetStringList("list"));
        var objects = Assert.IsType<HoconArray>(config.GetValue("objects"));
        Assert.Equal(2, objects.Items.Count);
        Assert.Empty(config.GetStringList("empty"));
    }

    [Fact]
    public void Later_object_definitions_merge_into_earlier_ones()
    {
        var config = Parse("""
            images { replicas = 1, workers = 4 }
            images { replicas = 3 }
            images.extra = x
            """);

        Assert.Equal(3, config.GetInt("images.replicas"));
        Assert.Equal(4, config.GetInt("images.workers"));
        Assert.Equal("x", config.GetString("images.extra"));
    }

    [Fact]
    public void A_later_scalar_replaces_an_earlier_object_and_a_later_object_replaces_a_scalar()
    {
        var config = Parse("""
            a { x = 1 }
            a = 2
            b = 1
            b { y = 2 }
            """);

        Assert.Equal(2, config.GetInt("a"));
        Assert.Equal(2, config.GetInt("b.y"));
    }

    [Fact]
    public void Substitution_may_refer_to_a_value_defined_later_and_concatenate_with_text()
    {
        var config = Parse("""
            journal = ${data_dir}/journal.db
            socket = ${data_dir}"/unix.socket"
            data_dir = ./data
            data_dir = /srv/data
            """);

        Assert.Equal("/srv/data/journal.db", config.GetString("journal"));
        Assert.Equal("/srv/data/unix.socket", config.GetString("socket"));
    }

    [Fact]
    public void Substitution_copies_objects_and_merges_them_with_later_fields()
    {
        var config = Parse("""
            base { a = 1, b = 2 }
            derived = ${base}
            derived { b = 3 }
            """);

        Assert.Equal(1, config.GetInt("derived.a"));
        Assert.Equal(3, config.GetInt("derived.b"));
        Assert.Equal(2, config.GetInt("base.b"));
    }

    [Fact]
    public void Optional_substitution_of_an_undefined_path_keeps_the_earlier_value()
    {
        var config = Parse("""
            data_dir = ./data
            data_dir = ${?IMAGEACTORS_TEST_UNSET}
            only_optional = ${?IMAGEACTORS_TEST_UNSET}
            """);

        Assert.Equal("./data", config.GetString("data_dir"));
        Assert.Null(config.GetValue("only_optional"));
    }

    [Fact]
    public void Optional_substitution_reads_the_environment_when_the_path_is_not_in_the_configuration()
    {
        var environment = new Dictionary<string, string> { ["IMAGEACTORS_DATA"] = "/var/lib/x" };

        var config = Parse("""
            data_dir = ./data
            data_dir = ${?IMAGEACTORS_DATA}
            journal = ${data_dir}/journal.db
            """, environment.GetValueOrDefault);

        Assert.Equal("/var/lib/x", config.GetString("data_dir"));
        Assert.Equal("/var/lib/x/journal.db", config.GetString("journal"));
        var origin = config.GetValue("data_dir")!.Origin;
        Assert.Equal(ConfigOriginKind.Environment, origin.Kind);
        Assert.Equal("env IMAGEACTORS_DATA", origin.ToString());
    }

    [Fact]
    public void Environment_overrides_come_from_the_process_environment_by_default()
    {
        var name = "IMAGEACTORS_TEST_" + Guid.NewGuid().ToString("N");
        Environment.SetEnvironmentVariable(name, "from-process");
        try
        {
            var config = new HoconConfigBuilder().AddText($"a = default\na = ${{?{name}}}\nb = ${{{name}}}", "test.hocon").Build();

            Assert.Equal("from-process", config.GetString("a"));
            Assert.Equal("from-process", config.GetString("b"));
        }
        finally
        {
            Environment.SetEnvironmentVariable(name, null);
        }
    }

    [Fact]
    public void A_value_from_the_configuration_wins_over_an_environment_variable_of_the_same_name()
    {
        var config = Parse("HOME = configured\na = ${HOME}", _ => "from-environment");

        Assert.Equal("configured", config.GetString("a"));
    }

    [Fact]
    public void An_undefined_required_substitution_names_the_file_and_line()
    {
        var error = ParseFails("""
            a = 1

            b = ${does.not.exist}
            """);

        Assert.Contains("test.hocon:3", error.Message, StringComparison.Ordinal);
        Assert.Contains("${does.not.exist}", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void A_substitution_cycle_is_an_error_not_a_hang()
    {
        var error = ParseFails("""
            a = ${b}
            b = ${c}
            c = ${a}
            """);

        Assert.Contains("cycle", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void A_self_referential_substitution_extends_the_earlier_value()
    {
        var config = Parse("""
            path = /usr/bin
            path = ${path}":/usr/local/bin"
            path = ${?path}":/opt/bin"
            fresh = ${?fresh} start
            """);

        Assert.Equal("/usr/bin:/usr/local/bin:/opt/bin", config.GetString("path"));
        Assert.Equal("start", config.GetString("fresh"));
    }

    [Fact]
    public void Plus_equals_appends_to_an_array_and_substituted_arrays_concatenate()
    {
        var config = Parse("""
            servers = [a]
            servers += b
            servers += c
            more = ${servers} [d]
            created += x
            """);

        Assert.Equal(["a", "b", "c"], config.GetStringList("servers"));
        Assert.Equal(["a", "b", "c", "d"], config.GetStringList("more"));
        Assert.Equal(["x"], config.GetStringList("created"));
    }

    [Fact]
    public void Values_remember_the_file_and_line_they_were_written_on()
    {
        var config = Parse("""
            a = 1

            b {
              c = two
            }
            """);

        Assert.Equal("test.hocon:1", config.GetValue("a")!.Origin.ToString());
        Assert.Equal("test.hocon:4", config.GetValue("b.c")!.Origin.ToString());
    }

    [Theory]
    [InlineData("a = 1\nb = \"unclosed\n", "test.hocon:2:5", "not closed")]
    [InlineData("a = 1\n  b c = 2\n", "test.hocon:2:5", "expected '='")]
    [InlineData("a {\n  b = 1\n", "test.hocon:3:1", "expected '}'")]
    [InlineData("a = [1, 2\n", "test.hocon:1:5", "not closed")]
    [InlineData("a = \"\\q\"\n", "test.hocon:1:7", "unknown escape")]
    [InlineData("a = 1 }\n", "test.hocon:1:7", "unexpected '}'")]
    [InlineData("x = ${unclosed\n", "test.hocon:1:15", "expected '}'")]
    [InlineData("a = \n", "test.hocon:1:5", "expected a value")]
    public void A_syntax_error_names_the_file_line_and_column(string text, string position, string message)
    {
        var error = ParseFails(text);

        var problem = Assert.Single(error.Errors);
        Assert.Equal(position, problem.Origin.ToString());
        Assert.Contains(message, problem.Message, StringComparison.Ordinal);
        Assert.StartsWith(position + ": ", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Overrides_replace_values_merge_into_objects_and_report_their_origin()
    {
        var config = new HoconConfigBuilder()
            .WithEnvironment(NoEnvironment)
            .AddText("images { replicas = 1, workers = 4 }\njournal = ${data_dir}/journal.db\ndata_dir = ./data", "test.hocon")
            .AddOverride("images.replicas", "3")
            .AddOverride("data_dir", "/srv/x", "--data")
            .AddOverride("list", "[a, b]")
            .Build();

        Assert.Equal(3, config.GetInt("images.replicas"));
        Assert.Equal(4, config.GetInt("images.workers"));
        Assert.Equal("--set", config.GetValue("images.replicas")!.Origin.ToString());
        Assert.Equal("/srv/x/journal.db", config.GetString("journal"));
        Assert.Equal("--data", config.GetValue("data_dir")!.Origin.ToString());
        Assert.Equal(["a", "b"], config.GetStringList("list"));
    }

    [Fact]
    public void An_override_that_is_not_one_hocon_value_is_taken_literally()
    {
        var config = new HoconConfigBuilder()
            .AddText("cs = null", "test.hocon")
            .AddOverride("cs", "Host=db;Username=x;Password=a#b")
            .Build();

        Assert.Equal("Host=db;Username=x;Password=a#b", config.GetString("cs"));
    }

    [Fact]
    public void An_override_may_extend_the_earlier_value_and_refer_to_other_keys()
    {
        var config = new HoconConfigBuilder()
            .WithEnvironment(NoEnvironment)
            .AddText("path = /usr/bin\ndata_dir = /srv\nlist = [a]", "test.hocon")
            .AddOverride("path", "${path}\":/opt/bin\"")
            .AddOverride("journal", "${data_dir}/journal.db")
            .AddOverride("list", "${list} [b]")
            .Build();

        Assert.Equal("/usr/bin:/opt/bin", config.GetString("path"));
        Assert.Equal("/srv/journal.db", config.GetString("journal"));
        Assert.Equal(["a", "b"], config.GetStringList("list"));
    }
}
