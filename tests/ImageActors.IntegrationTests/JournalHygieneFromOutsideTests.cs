using System.Globalization;
using ImageActors.IntegrationTests.Support;
using ImageActors.LoadTests.Scenarios;
using ImageActors.Server.Tests.Support;
using ImageActors.TestServers;

namespace ImageActors.IntegrationTests;

/// <summary>
/// <c>imageactors serve --set persistence.snapshot_every=… --set persistence.read_model_snapshot_every=…</c>, driven by
/// image commands through its socket: an image changed many times keeps a short journal, counted in the real SQLite file.
/// </summary>
public sealed class JournalHygieneFromOutsideTests : IAsyncLifetime
{
    private readonly TempDirectory _root = new();
    private ImageActorsServe _serve = null!;

    private ImageActorsCli Cli => _serve.Cli;

    public async Task InitializeAsync() =>
        _serve = await ImageActorsServe.StartAsync(new ImageActorsCli(_root.Path), _root.Path, "# defaults only\n", ["persistence.snapshot_every=3", "persistence.read_model_snapshot_every=4"]);

    public async Task DisposeAsync()
    {
        await _serve.DisposeAsync();
        _root.Dispose();
    }

    [Fact]
    public async Task A_much_changed_image_keeps_a_short_journal_when_serve_is_told_to_snapshot_often()
    {
        const int changes = 15;
        var file = Path.Combine(_root.Path, "image.tar.gz");
        await File.WriteAllBytesAsync(file, GeneratedImages.Small("hygiene", 1));
        var fingerprint = (await Cli.RunAsync("image", "import", file)).ImportedFingerprint();
        for (var i = 1; i <= changes; i++)
        {
            await Cli.RunAsync("image", "set-property", fingerprint, "n", i.ToString(CultureInfo.InvariantCulture));
        }

        // Without the settings the image holds a row per change and more. With them: the events since the last
        // snapshots, and the highest deleted row, which keeps the sequence number. The deletes follow the last change.
        var image = $"image|default|{fingerprint}";
        using var deadline = new CancellationTokenSource(TimeSpan.FromSeconds(60));
        while (Rows("journal", image) > 10)
        {
            await Task.Delay(100, deadline.Token);
        }

        Assert.InRange(Rows("snapshot", image), 1, 2);
        Assert.Equal(changes.ToString(CultureInfo.InvariantCulture), (await Cli.RunAsync("image", "get-property", fingerprint, "n")).Output.Trim());
    }

    private long Rows(string table, string persistenceId) => JournalRows.Count(Path.Combine(Cli.Data, "journal.db"), table, persistenceId);
}
