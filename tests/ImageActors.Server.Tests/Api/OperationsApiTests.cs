using System.Net;
using System.Net.WebSockets;
using System.Text;
using System.Text.Json;
using ImageActors.Server.Operations;
using ImageActors.Server.Tests.Support;
using Microsoft.Extensions.DependencyInjection;

namespace ImageActors.Server.Tests.Api;

public sealed class OperationsApiTests : IDisposable
{
    private static readonly TimeSpan Deadline = TimeSpan.FromSeconds(30);
    private readonly ServerFactory _factory = new();

    public void Dispose() => _factory.Dispose();

    [Fact]
    public async Task Wait_returns_the_operation_in_its_final_state_inside_the_envelope()
    {
        using var client = _factory.TrustedClient();
        var registry = _factory.Services.GetRequiredService<OperationRegistry>();
        var release = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var operation = registry.Start("Downloading image", "default", new Dictionary<string, IReadOnlyList<string>> { ["images"] = ["/1.0/images/abc"] }, async _ =>
        {
            await release.Task;
            return new Dictionary<string, string> { ["fingerprint"] = "abc", ["size"] = "3" };
        });

        var waiting = client.GetAsync(new Uri(operation.Url + "/wait?timeout=-1", UriKind.Relative));
        release.SetResult();
        using var body = JsonDocument.Parse(await (await waiting.WaitAsync(Deadline)).Content.ReadAsStringAsync());

        var root = body.RootElement;
        Assert.Equal("sync", root.GetProperty("type").GetString());
        Assert.Equal(200, root.GetProperty("status_code").GetInt32());
        Assert.Equal(0, root.GetProperty("error_code").GetInt32());
        var metadata = root.GetProperty("metadata");
        Assert.Equal(operation.Id.ToString(), metadata.GetProperty("id").GetString());
        Assert.Equal("Success", metadata.GetProperty("status").GetString());
        Assert.Equal(200, metadata.GetProperty("status_code").GetInt32());
        Assert.Equal("task", metadata.GetProperty("class").GetString());
        Assert.Equal("abc", metadata.GetProperty("metadata").GetProperty("fingerprint").GetString());
        Assert.Equal("/1.0/images/abc", metadata.GetProperty("resources").GetProperty("images")[0].GetString());
    }

    [Fact]
    public async Task Delete_cancels_a_running_operation()
    {
        using var client = _factory.TrustedClient();
        var registry = _factory.Services.GetRequiredService<OperationRegistry>();
        var operation = registry.Start("Downloading image", "default", null, async op =>
        {
            await Task.Delay(Timeout.InfiniteTimeSpan, op.CancellationToken);
            return null;
        });

        var response = await client.DeleteAsync(new Uri(operation.Url, UriKind.Relative));
        await operation.Completion.WaitAsync(Deadline);

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal(OperationStatusCode.Cancelled, operation.State.Status);
    }

    [Fact]
    public async Task Listing_groups_operation_urls_by_status()
    {
        using var client = _factory.TrustedClient();
        var registry = _factory.Services.GetRequiredService<OperationRegistry>();
        var token = registry.CreateToken("Image download token", "default", null, new Dictionary<string, string> { ["secret"] = "x" });

        using var body = JsonDocument.Parse(await client.GetStringAsync(new Uri("/1.0/operations", UriKind.Relative)));

        var running = body.RootElement.GetProperty("metadata").GetProperty("running");
        Assert.Contains(running.EnumerateArray(), e => e.GetString() == token.Url);
    }

    [Fact]
    public async Task Unknown_operation_is_a_404_error_envelope()
    {
        using var client = _factory.TrustedClient();
        var response = await client.GetAsync(new Uri("/1.0/operations/" + Guid.NewGuid(), UriKind.Relative));
        using var body = JsonDocument.Parse(await response.Content.ReadAsStringAsync());

        Assert.Equal(HttpStatusCode.NotFound, response.StatusCode);
        Assert.Equal("error", body.RootElement.GetProperty("type").GetString());
        Assert.Equal(404, body.RootElement.GetProperty("error_code").GetInt32());
    }

    [Fact]
    public async Task Events_websocket_streams_operation_events_to_a_trusted_listener()
    {
        var registry = _factory.Services.GetRequiredService<OperationRegistry>();
        var ws = _factory.Server.CreateWebSocketClient();
        ws.ConfigureRequest = r => r.Headers.Authorization = "Bearer " + ServerFactory.Token;
        using var socket = await ws.ConnectAsync(new Uri(_factory.Server.BaseAddress, "/1.0/events?type=operation"), CancellationToken.None);

        var operation = registry.Start("Deleting image", "default", null, _ => Task.FromResult<IReadOnlyDictionary<string, string>?>(null));

        using var deadline = new CancellationTokenSource(Deadline);
        var buffer = new byte[64 * 1024];
        while (true)
        {
            var received = await socket.ReceiveAsync(buffer, deadline.Token);
            using var message = JsonDocument.Parse(Encoding.UTF8.GetString(buffer, 0, received.Count));
            Assert.Equal("operation", message.RootElement.GetProperty("type").GetString());
            var metadata = message.RootElement.GetProperty("metadata");
            if (metadata.GetProperty("id").GetString() == operation.Id.ToString() && metadata.GetProperty("status").GetString() == "Success")
            {
                break;
            }
        }

        await socket.CloseAsync(WebSocketCloseStatus.NormalClosure, null, CancellationToken.None);
    }
}
