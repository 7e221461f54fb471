using System.Runtime.CompilerServices;
using ImageActors.Images.Domain;
using ImageActors.Images.Hosting;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;

namespace ImageActors.Images.Tests.Store;

/// <summary>The example of README.md's "Embedding" section, run as written: a generic host, real SQLite, no internals.</summary>
public sealed class EmbeddingExampleTests : IDisposable
{
    private const string Begin = "// Embedding example: begin";
    private const string End = "// Embedding example: end";
    private readonly DirectoryInfo _root = Directory.CreateTempSubdirectory("imageactors-example-");

    public void Dispose() => _root.Delete(recursive: true);

    [Fact]
    public async Task The_embedding_example_imports_an_image_under_its_alias()
    {
        var data = Path.Combine(_root.FullName, "data");
        var image = TestImages.Unified(_root.FullName, "example");

        await RunExampleAsync(["--ImageActors:data_dir=" + data, "--image=" + image]);

        await using var store = await ImageStore.StartAsync(new ImageStoreSettings(data, StorePersistence.Sqlite(Path.Combine(data, "journal.db"))));
        Assert.Equal("debian/12", Assert.Single(store.Get(ProjectName.Default, "debian/12").Aliases).Name.Value);
    }

    [Fact]
    public async Task The_README_shows_the_example_the_test_runs()
    {
        var source = await File.ReadAllLinesAsync(SourceFile());
        var readme = await File.ReadAllTextAsync(Path.Combine(Path.GetDirectoryName(SourceFile())!, "..", "..", "..", "README.md"));
        var start = Array.FindIndex(source, l => l.Trim() == Begin) + 1;
        var end = Array.FindIndex(source, l => l.Trim() == End);
        var example = string.Join('\n', source[start..end].Select(l => l.Length >= 8 ? l[8..] : l.Trim()));

        Assert.Contains("```csharp\n" + example + "\n```", readme.Replace("\r\n", "\n", StringComparison.Ordinal), StringComparison.Ordinal);
    }

    private static async Task RunExampleAsync(string[] args)
    {
        // Embedding example: begin
        var builder = Host.CreateApplicationBuilder(args);

        // appsettings.json: { "ImageActors": { "data_dir": "/srv/images", "images": { "remote_cache_expiry": "10d" } } }
        builder.Services.AddImageActors(b => b.BindConfiguration("ImageActors"));
        using var host = builder.Build();
        await host.StartAsync();

        var store = host.Services.GetRequiredService<ImageStore>();
        var file = builder.Configuration["image"] ?? "debian-12.tar.xz";
        var image = await store.ImportAsync(new ImportRequest(new ImageSource.UnifiedFile(file)) { Aliases = ["debian/12"] });
        Console.WriteLine($"Imported {image.Fingerprint} as debian/12");

        await host.StopAsync();
        // Embedding example: end
    }

    private static string SourceFile([CallerFilePath] string path = "") => path;
}
