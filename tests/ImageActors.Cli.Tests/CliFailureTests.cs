using System.Net.Sockets;
using ImageActors.Images.Hosting;

namespace ImageActors.Cli.Tests;

/// <summary>Failures no command handles end in one line that says what happened and what to do; the stack trace is for --debug.</summary>
public sealed class CliFailureTests : IDisposable
{
    private readonly DirectoryInfo _data = Directory.CreateTempSubdirectory("imageactors-cli-failure-");

    public void Dispose() => _data.Delete(recursive: true);

    private async Task<CliRun> ImportToAServerThatDiesMidUpload(params string[] extra)
    {
        var image = Path.Combine(_data.FullName, "image.tar.xz");
        await File.WriteAllBytesAsync(image, new byte[32 << 20]);
        var socket = Path.Combine(_data.FullName, "unix.socket");
        using var server = new DyingServer(socket, bytesBeforeDeath: 256 << 10);

        // The server owns the data directory, as imageactors serve does, so that the command goes to its socket.
        using var owner = DataDirectoryLock.Acquire(_data.FullName);
        owner.AnnounceSocket(socket);

        return await CliRun.InvokeAsync(["image", "import", image, "--data", _data.FullName, .. extra]);
    }

    [Fact]
    public async Task When_the_server_dies_mid_upload_image_import_prints_one_line_saying_what_happened_and_what_to_do()
    {
        var run = await ImportToAServerThatDiesMidUpload();

        Assert.Equal(ExitCodes.Failure, run.ExitCode);
        var line = Assert.Single(run.Error.Split('\n', StringSplitOptions.RemoveEmptyEntries));
        Assert.StartsWith("Error: The connection to the server broke before the command finished", line, StringComparison.Ordinal);
        Assert.EndsWith("check that the server is still running (its log says why it stopped) and run the command again", line, StringComparison.Ordinal);
        Assert.DoesNotContain("   at ", run.Error, StringComparison.Ordinal);
        Assert.DoesNotContain("Exception", run.Error, StringComparison.Ordinal);
    }

    [Fact]
    public async Task With_debug_the_same_failure_also_prints_the_stack_trace()
    {
        var run = await ImportToAServerThatDiesMidUpload("--debug");

        Assert.Equal(ExitCodes.Failure, run.ExitCode);
        Assert.StartsWith("Error: The connection to the server broke", run.Error, StringComparison.Ordinal);
        Assert.Contains("HttpRequestException", run.Error, StringComparison.Ordinal);
        Assert.Contains("   at ", run.Error, StringComparison.Ordinal);
    }

    /// <summary>A server on a unix socket that takes part of a request and then closes the connection, as a crashed server does.</summary>
    private sealed class DyingServer : IDisposable
    {
        private readonly Socket _listener = new(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
        private readonly int _bytesBeforeDeath;
        private readonly Task _accepting;

        public DyingServer(string path, int bytesBeforeDeath)
        {
            _bytesBeforeDeath = bytesBeforeDeath;
            _listener.Bind(new UnixDomainSocketEndPoint(path));
            _listener.Listen();
            _accepting = Task.Run(AcceptAsync);
        }

        private async Task AcceptAsync()
        {
            try
            {
                while (true)
                {
                    var connection = await _listener.AcceptAsync();
                    _ = Task.Run(async () =>
                    {
                        using (connection)
                        {
                            var buffer = new byte[64 << 10];
                            var received = 0;
                            int n;
                            while (received < _bytesBeforeDeath && (n = await connection.ReceiveAsync(buffer)) > 0)
                            {
                                received += n;
                            }

                            // Unread bytes left behind make the close a reset, as when a process dies.
                            connection.LingerState = new LingerOption(true, 0);
                        }
                    });
                }
            }
            catch (ObjectDisposedException)
            {
            }
            catch (SocketException)
            {
            }
        }

        public void Dispose()
        {
            _listener.Dispose();
            _accepting.Wait(TimeSpan.FromSeconds(10));
        }
    }
}
