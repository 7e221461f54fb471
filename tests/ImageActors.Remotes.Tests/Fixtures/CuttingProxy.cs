using System.Net;
using System.Net.Sockets;

namespace ImageActors.Remotes.Tests.Fixtures;

/// <summary>
/// A TCP proxy in front of a server that ends the first connection after a given number of bytes
/// from the server (a connection that breaks mid-download); later connections pass untouched.
/// </summary>
public sealed class CuttingProxy : IAsyncDisposable
{
    private readonly TcpListener _listener = new(IPAddress.Loopback, 0);
    private readonly int _upstreamPort;
    private readonly long _cutAfter;
    private readonly CancellationTokenSource _stop = new();
    private readonly Task _accepting;
    private int _connections;

    public CuttingProxy(int upstreamPort, long cutAfter)
    {
        _upstreamPort = upstreamPort;
        _cutAfter = cutAfter;
        _listener.Start();
        _accepting = AcceptAsync();
    }

    public int Port => ((IPEndPoint)_listener.LocalEndpoint).Port;

    public async ValueTask DisposeAsync()
    {
        await _stop.CancelAsync();
        _listener.Stop();
        try
        {
            await _accepting;
        }
        catch (OperationCanceledException)
        {
        }
        catch (SocketException)
        {
        }

        _stop.Dispose();
    }

    private async Task AcceptAsync()
    {
        while (!_stop.IsCancellationRequested)
        {
            var client = await _listener.AcceptTcpClientAsync(_stop.Token);
            var limit = Interlocked.Increment(ref _connections) == 1 ? _cutAfter : long.MaxValue;
            _ = Task.Run(() => RelayAsync(client, limit));
        }
    }

    private async Task RelayAsync(TcpClient client, long limit)
    {
        using (client)
        using (var upstream = new TcpClient())
        {
            await upstream.ConnectAsync(IPAddress.Loopback, _upstreamPort);
            var toServer = client.GetStream().CopyToAsync(upstream.GetStream(), _stop.Token);
            var buffer = new byte[64 * 1024];
            long sent = 0;
            var fromServer = upstream.GetStream();
            var toClient = client.GetStream();
            try
            {
                int n;
                while (sent < limit && (n = await fromServer.ReadAsync(buffer, _stop.Token)) > 0)
                {
                    var take = (int)Math.Min(n, limit - sent);
                    await toClient.WriteAsync(buffer.AsMemory(0, take), _stop.Token);
                    sent += take;
                }
            }
            catch (IOException)
            {
            }
            catch (OperationCanceledException)
            {
            }

            // Closing both ends: the client sees the body end early, as when a server dies.
            client.Client.Shutdown(SocketShutdown.Both);
            _ = toServer.ContinueWith(_ => { }, TaskScheduler.Default);
        }
    }
}
