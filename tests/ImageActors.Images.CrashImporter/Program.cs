using System.Globalization;
using ImageActors.Images.Domain;
using ImageActors.Images.Hosting;

namespace ImageActors.Images.CrashImporter;

/// <summary>
/// Imports the source images in turn, moves an alias to each, and deletes every third one again,
/// forever, on a durable journal (a SQLite file or a PostgreSQL database), printing each step before
/// it starts ("importing 3") and after it was acknowledged ("imported 3"). The test kills it with
/// SIGKILL at random moments.
/// Usage: <c>DATA-DIR sqlite JOURNAL-PATH SOURCE-FILE...</c> or <c>DATA-DIR postgresql CONNECTION-STRING SOURCE-FILE...</c>.
/// </summary>
public static class Program
{
    /// <summary>The journal named on the command line: <c>sqlite PATH</c> or <c>postgresql CONNECTION-STRING</c>.</summary>
    public static StorePersistence Journal(string kind, string target) => kind switch
    {
        "sqlite" => StorePersistence.Sqlite(target),
        "postgresql" => StorePersistence.PostgreSql(target),
        _ => throw new ArgumentException($"Unknown journal kind '{kind}': use sqlite or postgresql.", nameof(kind)),
    };

    /// <summary>Opens the store the child and the checking test share.</summary>
    public static async Task<ImageStore> OpenAsync(string data, StorePersistence journal)
    {
        var settings = new ImageStoreSettings(data, journal)
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
        if (args.Length < 4 || args[1] is not ("sqlite" or "postgresql"))
        {
            await Console.Error.WriteLineAsync("usage: DATA-DIR sqlite JOURNAL-PATH SOURCE-FILE... | DATA-DIR postgresql CONNECTION-STRING SOURCE-FILE...");
            return 2;
        }

        var store = await OpenAsync(args[0], Journal(args[1], args[2]));
        var sources = args[3..];
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
