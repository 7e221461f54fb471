using ImageActors.TestServers;

namespace ImageActors.Cli.Tests;

/// <summary>
/// What a user at a terminal sees when a copy fails: the built executable on a pseudo-terminal, copying from a TLS
/// server that fails part-way or at once. A failed transfer's bar stops where it got to; only a finished one fills.
/// </summary>
public sealed class TerminalProgressTests : IAsyncLifetime
{
    private const string FinishedBar = "\u001b[38;5;2m\u2501";
    private readonly DirectoryInfo _root = Directory.CreateTempSubdirectory("imageactors-cli-terminal-");
    private UnreliableImageServer _server = null!;
    private string _pem = null!;

    public async Task InitializeAsync()
    {
        _server = await UnreliableImageServer.StartAsync(UnreliableServerTests.Image());
        _pem = Path.Combine(_root.FullName, "server.crt");
        await File.WriteAllTextAsync(_pem, TestCertificates.Pem(_server.Certificate));
    }

    public async Task DisposeAsync()
    {
        await _server.DisposeAsync();
        _root.Delete(recursive: true);
    }

    [Fact]
    public async Task A_copy_cut_part_way_and_then_refused_shows_no_full_bar_on_the_terminal_and_ends_naming_the_source()
    {
        _server.FileFaults.Enqueue(new Fault.Cut(1 << 20));
        _server.FileFaults.Enqueue(new Fault.Status(403));

        var run = await CopyAsync();

        AssertFailedVisibly(run);
        Assert.InRange(_server.BytesServed, 1, _server.Length - 1);
    }

    [Fact]
    public async Task A_copy_refused_before_any_byte_shows_no_full_bar_on_the_terminal_and_ends_naming_the_source()
    {
        _server.EveryFileRequest = new Fault.Status(403);

        var run = await CopyAsync();

        AssertFailedVisibly(run);
        Assert.Equal(0, _server.BytesServed);
    }

    [Fact]
    public async Task A_relayed_copy_whose_bytes_do_not_match_the_fingerprint_shows_no_full_bar_on_the_terminal()
    {
        _server.FileFaults.Enqueue(new Fault.Flip(_server.Length / 2));

        var run = await CopyAsync("--mode", "relay");

        Assert.True(run.ExitCode != 0, run.Screen);
        Assert.DoesNotContain("100%", run.Text, StringComparison.Ordinal);
        Assert.DoesNotContain(FinishedBar, run.Screen, StringComparison.Ordinal);
        Assert.True(run.Text.Contains("Failed", StringComparison.Ordinal), run.Text);
        Assert.Equal(_server.Length, _server.BytesServed);
    }

    private void AssertFailedVisibly(TerminalRun run)
    {
        Assert.True(run.ExitCode != 0, run.Screen);
        Assert.DoesNotContain("100%", run.Text, StringComparison.Ordinal);

        // A bar drawn in the finished style (green) is a full one, whatever its value.
        Assert.DoesNotContain(FinishedBar, run.Screen, StringComparison.Ordinal);
        Assert.True(run.Text.Contains("Failed", StringComparison.Ordinal), run.Text);
        Assert.Contains(_server.BaseUri.Authority, run.LastLine, StringComparison.Ordinal);
    }

    private Task<TerminalRun> CopyAsync(params string[] options) =>
        TerminalRun.InvokeAsync(["--data", Path.Combine(_root.FullName, "local"), "image", "copy", _server.BaseUri.ToString().TrimEnd('/') + ":image", "--certificate", _pem, .. options]);
}
