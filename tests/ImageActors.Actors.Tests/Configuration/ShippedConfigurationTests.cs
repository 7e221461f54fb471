using ImageActors.Actors.Configuration;

namespace ImageActors.Actors.Tests.Configuration;

/// <summary>The repository's <c>akka.hocon</c> as it ships (the full schema is checked by the CLI tests).</summary>
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
            .Build();

        Assert.Equal("/srv/imageactors", NodeOptions.Bind(config).DataDirectory);
        Assert.Equal("/srv/imageactors/journal.db", config.GetString("persistence.sqlite.path"));
        Assert.Equal("/srv/imageactors/unix.socket", config.GetString("server.unix_socket"));
    }
}
