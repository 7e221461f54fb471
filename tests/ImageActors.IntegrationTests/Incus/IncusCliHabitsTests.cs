using ImageActors.IntegrationTests.Support;
using ImageActors.Server.Tests.Support;

namespace ImageActors.IntegrationTests.Incus;

/// <summary>
/// <c>imageactors image list</c> and <c>image info</c> print what <c>incus image list</c> and <c>incus image info</c>
/// print for the same image: the same file imported into the real Incus daemon and into our store, and an image we
/// copied from the daemon, whose <c>Source:</c> block names it.
/// </summary>
[Collection(IncusDaemonCollection.Name)]
public sealed class IncusCliHabitsTests(IncusDaemon incus) : IAsyncLifetime
{
    private const string Alias = "habits/unified";
    private readonly TempDirectory _root = new();
    private ImageActorsCli _cli = null!;
    private string _fingerprint = null!;

    public async Task InitializeAsync()
    {
        _cli = new ImageActorsCli(_root.Path);
        var file = await RealImages.UnifiedAsync(_root.Path, "habits", "71");
        // Each test makes the file anew (a new fingerprint): the daemon gets this one, in place of an earlier test's.
        if ((await incus.ImagesAsync()).SingleOrDefault(i => i.Aliases.Contains(Alias)) is { } earlier)
        {
            await incus.DeleteImageIfPresentAsync(earlier.Fingerprint);
        }

        _fingerprint = await incus.ImportAsync([file], true, [Alias]);
        await _cli.RunAsync("image", "import", file, "--alias", Alias, "--public");
    }

    public Task DisposeAsync()
    {
        _root.Dispose();
        return Task.CompletedTask;
    }

    [Theory]
    [InlineData("csv", "lfpdatsF")]
    [InlineData("csv,header", "lLfFpdeats")]
    [InlineData("compact", "lfpdats")]
    [InlineData("table", "lfpdatsL")]
    [InlineData("table,noheader", "lfpdats")]
    public async Task Image_list_prints_the_columns_sizes_and_words_incus_prints(string format, string columns)
    {
        var theirs = await incus.ClientOkAsync("image", "list", "local:", Alias, "--format", format, "-c", columns);

        var ours = await _cli.RunAsync("image", "list", Alias, "--format", format, "-c", columns);

        Assert.Equal(theirs.ReplaceLineEndings("\n").TrimEnd(), ours.Output.ReplaceLineEndings("\n").TrimEnd());
    }

    [Fact]
    public async Task Image_list_prints_the_upload_date_as_incus_does()
    {
        var ours = await _cli.RunAsync("image", "list", Alias, "--format", "csv", "-c", "u");

        Assert.Matches(@"^\d{4}/\d{2}/\d{2} \d{2}:\d{2} UTC$", ours.Output.Trim());
    }

    [Fact]
    public async Task Image_info_prints_the_lines_incus_prints_in_its_order_but_the_upload_time()
    {
        var theirs = await incus.ClientOkAsync("image", "info", "local:" + Alias);

        var ours = await _cli.RunAsync("image", "info", Alias);

        Assert.Equal(WithoutUploadTime(theirs), WithoutUploadTime(ours.Output));
    }

    [Fact]
    public async Task Image_info_of_an_image_copied_from_the_daemon_names_its_source_as_incus_does()
    {
        var copier = new ImageActorsCli(Directory.CreateDirectory(Path.Combine(_root.Path, "copier")).FullName);
        await incus.ListenHttpsAsync();
        await copier.RunAsync("remote", "add", "daemon", incus.Https.ToString().TrimEnd('/'), "--protocol", "incus", "--public", "--accept-certificate");
        await copier.RunAsync("image", "copy", "daemon:" + Alias, "--auto-update");

        var info = await copier.RunAsync("image", "info", _fingerprint);

        var lines = info.Output.ReplaceLineEndings("\n").Split('\n');
        var at = Array.IndexOf(lines, "Source:");
        Assert.True(at > 0, info.Output);
        Assert.Equal("Auto update: enabled", lines[at - 1]);
        Assert.Equal(
            ["    Server: " + incus.Https.ToString().TrimEnd('/'), "    Protocol: incus", "    Alias: " + Alias, "Profiles:"],
            lines[(at + 1)..(at + 5)]);
    }

    // incus prints the properties in the order of a Go map, which varies from run to run: they are compared sorted.
    private static string[] WithoutUploadTime(string info)
    {
        var lines = info.ReplaceLineEndings("\n").TrimEnd().Split('\n').Where(l => !l.StartsWith("    Uploaded: ", StringComparison.Ordinal)).ToArray();
        var from = Array.IndexOf(lines, "Properties:") + 1;
        var to = Array.IndexOf(lines, "Aliases:");
        Array.Sort(lines, from, to - from, StringComparer.Ordinal);
        return lines;
    }
}
