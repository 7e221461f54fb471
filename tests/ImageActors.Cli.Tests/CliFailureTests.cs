using System.Net.Sockets;
using System.Text;
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

    [Fact]
    public async Task When_the_server_dies_in_the_middle_of_an_export_the_command_says_so_in_one_line_and_leaves_no_partial_file()
    {
        var target = Directory.CreateDirectory(Path.Combine(_data.FullName, "exported")).FullName;
        var socket = Path.Combine(_data.FullName, "unix.socket");
        using var server = new HalfAnsweringServer(socket);

        // The server owns the data directory, as serve does, so the command goes through its socket.
        using var owner = DataDirectoryLock.Acquire(_data.FullName);
        owner.AnnounceSocket(socket);

        var run = await CliRun.InvokeAsync(["image", "export", HalfAnsweringServer.Fingerprint, target, "--data", _data.FullName]);

        Assert.Equal(ExitCodes.Failure, run.ExitCode);
        var line = Assert.Single(run.Error.Split('\n', StringSplitOptions.RemoveEmptyEntries));
        Assert.StartsWith("Error: The connection to the server broke before the command finished", line, StringComparison.Ordinal);
        Assert.DoesNotContain("data directory", line, StringComparison.Ordinal);
        Assert.Empty(Directory.GetFiles(target));
    }

    /// <summary>
    /// A server on a unix socket that answers the lookups of an image and then closes the connection in the middle of
    /// its export, as a server that crashes while it sends a file does.
    /// </summary>
    private sealed class HalfAnsweringServer : IDisposable
    {
        public const string Fingerprint = "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";

        private readonly Socket _listener = new(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
        private readonly Task _accepting;

        public HalfAnsweringServer(string path)
        {
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
                            while (await ReadRequestAsync(connection) is { } target)
                            {
                                if (target.EndsWith("/export", StringComparison.Ordinal))
                                {
                                    // A quarter of what it announces, then the connection closes.
                                    await connection.SendAsync(Encoding.ASCII.GetBytes($"HTTP/1.1 200 OK\r\nContent-Type: application/octet-stream\r\nContent-Disposition: attachment; filename={Fingerprint}.tar.xz\r\nContent-Length: {4 << 20}\r\n\r\n"));
                                    await connection.SendAsync(new byte[1 << 20]);
                                    connection.Shutdown(SocketShutdown.Both);
                                    return;
                                }

                                var (status, json) = target.StartsWith("/1.0/images/aliases/", StringComparison.Ordinal)
                                    ? ("404 Not Found", "{\"type\":\"error\",\"error\":\"Image alias not found\",\"error_code\":404}")
                                    : ("200 OK", $"{{\"type\":\"sync\",\"status\":\"Success\",\"status_code\":200,\"metadata\":{{\"fingerprint\":\"{Fingerprint}\",\"filename\":\"image.tar.xz\"}}}}");
                                await connection.SendAsync(Encoding.ASCII.GetBytes($"HTTP/1.1 {status}\r\nContent-Type: application/json\r\nContent-Length: {json.Length}\r\n\r\n{json}"));
                            }
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

        // The target of the next request (its headers only: the client sends only GETs), or null when the client closed.
        private static async Task<string?> ReadRequestAsync(Socket connection)
        {
            var received = new List<byte>();
            var buffer = new byte[1];
            while (!Encoding.Latin1.GetString([.. received]).EndsWith("\r\n\r\n", StringComparison.Ordinal))
            {
                if (await connection.ReceiveAsync(buffer) == 0)
                {
                    return null;
                }

                received.Add(buffer[0]);
            }

            return Encoding.Latin1.GetString([.. received]).Split(' ')[1];
        }

        public void Dispose()
        {
            _listener.Dispose();
            _accepting.Wait(TimeSpan.FromSeconds(10));
        }
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
