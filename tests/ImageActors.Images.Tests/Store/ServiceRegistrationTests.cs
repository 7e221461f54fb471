using ImageActors.Images.Domain;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;

namespace ImageActors.Images.Tests.Store;

public sealed class ServiceRegistrationTests
{
    [Fact]
    public async Task A_host_starts_the_store_on_a_SQLite_journal_and_it_keeps_images_across_restarts()
    {
        var root = Directory.CreateTempSubdirectory("imageactors-di-");
        try
        {
            var data = Path.Combine(root.FullName, "data");
            var source = TestImages.Unified(root.FullName, "di");
            ImageRecord imported;
            using (var host = Build(data))
            {
                var store = host.Services.GetRequiredService<ImageStore>();
                await host.StartAsync();
                imported = await store.ImportAsync(new ImportRequest(new ImageSource.UnifiedFile(source)) { Aliases = ["di"] });
                await host.StopAsync();
            }

            Assert.True(File.Exists(Path.Combine(data, "journal.db")));
            using (var host = Build(data))
            {
                await host.StartAsync();
                Assert.Equal(imported.Fingerprint, host.Services.GetRequiredService<ImageStore>().Get(ProjectName.Default, "di").Fingerprint);
                await host.StopAsync();
            }
        }
        finally
        {
            root.Delete(recursive: true);
        }
    }

    private static IHost Build(string data)
    {
        var builder = Host.CreateApplicationBuilder(new HostApplicationBuilderSettings { DisableDefaults = true });
        builder.Services.AddImageActors(data);
        return builder.Build();
    }
}
