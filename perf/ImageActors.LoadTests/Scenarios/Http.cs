using System.Net.Sockets;
using System.Text;
using System.Text.Json.Nodes;
using ImageActors.LoadTests.Runner;

namespace ImageActors.LoadTests.Scenarios;

/// <summary>The client side of the Incus REST API the scenarios use: unix-socket clients and asynchronous operations.</summary>
public static class Http
{
    private static int s_connectRetries;

    /// <summary>Connections to a unix socket retried because the server's accept queue was full.</summary>
    public static int ConnectRetries => Volatile.Read(ref s_connectRetries);

    /// <summary>A client over a unix socket (a trusted client of <c>imageactors serve</c>, or an Incus daemon's socket).</summary>
    public static HttpClient ForUnixSocket(string socket)
    {
        var handler = new SocketsHttpHandler
        {
            MaxConnectionsPerServer = 4096,
            PooledConnectionLifetime = Timeout.InfiniteTimeSpan,
            ConnectCallback = async (_, cancellationToken) =>
            {
                // A unix socket answers EAGAIN at once when the server's accept backlog is full (TCP would retransmit
                // the SYN instead): retry as a TCP client would, and count it.
                for (var attempt = 0; ; attempt++)
                {
                    var s = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
                    try
                    {
                        await s.ConnectAsync(new UnixDomainSocketEndPoint(socket), cancellationToken);
                        return new NetworkStream(s, ownsSocket: true);
                    }
                    catch (SocketException e) when (e.SocketErrorCode is SocketError.TryAgain or SocketError.WouldBlock && attempt < 1000)
                    {
                        s.Dispose();
                        Interlocked.Increment(ref s_connectRetries);
                        await Task.Delay(5 + Random.Shared.Next(10), cancellationToken);
                    }
                    catch
                    {
                        s.Dispose();
                        throw;
                    }
                }
            },
        };
        return new HttpClient(handler) { BaseAddress = new Uri("http://localhost"), Timeout = TimeSpan.FromMinutes(10) };
    }

    /// <summary>Sends a request; a reply outside 2xx fails the step as <c>http NNN</c> with the server's error text.</summary>
    public static async Task<JsonNode?> SendAsync(HttpClient client, HttpMethod method, string path, HttpContent? content, CancellationToken cancellation)
    {
        ArgumentNullException.ThrowIfNull(client);
        using var request = new HttpRequestMessage(method, new Uri(path, UriKind.Relative)) { Content = content };
        using var response = await client.SendAsync(request, cancellation);
        var text = await response.Content.ReadAsStringAsync(cancellation);
        if (!response.IsSuccessStatusCode)
        {
            throw new StepFailedException($"http {(int)response.StatusCode}", $"{method} {path}: {(int)response.StatusCode} {Error(text)}");
        }

        return text.Length == 0 ? null : JsonNode.Parse(text);
    }

    /// <summary>JSON body for a request.</summary>
    public static StringContent Json(JsonNode body) => new(body.ToJsonString(), Encoding.UTF8, "application/json");

    /// <summary>Waits for an asynchronous operation to end; a failed operation fails the step as <c>operation failed</c>.</summary>
    public static async Task<JsonNode> WaitAsync(HttpClient client, JsonNode? reply, CancellationToken cancellation)
    {
        ArgumentNullException.ThrowIfNull(client);
        var operation = reply?["metadata"] ?? throw new StepFailedException("bad reply", "the reply carried no operation");
        while (operation["status_code"]?.GetValue<int>() < 200)
        {
            var id = operation["id"]!.GetValue<string>();
            var waited = await SendAsync(client, HttpMethod.Get, $"/1.0/operations/{id}/wait?timeout=-1", null, cancellation);
            operation = waited?["metadata"] ?? throw new StepFailedException("bad reply", "the wait carried no operation");
        }

        if (operation["status_code"]?.GetValue<int>() != 200)
        {
            throw new StepFailedException("operation failed", operation["err"]?.GetValue<string>() ?? "operation failed");
        }

        return operation;
    }

    internal static string Error(string body)
    {
        try
        {
            return JsonNode.Parse(body)?["error"]?.GetValue<string>() ?? body;
        }
        catch (System.Text.Json.JsonException)
        {
            return body.Length > 200 ? body[..200] : body;
        }
    }
}
