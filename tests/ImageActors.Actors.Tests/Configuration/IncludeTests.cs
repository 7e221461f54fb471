using ImageActors.Actors.Configuration;

namespace ImageActors.Actors.Tests.Configuration;

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
        Assert.EndsWith("akka.hocon", config.GetValue("images.workers")!.Origin.Source, StringComparison.Ordinal);
        Assert.Equal(2, config.GetValue("images.workers")!.Origin.Line);
        Assert.EndsWith("overlay.hocon", config.GetValue("images.replicas")!.Origin.Source, StringComparison.Ordinal);
    }

    [Fact]
    public void Fields_before_an_include_are_overridden_by_it_and_fields_after_override_it()
    {
        Write("base.hocon", "a = from-base\nb = from-base\n");
        var main = Write("main.hocon", "a = before\ninclude required(\"base.hocon\")\nb = after\n");

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
    public void A_missing_plain_include_is_ignored_but_a_missing_required_include_is_an_error()
    {
        var lenient = Write("lenient.hocon", "include \"nowhere.hocon\"\na = 1\n");
        var strict = Write("strict.hocon", "a = 1\ninclude required(\"nowhere.hocon\")\n");

        Assert.Equal(1, Load(lenient).GetInt("a"));
        var error = Assert.Throws<ConfigurationException>(() => Load(strict));
        Assert.Contains("strict.hocon:2", error.Message, StringComparison.Ordinal);
        Assert.Contains("nowhere.hocon", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void An_include_cycle_is_an_error()
    {
        Write("a.hocon", "include \"b.hocon\"\n");
        Write("b.hocon", "include \"a.hocon\"\n");

        var error = Assert.Throws<ConfigurationException>(() => Load(Path.Combine(_directory.FullName, "a.hocon")));

        Assert.Contains("includes itself", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void A_syntax_error_in_an_included_file_names_that_file()
    {
        Write("broken.hocon", "ok = 1\nbroken = [\n");
        var main = Write("main.hocon", "include \"broken.hocon\"\n");

        var error = Assert.Throws<ConfigurationException>(() => Load(main));

        Assert.Contains("broken.hocon:2:10", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void A_missing_configuration_file_is_a_configuration_error()
    {
        var error = Assert.Throws<ConfigurationException>(() => Load(Path.Combine(_directory.FullName, "absent.hocon")));

        Assert.Contains("not found", error.Message, StringComparison.Ordinal);
    }
}
