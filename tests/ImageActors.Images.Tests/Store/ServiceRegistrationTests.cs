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
            await using (var provider = new ServiceCollection().AddImageActors(data).BuildServiceProvider())
            {
                var store = provider.GetRequiredService<ImageStore>();
                var hosted = provider.GetServices<IHostedService>().Single();
                await hosted.StartAsync(CancellationToken.None);
                imported = await store.ImportAsync(new ImportRequest(new ImageSource.UnifiedFile(source)) { Aliases = ["di"] });
                await hosted.StopAsync(CancellationToken.None);
            }

            Assert.True(File.Exists(Path.Combine(data, "journal.db")));
            await using (var provider = new ServiceCollection().AddImageActors(data).BuildServiceProvider())
            {
                var hosted = provider.GetServices<IHostedService>().Single();
                await hosted.StartAsync(CancellationToken.None);
                Assert.Equal(imported.Fingerprint, provider.GetRequiredService<ImageStore>().Get(ProjectName.Default, "di").Fingerprint);
                await hosted.StopAsync(CancellationToken.None);
            }
        }
        finally
        {
            root.Delete(recursive: true);
        }
    }
}
