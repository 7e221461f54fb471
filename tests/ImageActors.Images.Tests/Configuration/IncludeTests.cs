using ImageActors.Images.Configuration;

namespace ImageActors.Images.Tests.Configuration;

public sealed class IncludeTests : IDisposable
{
    private readonly DirectoryInfo _directory = Directory.CreateTempSubdirectory("imageactors-hocon-");

    public void Dispose() => _directory.Delete(recursive: true);

    private string Write(string relativePath, string text)
    {
        var path = Path.Combine(_directory.FullName, relativePath);
        Directory.CreateDirectory(Path.GetDirectoryName(path)!);
        File.WriteAllText(path, text);
        return path;
    }

    private static HoconConfig Load(string path) => new HoconConfigBuilder().WithEnvironment(_ => null).AddFile(path).Build();

    [Fact]
    public void Include_reads_a_file_relative_to_the_including_file_not_the_current_directory()
    {
        Write("akka.hocon", "data_dir = ./data\nimages { replicas = 1, workers = 4 }\njournal = ${data_dir}/journal.db\n");
        var overlay = Write("config/overlay.hocon", "include \"../akka.hocon\"\ndata_dir = /srv\nimages.replicas = 2\n");

        var config = Load(overlay);

        Assert.Equal(2, config.GetInt("images.replicas"));
        Assert.Equal(4, config.GetInt("images.workers"));
        Assert.Equal("/srv/journal.db", config.GetString("journal"));
        Assert.Equal(Path.Combine(_directory.FullName, "akka.hocon"), config.GetValue("images.workers")!.Origin.Source);
        Assert.Equal(Path.Combine(_directory.FullName, "config", "overlay.hocon"), config.GetValue("images.replicas")!.Origin.Source);
        Assert.Equal(Path.Combine(_directory.FullName, "akka.hocon"), config.GetValue("journal")!.Origin.Source);
    }

    [Fact]
    public void An_include_of_an_include_is_relative_to_the_file_that_names_it()
    {
        Write("base/akka.hocon", "a = from-base\nb = from-base\nc = from-base\n");
        Write("base/middle.hocon", "include \"akka.hocon\"\nb = from-middle\n");
        var top = Write("top/top.hocon", "include \"../base/middle.hocon\"\nc = from-top\n");

        var config = Load(top);

        Assert.Equal(("from-base", "from-middle", "from-top"), (config.GetString("a"), config.GetString("b"), config.GetString("c")));
        Assert.EndsWith("middle.hocon", config.GetValue("b")!.Origin.Source, StringComparison.Ordinal);
    }

    [Fact]
    public void Fields_before_an_include_are_overridden_by_it_and_fields_after_override_it()
    {
        Write("base.hocon", "a = from-base\nb = from-base\n");
        var main = Write("main.hocon", "a = before\ninclude \"base.hocon\"\nb = after\n");

        var config = Load(main);

        Assert.Equal("from-base", config.GetString("a"));
        Assert.Equal("after", config.GetString("b"));
    }

    [Fact]
    public void An_include_inside_an_object_nests_the_file_and_its_substitutions()
    {
        Write("images.hocon", "replicas = 2\ncopies = ${replicas}\n");
        var main = Write("main.hocon", "images { include \"images.hocon\" }\n");

        var config = Load(main);

        Assert.Equal(2, config.GetInt("images.replicas"));
        Assert.Equal(2, config.GetInt("images.copies"));
    }

    [Fact]
    public void A_missing_include_names_the_including_file_and_the_missing_one()
    {
        var main = Write("main.hocon", "a = 1\ninclude \"nowhere.hocon\"\n");

        var error = Assert.Throws<ConfigurationException>(() => Load(main));

        Assert.Contains("main.hocon: includes ", error.Message, StringComparison.Ordinal);
        Assert.Contains("nowhere.hocon, which does not exist", error.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("include required(\"base.hocon\")")]
    [InlineData("include file(\"base.hocon\")")]
    public void An_include_form_Akkas_parser_does_not_read_is_an_error_naming_the_line(string include)
    {
        Write("base.hocon", "a = 1\n");
        var main = Write("main.hocon", $"# overlay\n{include}\nb = 2\n");

        var error = Assert.Throws<ConfigurationException>(() => Load(main));

        Assert.Contains("main.hocon:2: include ", error.Message, StringComparison.Ordinal);
        Assert.Contains("write include \"path\"", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void An_include_cycle_is_an_error()
    {
        Write("a.hocon", "include \"b.hocon\"\n");
        Write("b.hocon", "include \"a.hocon\"\n");

        var error = Assert.Throws<ConfigurationException>(() => Load(Path.Combine(_directory.FullName, "a.hocon")));

        Assert.Contains("include cycle", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void A_syntax_error_in_an_included_file_names_that_file()
    {
        Write("broken.hocon", "ok = 1\nbroken = \"\\q\"\n");
        var main = Write("main.hocon", "include \"broken.hocon\"\n");

        var error = Assert.Throws<ConfigurationException>(() => Load(main));

        Assert.StartsWith(Path.Combine(_directory.FullName, "broken.hocon") + ": syntax error", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void A_missing_configuration_file_is_a_configuration_error()
    {
        var error = Assert.Throws<ConfigurationException>(() => Load(Path.Combine(_directory.FullName, "absent.hocon")));

        Assert.Contains("not found", error.Message, StringComparison.Ordinal);
    }
}
