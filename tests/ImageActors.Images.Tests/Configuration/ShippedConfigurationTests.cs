using ImageActors.Images.Configuration;

namespace ImageActors.Images.Tests.Configuration;

/// <summary>The repository's <c>akka.hocon</c> and overlays as they ship, read by Akka's parser (the full schema is checked by the CLI tests).</summary>
public sealed class ShippedConfigurationTests
{
    internal static string RepositoryFile(string relativePath)
    {
        for (var directory = new DirectoryInfo(AppContext.BaseDirectory); directory is not null; directory = directory.Parent)
        {
            if (File.Exists(Path.Combine(directory.FullName, "ImageActors.sln")))
            {
                return Path.Combine(directory.FullName, relativePath);
            }
        }

        throw new InvalidOperationException("ImageActors.sln not found above the test assembly");
    }

    [Fact]
    public void The_shipped_akka_hocon_binds_the_actor_system_defaults()
    {
        var config = new HoconConfigBuilder().WithEnvironment(_ => null).AddFile(RepositoryFile("akka.hocon")).Build();

        Assert.Equal(new ActorSystemOptions(), ActorSystemOptions.Bind(config));
        Assert.Equal(new NodeOptions(), NodeOptions.Bind(config));
        Assert.Equal("./data/journal.db", config.GetString("persistence.sqlite.path"));
    }

    [Fact]
    public void The_data_directory_of_the_shipped_akka_hocon_follows_IMAGEACTORS_DATA()
    {
        var config = new HoconConfigBuilder()
            .WithEnvironment(name => name == "IMAGEACTORS_DATA" ? "/srv/imageactors" : null)
            .AddFile(RepositoryFile("akka.hocon"))
            .AddEnvironment([NodeOptions.Keys.DataDirectory])
            .Build();

        Assert.Equal("/srv/imageactors", NodeOptions.Bind(config).DataDirectory);
        Assert.Equal("/srv/imageactors/journal.db", config.GetString("persistence.sqlite.path"));
        Assert.Equal("/srv/imageactors/unix.socket", config.GetString("server.unix_socket"));
    }

    [Theory]
    [InlineData("config/appliance.hocon")]
    [InlineData("config/cluster.hocon")]
    [InlineData("config/embedded.hocon")]
    public void Each_shipped_overlay_includes_akka_hocon_and_overrides_part_of_it(string overlay)
    {
        var config = new HoconConfigBuilder().WithEnvironment(_ => null).AddFile(RepositoryFile(overlay)).Build();

        Assert.EndsWith("akka.hocon", config.GetValue("images.remote_cache_expiry")!.Origin.Source, StringComparison.Ordinal);
        Assert.Contains(config.Leaves(), l => l.Value.Origin.Source.EndsWith(Path.GetFileName(overlay), StringComparison.Ordinal));
    }

    [Fact]
    public void The_appliance_keeps_its_journal_in_its_own_data_directory_unless_IMAGEACTORS_DATA_says_otherwise()
    {
        var appliance = RepositoryFile("config/appliance.hocon");

        var own = new HoconConfigBuilder().WithEnvironment(_ => null).AddFile(appliance).AddEnvironment([NodeOptions.Keys.DataDirectory]).Build();
        var moved = new HoconConfigBuilder().WithEnvironment(n => n == "IMAGEACTORS_DATA" ? "/srv/cache" : null).AddFile(appliance).AddEnvironment([NodeOptions.Keys.DataDirectory]).Build();

        Assert.Equal("/var/lib/imageactors/journal.db", own.GetString("persistence.sqlite.path"));
        Assert.Equal("/srv/cache/journal.db", moved.GetString("persistence.sqlite.path"));
        Assert.Equal("env IMAGEACTORS_DATA", moved.GetValue("data_dir")!.Origin.ToString());
    }

    [Fact]
    public void The_commented_akka_example_in_akka_hocon_is_valid_once_uncommented()
    {
        var lines = File.ReadAllLines(RepositoryFile("akka.hocon"));
        var start = Array.FindIndex(lines, l => l == "# akka {");
        var end = Array.FindIndex(lines, start, l => l == "# }");
        var example = string.Join('\n', lines[start..(end + 1)].Select(l => l[2..]));

        var config = HoconConfig.Parse(example, "example");

        Assert.Equal("INFO", config.GetString("akka.loglevel"));
        Assert.Equal("INFO", Akka.Configuration.ConfigurationFactory.ParseString(config.ToHocon("akka")).GetString("akka.loglevel"));
    }
}
