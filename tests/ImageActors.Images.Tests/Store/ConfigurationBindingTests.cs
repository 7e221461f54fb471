using ImageActors.Images.Configuration;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;

namespace ImageActors.Images.Tests.Store;

/// <summary><c>AddImageActors(b =&gt; b.BindConfiguration(...))</c> in a real generic host: the keys and value syntax of <c>akka.hocon</c>.</summary>
public sealed class ConfigurationBindingTests : IDisposable
{
    private readonly DirectoryInfo _root = Directory.CreateTempSubdirectory("imageactors-config-");

    public void Dispose() => _root.Delete(recursive: true);

    [Fact]
    public async Task The_store_runs_with_the_keys_of_the_host_configuration_section_durations_and_sizes_included()
    {
        using var host = Build(new Dictionary<string, string?>
        {
            ["ImageActors:data_dir"] = Path.Combine(_root.FullName, "data"),
            ["ImageActors:images:remote_cache_expiry"] = "3d",
            ["ImageActors:images:cache_max_size"] = "512MB",
            ["ImageActors:images:upstreams:0"] = "simplestreams:https://images.example",
            ["ImageActors:actors:ask_timeout"] = "7s",
        });

        await host.StartAsync();
        var store = host.Services.GetRequiredService<ImageStore>();

        Assert.Equal(TimeSpan.FromDays(3), store.Settings.Options.RemoteCacheExpiry);
        Assert.Equal(512L * 1000 * 1000, store.Settings.Options.CacheMaxSize);
        Assert.Single(store.Settings.Options.Upstreams);
        Assert.Equal(TimeSpan.FromSeconds(7), store.Settings.AskTimeout);
        Assert.True(File.Exists(Path.Combine(_root.FullName, "data", "journal.db")));
        await host.StopAsync();
    }

    [Fact]
    public async Task A_misspelt_key_and_a_bad_value_stop_the_start_naming_each_with_the_nearest_known_key()
    {
        using var host = Build(new Dictionary<string, string?>
        {
            ["ImageActors:data_dir"] = Path.Combine(_root.FullName, "data"),
            ["ImageActors:images:remote_cache_expiri"] = "3d",
            ["ImageActors:images:default_architecture"] = "bogus",
        });

        var error = await Assert.ThrowsAsync<ConfigurationException>(() => host.StartAsync());

        Assert.Equal(2, error.Errors.Count);
        Assert.Contains("images.remote_cache_expiri (configuration section ImageActors): unknown key; did you mean images.remote_cache_expiry?", error.Message, StringComparison.Ordinal);
        Assert.Contains("images.default_architecture (configuration section ImageActors): ", error.Message, StringComparison.Ordinal);
        Assert.False(Directory.Exists(Path.Combine(_root.FullName, "data")), "the store started on a configuration it refused");
    }

    private static IHost Build(Dictionary<string, string?> values)
    {
        var builder = Host.CreateApplicationBuilder(new HostApplicationBuilderSettings { DisableDefaults = true });
        builder.Configuration.AddInMemoryCollection(values);
        builder.Services.AddImageActors(b => b.BindConfiguration("ImageActors"));
        return builder.Build();
    }
}
