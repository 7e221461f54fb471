using System.Globalization;
using ImageActors.Images.Domain;
using ImageActors.Images.Hosting;

namespace ImageActors.Images.CrashImporter;

/// <summary>
/// Imports the source images in turn, moves an alias to each, and deletes every third one again,
/// forever, on a durable SQLite journal, printing each step before it starts ("importing 3") and
/// after it was acknowledged ("imported 3"). The test kills it with SIGKILL at random moments.
/// Usage: <c>DATA-DIR JOURNAL-PATH SOURCE-FILE...</c>.
/// </summary>
public static class Program
{
    /// <summary>Opens the store the child and the checking test share.</summary>
    public static async Task<ImageStore> OpenAsync(string data, string journalPath)
    {
        var settings = new ImageStoreSettings(data, StorePersistence.Sqlite(journalPath))
        {
            EntitySnapshotEvery = 3,
            CatalogSnapshotEvery = 7,
            EvictionInterval = null,
            VerifyMessageSerialization = true,
        };
        return await ImageStore.StartAsync(settings);
    }

    public static async Task<int> Main(string[] args)
    {
        if (args.Length < 3)
        {
            await Console.Error.WriteLineAsync("usage: DATA-DIR JOURNAL-PATH SOURCE-FILE...");
            return 2;
        }

        var store = await OpenAsync(args[0], args[1]);
        var sources = args[2..];
        var output = Console.Out;
        for (var round = 0; ; round++)
        {
            var i = round % sources.Length;
            var index = i.ToString(CultureInfo.InvariantCulture);
            output.WriteLine($"importing {index}");
            output.Flush();
            var record = await store.ImportAsync(new ImportRequest(new ImageSource.UnifiedFile(sources[i])));
            output.WriteLine($"imported {index}");
            output.Flush();

            output.WriteLine($"aliasing {index}");
            output.Flush();
            if (store.Catalog.FindAlias(ProjectName.Default, AliasName.Parse("crash/latest")) is null)
            {
                await store.CreateAliasAsync(ProjectName.Default, "crash/latest", record.Fingerprint.ToString());
            }
            else
            {
                await store.RetargetAliasAsync(ProjectName.Default, "crash/latest", record.Fingerprint.ToString());
            }

            output.WriteLine($"aliased {index}");
            output.Flush();

            if (round % 3 == 2)
            {
                output.WriteLine($"deleting {index}");
                output.Flush();
                await store.DeleteAsync(ProjectName.Default, record.Fingerprint.ToString());
                output.WriteLine($"deleted {index}");
                output.Flush();
            }
        }
    }
}
