using ImageActors.Images.Configuration;
using ImageActors.Server.Tests.Support;

namespace ImageActors.Server.Tests.Hosting;

/// <summary>The <c>actors.*</c> options reach the store the server runs.</summary>
public sealed class EmbeddedStoreOptionsTests
{
    [Fact]
    public async Task The_actors_ask_timeout_option_becomes_the_timeout_of_the_stores_short_requests()
    {
        using var data = new TempDirectory();
        await using var store = await EmbeddedStores.OpenAsync(data.Path, actors: new ActorSystemOptions { AskTimeout = TimeSpan.FromSeconds(7) });

        Assert.Equal(TimeSpan.FromSeconds(7), store.Store.Settings.AskTimeout);
    }
}
