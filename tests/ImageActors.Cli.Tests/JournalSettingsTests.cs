using System.Formats.Tar;
using System.Globalization;
using System.Text;
using ImageActors.TestServers;

namespace ImageActors.Cli.Tests;

/// <summary>
/// <c>persistence.snapshot_every</c> and <c>persistence.read_model_snapshot_every</c> set from the command line: the
/// snapshots they ask for are saved even when each command changes an image once, counted in the real SQLite file.
/// </summary>
public sealed class JournalSettingsTests : IDisposable
{
    private readonly DirectoryInfo _root = Directory.CreateTempSubdirectory("imageactors-cli-journal-");

    private string Data => Path.Combine(_root.FullName, "data");

    public void Dispose() => _root.Delete(recursive: true);

    [Fact]
    public async Task Snapshot_settings_given_with_set_make_commands_that_each_change_an_image_once_save_snapshots()
    {
        const int changes = 12;
        string[] hygiene = ["--set", "persistence.snapshot_every=3", "--set", "persistence.read_model_snapshot_every=4"];
        var file = Path.Combine(_root.FullName, "image.tar");
        await File.WriteAllBytesAsync(file, Image());

        // Each command opens the store, changes the image once and closes it: the counts must carry over.
        var import = await CliRun.InvokeAsync([.. hygiene, "--data", Data, "image", "import", file]);
        Assert.True(import.ExitCode == 0, import.Error);
        var fingerprint = import.Output.Trim().Split(' ')[^1];
        for (var i = 1; i <= changes; i++)
        {
            var set = await CliRun.InvokeAsync([.. hygiene, "--data", Data, "image", "set-property", fingerprint, "n", i.ToString(CultureInfo.InvariantCulture)]);
            Assert.True(set.ExitCode == 0, set.Error);
        }

        var shown = await CliRun.InvokeAsync([.. hygiene, "--data", Data, "image", "get-property", fingerprint, "n"]);

        Assert.Equal(changes.ToString(CultureInfo.InvariantCulture), shown.Output.Trim());
        Assert.InRange(Rows("snapshot", $"image|default|{fingerprint}"), 1, 2);
        Assert.InRange(Rows("snapshot", "image-catalog"), 1, 2);
    }

    [Fact]
    public async Task Without_the_settings_the_same_changes_stay_in_the_journal()
    {
        const int changes = 12;
        var file = Path.Combine(_root.FullName, "image.tar");
        await File.WriteAllBytesAsync(file, Image());

        var import = await CliRun.InvokeAsync("--data", Data, "image", "import", file);
        Assert.True(import.ExitCode == 0, import.Error);
        var fingerprint = import.Output.Trim().Split(' ')[^1];
        for (var i = 1; i <= changes; i++)
        {
            var set = await CliRun.InvokeAsync("--data", Data, "image", "set-property", fingerprint, "n", i.ToString(CultureInfo.InvariantCulture));
            Assert.True(set.ExitCode == 0, set.Error);
        }

        var image = $"image|default|{fingerprint}";
        Assert.Equal(0, Rows("snapshot", image));
        Assert.Equal(0, Rows("snapshot", "image-catalog"));
        Assert.True(Rows("journal", image) > changes, "every change is an event while no snapshot covers it");
    }


    private long Rows(string table, string persistenceId) => JournalRows.Count(Path.Combine(Data, "journal.db"), table, persistenceId);

    private static byte[] Image()
    {
        using var file = new MemoryStream();
        using (var tar = new TarWriter(file, TarEntryFormat.Pax, leaveOpen: true))
        {
            const string yaml = "architecture: x86_64\ncreation_date: 1767225600\nproperties:\n  os: Debian\n  release: \"12\"\n";
            tar.WriteEntry(new PaxTarEntry(TarEntryType.RegularFile, "metadata.yaml") { DataStream = new MemoryStream(Encoding.UTF8.GetBytes(yaml)) });
            tar.WriteEntry(new PaxTarEntry(TarEntryType.RegularFile, "rootfs/etc/hostname") { DataStream = new MemoryStream(Encoding.UTF8.GetBytes("journal")) });
        }

        return file.ToArray();
    }
}
