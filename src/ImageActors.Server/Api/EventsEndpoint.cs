using System.Net.WebSockets;
using System.Text.Json;
using System.Text.Json.Nodes;
using ImageActors.Remotes.Incus;
using ImageActors.Server.Events;
using ImageActors.Server.Operations;

namespace ImageActors.Server.Api;

/// <summary><c>/1.0/events</c>: a websocket streaming lifecycle and operation events as JSON text messages.</summary>
public static class EventsEndpoint
{
    /// <summary>Maps the events route.</summary>
    public static void Map(IEndpointRouteBuilder routes) => routes.MapGet("/1.0/events", HandleAsync);

    /// <summary>The event as Incus' event object.</summary>
    public static IncusEvent ToWire(ServerEvent serverEvent)
    {
        ArgumentNullException.ThrowIfNull(serverEvent);
        JsonNode? metadata = serverEvent.Payload switch
        {
            OperationSnapshot snapshot => JsonSerializer.SerializeToNode(OperationWire.From(snapshot.Operation, snapshot.State), IncusJsonContext.Default.Operation),
            EventLifecycle lifecycle => JsonSerializer.SerializeToNode(lifecycle, IncusJsonContext.Default.EventLifecycle),
            _ => null,
        };
        return new IncusEvent
        {
            Type = serverEvent.Type,
            Timestamp = serverEvent.Timestamp,
            Metadata = metadata,
            Location = "none",
            Project = serverEvent.Project,
        };
    }

    private static async Task HandleAsync(HttpContext context, EventHub hub)
    {
        if (!context.IsTrusted())
        {
            await ApiErrors.Forbidden().ExecuteAsync(context);
            return;
        }

        if (!context.WebSockets.IsWebSocketRequest)
        {
            await ApiResults.Error(StatusCodes.Status400BadRequest, "This endpoint needs a websocket upgrade").ExecuteAsync(context);
            return;
        }

        var types = context.Request.Query["type"].ToString()
            .Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
        using var subscription = hub.Subscribe(types);
        using var socket = await context.WebSockets.AcceptWebSocketAsync();
        using var stop = CancellationTokenSource.CreateLinkedTokenSource(context.RequestAborted);
        _ = WatchForCloseAsync(socket, stop);
        var buffer = new System.Buffers.ArrayBufferWriter<byte>(1024);
        try
        {
            while (await subscription.Reader.WaitToReadAsync(stop.Token))
            {
                while (subscription.Reader.TryRead(out var serverEvent))
                {
                    buffer.ResetWrittenCount();
                    await using (var writer = new Utf8JsonWriter(buffer))
                    {
                        JsonSerializer.Serialize(writer, ToWire(serverEvent), IncusJsonContext.Default.IncusEvent);
                    }

                    await socket.SendAsync(buffer.WrittenMemory, WebSocketMessageType.Text, true, stop.Token);
                }
            }
        }
        catch (Exception e) when (e is OperationCanceledException or WebSocketException)
        {
            // The listener went away.
        }
    }

    // Listeners send nothing; reading is how a close (or a dead connection) is noticed, which
    // then ends the send loop.
    private static async Task WatchForCloseAsync(WebSocket socket, CancellationTokenSource stop)
    {
        var scratch = new byte[256];
        try
        {
            while (socket.State == WebSocketState.Open)
            {
                var received = await socket.ReceiveAsync(scratch, stop.Token);
                if (received.MessageType == WebSocketMessageType.Close)
                {
                    await socket.CloseOutputAsync(WebSocketCloseStatus.NormalClosure, null, CancellationToken.None);
                    break;
                }
            }
        }
        catch (Exception e) when (e is OperationCanceledException or WebSocketException)
        {
            // Closed underneath us.
        }

        try
        {
            await stop.CancelAsync();
        }
        catch (ObjectDisposedException)
        {
            // The send loop ended first.
        }
    }
}
